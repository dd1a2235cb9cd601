"""住民票コード pools and My Number generation (jpki-system.md §4.2, §4.3; the seed's 付番 flow).

住民票コード: J-LIS hands each municipality a pool of codes that never overlaps another's; the
municipality takes the next code from its pool when it creates a record. Pools here are cut
from one cursor row, locked by each allocation, so two pools can never share a code; a bijection
keyed by the register's own secret (`code_permutation.scatter`) spreads each pool's codes over
the whole 10-digit space, so a code shows neither its pool nor its order.

My Number: derived from the 住民票コード by a keyed one-way transform — HMAC-SHA-256 under the
register's secret key (`store.number_key`) over `code:derivation`, reduced to 11 digits, plus
the §4.1 check digit. Without the key nobody can go from a number back to a code or forward from
a code to a number. Every number ever issued stays in `register_my_numbers` (retired ones
included); a derivation whose number is taken is recorded as a collision and the next
derivation (1, 2, …) is used. Replacing a leaked number retires it and derives again.
"""

from __future__ import annotations

import hmac
import math
import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, String, any_, cast, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from mynacard.codec import resident_code
from mynacard.codec.my_number import check_digit
from mynacard.register_stub.bulk_sql import stamp, write
from mynacard.register_stub.code_permutation import scatter
from mynacard.register_stub.errors_api import Conflict, Invalid, NotFound
from mynacard.register_stub.models import CodePool, MyNumber, NumberCollision, PoolCursor, Resident, table

#: Codes per pool when a municipality's pool runs out (about a mid-sized town's decade of births).
DEFAULT_POOL_SIZE = 100_000
CODE_SPACE = 10**resident_code.BASE_DIGITS
BASE_SPACE = 10**11
#: `IN (…)` lists stay below every backend's parameter limit.
CHUNK = 500
#: From this many numbers on, rows go through the driver's bulk interface.
BULK_ROWS = 100


def allocate_pool(session: Session, municipality_code: str, size: int = DEFAULT_POOL_SIZE) -> CodePool:
    """Cut a new pool for a municipality from the cursor (the row lock serialises allocations)."""
    if size < 1:
        raise Invalid("a pool holds at least one code")
    cursor = session.execute(select(PoolCursor).where(PoolCursor.id == 1).with_for_update()).scalar_one()
    first = cursor.next_base
    if first + size > CODE_SPACE:
        raise Conflict("the 住民票コード space is exhausted; no further pool can be allocated")
    cursor.next_base = first + size
    pool = CodePool(
        municipality_code=municipality_code,
        first_base=first,
        size=size,
        stride=_stride(size),
        issued=0,
        created_at=datetime.now(UTC),
    )
    session.add(pool)
    session.flush()
    return pool


def _stride(size: int) -> int:
    """A random step coprime to `size`, so k·stride mod size visits every slot exactly once."""
    if size <= 2:
        return 1
    while True:
        stride = secrets.randbelow(size - 1) + 1
        if math.gcd(stride, size) == 1:
            return stride


def next_codes(session: Session, key: bytes, municipality_code: str, count: int,
               pool_size: int = DEFAULT_POOL_SIZE) -> list[str]:
    """The next `count` 住民票コード of a municipality's pools (new pools cut as needed), through
    the permutation keyed by `key` (the register's `store.code_key`)."""
    codes: list[str] = []
    while len(codes) < count:
        pool = session.execute(
            select(CodePool)
            .where(CodePool.municipality_code == municipality_code, CodePool.issued < CodePool.size)
            .order_by(CodePool.id)
            .limit(1)
            .with_for_update()
        ).scalar_one_or_none()
        if pool is None:
            pool = allocate_pool(session, municipality_code, max(pool_size, 1))
        take = min(count - len(codes), pool.size - pool.issued)
        codes.extend(
            resident_code.make(scatter(key, pool.first_base + (k * pool.stride) % pool.size))
            for k in range(pool.issued, pool.issued + take)
        )
        pool.issued += take
    session.flush()
    return codes


def derive(key: bytes, code: str, derivation: int) -> str:
    """The My Number of derivation `derivation` of a 住民票コード (11 digits + check digit)."""
    mac = hmac.digest(key, f"{code}:{derivation}".encode("ascii"), "sha256")
    base = f"{int.from_bytes(mac[:8], 'big') % BASE_SPACE:011d}"
    return base + str(check_digit(base))


