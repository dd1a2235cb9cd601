"""Lookup by My Number: which current record holds a number (the centre's and the CA's question).

One function for the FastAPI route and the served fast route (register_stub/fast_routes.py), so
the two cannot answer or record differently. On PostgreSQL the served route runs the same lookup
as one statement on the event loop (register_stub/loop_routes.py `LOOKUP`), with this module's
record values and answer; tests/register/test_register_fast_routes.py sends the same requests
both ways on both databases and compares answers and access records.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy import Connection

from mynacard.register_stub import method2, numbers
from mynacard.register_stub.access import record_access
from mynacard.register_stub.errors_api import NotFound
from mynacard.register_stub.schemas import Strict
from mynacard.register_stub.store import RegisterStore
from mynacard.service.auth import Caller


class LookupIn(Strict):
    my_number: str = Field(pattern=r"^[0-9]{12}$")
    purpose: str = Field(min_length=1, max_length=200)

    def __repr__(self) -> str:
        return "LookupIn(…)"


class LookupOut(BaseModel):
    resident_code: str
    status: str


#: What a lookup's access record says: its action, the items read, and its outcomes.
ACTION, ITEMS, FOUND, NOT_FOUND = "lookup-by-number", "my_number", "found", "not-found"


def lookup(store: RegisterStore, caller: Caller, body: LookupIn, connection: Connection | None = None) -> LookupOut:
    """Read on the lookup reader (the standby, if any), then record the access on the primary —
    also when nothing is found — before answering (`RegisterStore.read_and_record`, on
    `connection` when the caller holds one from `RegisterStore.hot()`)."""
    number = method2.checked_my_number(body.my_number)
    found, _ = store.read_and_record(
        lambda connection: numbers.holder_of_number(connection, number),
        lambda connection, found: record_access(connection, caller, found[0] if found else None, ACTION,
                                                body.purpose, ITEMS, FOUND if found else NOT_FOUND),
        connection)
    return answer(found)


def answer(found: tuple[str, str] | None) -> LookupOut:
    """The answer for the holder's (住民票コード, status), or the refusal when no record holds the number."""
    if found is None:
        raise NotFound("no current record holds this My Number")
    return LookupOut(resident_code=found[0], status=found[1])
