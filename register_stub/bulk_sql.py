"""Writing many rows through the database driver's own bulk interface.

SQLAlchemy's executemany spends most of a bulk insert compiling and processing parameters; the
drivers' own paths (sqlite3's `executemany`, psycopg's `COPY`) take rows as they are. Values must
already be in the form the backend stores (`stamp` for timestamps, ISO text for dates on SQLite).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection


def write(connection: Connection, name: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Rows in the driver's bulk form (values already as the backend stores them, `stamp`)."""
    raw = connection.connection.driver_connection
    if raw is None:
        raise RuntimeError("no database connection")
    if connection.dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    placeholders = ", ".join("?" for _ in columns)
    raw.executemany(f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({placeholders})", rows)  # noqa: S608 - table and column names are the callers\' constants


def stamp(moment: datetime, sqlite: bool) -> object:
    """A timestamp as SQLAlchemy's SQLite type stores it (naive UTC text), else as is."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds") if sqlite else moment


def same(value: date) -> object:
    return value
