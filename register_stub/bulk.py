"""Bulk load: many existing records at once (a municipality's register moving onto this one).

The event path (`events.create_resident`) costs a few milliseconds a record; a national load of
1,000,000 records has to take seconds. This path does the same work in batches — codes from the
municipality's pools, My Numbers through `numbers.issue_numbers` (the uniqueness table and its
collision rule unchanged), a household per record, the first 住民票 version — and writes rows with
the driver's own bulk interface: `executemany` on SQLite, `COPY` on PostgreSQL. Each batch is one
transaction, so a crash leaves whole batches. No event rows are written: the records existed
before the register did (version 1 has no event).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import islice

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import DBAPIError

from mynacard.register_stub import numbers
from mynacard.register_stub.bulk_sql import same, stamp, write
from mynacard.register_stub.models import Household, Resident, ResidentVersion, table
from mynacard.register_stub.schemas import HEAD, check_address
from mynacard.register_stub.store import RegisterStore

BATCH = 20_000


@dataclass(frozen=True)
class LoadRow:
    """One existing record: the four facts (the load's input)."""

    family_name: str
    given_name: str
    birth_date: date
    sex: str
    address: str


RESIDENT_COLUMNS = ("resident_code", "municipality_code", "kind", "status", "current_version", "created_at")
VERSION_COLUMNS = ("resident_code", "version", "recorded_at", "valid_from", "family_name", "given_name", "birth_date",
                   "sex", "household_id", "relationship", "became_resident_on", "address", "address_set_on",
                   "welfare")


def load(
    store: RegisterStore, key: bytes, code_key: bytes, municipality_code: str, rows: Iterable[LoadRow],
    progress: Callable[[int], None] | None = None, batch: int = BATCH,
) -> int:
    """Load `rows` as Japanese residents of one municipality; returns how many were loaded."""
    total = 0
    for chunk in chunks(iter(rows), batch):
        for row in chunk:
            check_address(row.address, municipality_code)
        with store.transaction() as session:
            codes = numbers.next_codes(session, code_key, municipality_code, len(chunk), numbers.DEFAULT_POOL_SIZE)
            numbers.issue_numbers(session, key, codes)
            connection = session.connection()
            sqlite = connection.dialect.name == "sqlite"
            if not sqlite:
                _skip_foreign_key_triggers(connection)
            first_household = _households(connection, municipality_code, len(chunk))
            now = stamp(datetime.now(UTC), sqlite)
            day: Callable[[date], object] = date.isoformat if sqlite else same
            write(connection, table(Resident).name, RESIDENT_COLUMNS,
                   [(code, municipality_code, "japanese", "active", 1, now) for code in codes])
            welfare = json.dumps({})
            write(connection, table(ResidentVersion).name, VERSION_COLUMNS, [
                (code, 1, now, born, row.family_name, row.given_name, born, row.sex, first_household + i, HEAD, born,
                 row.address, born, welfare)
                for i, (code, row) in enumerate(zip(codes, chunk, strict=True))
                for born in (day(row.birth_date),)
            ])
        total += len(chunk)
        if progress is not None:
            progress(total)
    return total


def chunks(rows: Iterator[LoadRow], size: int) -> Iterator[list[LoadRow]]:
    while chunk := list(islice(rows, size)):
        yield chunk


def _skip_foreign_key_triggers(connection: Connection) -> None:
    """On PostgreSQL, half a bulk load's time goes to foreign-key triggers checking, row by row,
    that each version's resident and household exist — rows this same transaction has just
    written. Like `pg_restore --disable-triggers`, skip them for this transaction when the role
    may (`session_replication_role` needs superuser); otherwise they run as usual."""
    savepoint = connection.begin_nested()
    try:
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
    except DBAPIError:
        savepoint.rollback()
    else:
        savepoint.commit()


def _households(connection: Connection, municipality_code: str, count: int) -> int:
    """`count` new households with consecutive ids; returns the first id."""
    households = table(Household)
    first = int(connection.execute(select(func.coalesce(func.max(households.c.id), 0))).scalar_one()) + 1
    now = stamp(datetime.now(UTC), connection.dialect.name == "sqlite")
    write(connection, households.name, ("id", "municipality_code", "created_at"),
           [(first + i, municipality_code, now) for i in range(count)])
    if connection.dialect.name == "postgresql":  # keep the serial in step with the ids taken here
        connection.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{households.name}', 'id'), {first + count - 1})")
    return first
