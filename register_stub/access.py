"""Access records (アクセス記録): every read or change of a resident's personal data.

Recorded in the same transaction as the read or change it describes, so a change is never made
without its record. Fields follow 番号法 第23条's access records (jpki-system.md §8): who (the
caller's name and role), when, why (the purpose the caller gave, or the event's cause), what
(the items, never their values) and the outcome. Residents read the records about themselves
after a portal login.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from mynacard.register_stub.models import AccessRecord, table
from mynacard.service.auth import Caller

#: The insert of one access record, its values bound by name (`record_values`): built once, for
#: `record_access` and, compiled for PostgreSQL, for the routes on the event loop.
RECORD_INSERT = table(AccessRecord).insert().values(
    {column: bindparam(column) for column in ("resident_code", "at", "actor", "role", "action", "purpose", "items",
                                              "outcome")}).returning(table(AccessRecord).c.id)


def record_values(caller: Caller, resident_code: str | None, action: str, purpose: str, items: str,
                  outcome: str = "ok", at: datetime | None = None) -> dict[str, object]:
    """`RECORD_INSERT`'s values."""
    return {"resident_code": resident_code, "at": at or datetime.now(UTC), "actor": caller.name, "role": caller.role,
            "action": action, "purpose": purpose, "items": items, "outcome": outcome}


def record_access(
    session: Session | Connection,
    caller: Caller,
    resident_code: str | None,
    action: str,
    purpose: str,
    items: str,
    outcome: str = "ok",
    at: datetime | None = None,
) -> int:
    """Insert the record now (a Core insert: no ORM bookkeeping on the hot path of every read);
    its id, for callers that show the record they wrote (the window's 方法2 screen)."""
    values = record_values(caller, resident_code, action, purpose, items, outcome, at)
    return int(session.execute(RECORD_INSERT, values).scalar_one())


def records_about(session: Session, resident_code: str, limit: int = 100, before_id: int | None = None) -> list[AccessRecord]:
    """Newest first."""
    query = select(AccessRecord).where(AccessRecord.resident_code == resident_code)
    if before_id is not None:
        query = query.where(AccessRecord.id < before_id)
    return list(session.execute(query.order_by(AccessRecord.id.desc()).limit(limit)).scalars())
