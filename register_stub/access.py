"""Access records (アクセス記録): every read or change of a resident's personal data.

Recorded in the same transaction as the read or change it describes, so a change is never made
without its record. Fields follow 番号法 第23条's access records (jpki-system.md §8): who (the
caller's name and role), when, why (the purpose the caller gave, or the event's cause), what
(the items, never their values) and the outcome. Residents read the records about themselves
after a portal login.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from mynacard.register_stub.models import AccessRecord, table
from mynacard.service.auth import Caller


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
    records = table(AccessRecord)
    return int(session.execute(records.insert().values(
        resident_code=resident_code, at=at or datetime.now(UTC), actor=caller.name, role=caller.role, action=action,
        purpose=purpose, items=items, outcome=outcome,
    ).returning(records.c.id)).scalar_one())


def records_about(session: Session, resident_code: str, limit: int = 100, before_id: int | None = None) -> list[AccessRecord]:
    """Newest first."""
    query = select(AccessRecord).where(AccessRecord.resident_code == resident_code)
    if before_id is not None:
        query = query.where(AccessRecord.id < before_id)
    return list(session.execute(query.order_by(AccessRecord.id.desc()).limit(limit)).scalars())