def issue_numbers(session: Session, key: bytes, codes: Sequence[str], *, first_derivation: int = 0) -> dict[str, str]:
    """Issue one new My Number for each code; returns code → number.

    Taken numbers (held by anyone, ever, or by an earlier code of the same batch) are recorded as
    collisions and skipped to the next derivation. The rows are added to the session's
    transaction: nothing is issued unless the caller's transaction commits.
    """
    now = datetime.now(UTC)
    derivation = dict.fromkeys(codes, first_derivation)
    chosen: dict[str, str] = {}
    pending = list(codes)
    collisions: list[dict[str, object]] = []
    while pending:
        candidates = {code: derive(key, code, derivation[code]) for code in pending}
        taken = _existing(session, candidates.values()) | set(chosen.values())
        retry = []
        for code, number in candidates.items():
            if number in taken:
                collisions.append({"resident_code": code, "derivation": derivation[code], "recorded_at": now})
                derivation[code] += 1
                retry.append(code)
            else:
                chosen[code] = number
                taken.add(number)
        pending = retry
    if collisions:
        session.execute(table(NumberCollision).insert(), collisions)
    if len(chosen) < BULK_ROWS:
        session.execute(table(MyNumber).insert(), [
            {"number": number, "resident_code": code, "derivation": derivation[code], "issued_at": now}
            for code, number in chosen.items()
        ])
    else:
        connection = session.connection()
        issued_at = stamp(now, connection.dialect.name == "sqlite")
        write(connection, table(MyNumber).name, ("number", "resident_code", "derivation", "issued_at"),
              [(number, code, derivation[code], issued_at) for code, number in chosen.items()])
    return chosen


def _existing(session: Session, numbers: Iterable[str]) -> set[str]:
    """Which of `numbers` were ever issued. PostgreSQL takes the whole list as one array
    parameter; other backends get `IN` lists of CHUNK."""
    wanted = list(numbers)
    if session.get_bind().dialect.name == "postgresql":
        return set(session.execute(
            select(MyNumber.number).where(MyNumber.number == any_(cast(wanted, ARRAY(String(12)))))
        ).scalars())
    found: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        found.update(session.execute(select(MyNumber.number).where(MyNumber.number.in_(chunk))).scalars())
    return found


def current_number(session: Session, code: str) -> str | None:
    return session.execute(
        select(MyNumber.number).where(MyNumber.resident_code == code, MyNumber.retired_at.is_(None))
    ).scalar_one_or_none()


def resident_by_number(session: Session, number: str) -> str | None:
    """The 住民票コード holding `number` now (a retired number finds nobody)."""
    return session.execute(
        select(MyNumber.resident_code).where(MyNumber.number == number, MyNumber.retired_at.is_(None))
    ).scalar_one_or_none()


def holder_of_number(session: Session | Connection, number: str) -> tuple[str, str] | None:
    """(住民票コード, status) of the record holding `number` now, in one statement: the lookup
    route's hot path (one index probe in the numbers table, one pruned partition probe)."""
    row = session.execute(
        select(Resident.resident_code, Resident.status)
        .join(MyNumber, MyNumber.resident_code == Resident.resident_code)
        .where(MyNumber.number == number, MyNumber.retired_at.is_(None))
    ).first()
    return (row.resident_code, row.status) if row else None


def replace_number(session: Session, key: bytes, code: str, reason: str) -> str:
    """Retire the resident's number (leaked, with risk of misuse) and issue the next derivation."""
    now = datetime.now(UTC)
    retired = session.execute(
        update(MyNumber)
        .where(MyNumber.resident_code == code, MyNumber.retired_at.is_(None))
        .values(retired_at=now, retired_reason=reason)
    )
    if retired.rowcount != 1:  # type: ignore[attr-defined]
        raise NotFound("the resident holds no current My Number")
    last = session.execute(select(func.max(MyNumber.derivation)).where(MyNumber.resident_code == code)).scalar_one()
    return issue_numbers(session, key, [code], first_derivation=int(last) + 1)[code]
