"""方法2: confirming a My Number and the four facts against the register without the card
(the seed slides' 個人番号の確認方法, "→住基ネットで確認").

A clerk sends what the application form says; the answer is only `match`, `no-match` (no current
record holds this number) or `differs` with the names of the items that differ. Nothing else of
the record is disclosed. Every query — answered or not — is an access record: who asked, when,
why (the purpose the clerk must give) and what was compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field
from sqlalchemy import BindParameter, Connection, Select, select

from mynacard.codec import my_number
from mynacard.codec.errors import CodecError
from mynacard.register_stub.access import record_access
from mynacard.register_stub.errors_api import Invalid
from mynacard.register_stub.events import DELETED
from mynacard.register_stub.models import MyNumber, Resident, ResidentVersion
from mynacard.register_stub.normalise import Unreadable, address_key, birth_date_key, fold, name_key, sex_key
from mynacard.register_stub.schemas import Strict
from mynacard.register_stub.store import RegisterStore
from mynacard.service.auth import Caller

ITEMS = ("name", "birth_date", "sex", "address")


class Method2Query(Strict):
    my_number: str = Field(min_length=12, max_length=20, description="12 digits; spaces or hyphens allowed")
    name: str = Field(min_length=1, max_length=200)
    birth_date: str = Field(min_length=6, max_length=40, description="1980-02-17, 昭和55年2月17日, S55.2.17, …")
    sex: str = Field(min_length=1, max_length=10, description="1/2/3, 男/女, M/F")
    address: str = Field(min_length=1, max_length=300)
    purpose: str = Field(min_length=1, max_length=200, description="why the clerk asks (the procedure)")
    show_access_record: bool = Field(default=False, description="answer with the access record written (the window shows it)")

    def __repr__(self) -> str:
        return "Method2Query(…)"


class RecordedAccess(BaseModel):
    """The access record this query wrote (番号法 第23条), shown to the clerk who asked."""

    id: int
    at: datetime
    actor: str
    action: str
    purpose: str
    items: str
    outcome: str


class Method2Answer(BaseModel):
    result: Literal["match", "no-match", "differs"]
    differs: list[Literal["name", "birth_date", "sex", "address"]] = []
    access_record: RecordedAccess | None = None


#: What a 方法2 access record says: its action and the items compared.
ACTION = "method2-query"
RECORD_ITEMS = ", ".join(("my_number", *ITEMS))


def query(store: RegisterStore, caller: Caller, request: Method2Query, connection: Connection | None = None) -> Method2Answer:
    """Compare on the lookup reader (the standby, when there is one), then record the access on the
    primary (`RegisterStore.read_and_record`, on `connection` when the caller holds one from
    `RegisterStore.hot()`); the answer is returned only after that record
    committed."""
    number, wanted = understood(request)
    current = current_record(number)
    at = datetime.now(UTC)
    (code, answer), record_id = store.read_and_record(
        lambda connection: compare(connection.execute(current).first(), wanted),
        lambda connection, compared: record_access(connection, caller, compared[0], ACTION, request.purpose,
                                                   RECORD_ITEMS, compared[1].result, at),
        connection)
    return shown(answer, request, caller, record_id, at)


def understood(request: Method2Query) -> tuple[str, Facts]:
    """The query's My Number and the comparison keys of its facts; `Invalid` (422) for a number that
    fails its check digit or a fact that cannot be read, before anything is read or recorded."""
    number = checked_my_number(fold(request.my_number).replace("-", ""))
    try:
        return number, Facts(name_key(request.name), birth_date_key(request.birth_date), sex_key(request.sex),
                             address_key(request.address))
    except Unreadable as exc:
        raise Invalid(str(exc)) from None


def current_record(number: str | BindParameter[str]) -> Select[*tuple[Any, ...]]:
    """The current record holding `number`: what `compare` reads (a bound parameter for a
    statement compiled once, register_stub/loop_routes.py)."""
    return (
        select(Resident.resident_code, Resident.status, ResidentVersion.family_name, ResidentVersion.given_name,
               ResidentVersion.old_surname, ResidentVersion.alias_name, ResidentVersion.birth_date,
               ResidentVersion.sex, ResidentVersion.address)
        .select_from(MyNumber)
        .join(Resident, Resident.resident_code == MyNumber.resident_code)
        .join(ResidentVersion, (ResidentVersion.resident_code == Resident.resident_code)
              & (ResidentVersion.version == Resident.current_version))
        .where(MyNumber.number == number, MyNumber.retired_at.is_(None))
    )


def shown(answer: Method2Answer, request: Method2Query, caller: Caller, record_id: int, at: datetime) -> Method2Answer:
    """`answer`, with the access record it wrote when the query asks to see it."""
    if request.show_access_record:
        answer.access_record = RecordedAccess(id=record_id, at=at, actor=caller.name, action=ACTION,
                                              purpose=request.purpose, items=RECORD_ITEMS, outcome=answer.result)
    return answer


class CurrentRecord(Protocol):
    """A row of `current_record` (SQLAlchemy's, or psycopg's on the event loop)."""

    resident_code: str
    status: str
    family_name: str
    given_name: str
    old_surname: str | None
    alias_name: str | None
    birth_date: date
    sex: str
    address: str


def compare(row: CurrentRecord | None, wanted: Facts) -> tuple[str | None, Method2Answer]:
    """The record's code (None: no current record holds the number) and the answer for `wanted`."""
    if row is None or row.status == DELETED:
        return None, Method2Answer(result="no-match")
    names = {name_key(row.family_name + row.given_name)}
    if row.old_surname:
        names.add(name_key(row.old_surname + row.given_name))
    if row.alias_name:
        names.add(name_key(row.alias_name))
    differs: list[Literal["name", "birth_date", "sex", "address"]] = []
    if wanted.name not in names:
        differs.append("name")
    if wanted.birth_date != row.birth_date:
        differs.append("birth_date")
    if wanted.sex != row.sex:
        differs.append("sex")
    if wanted.address != address_key(row.address):
        differs.append("address")
    return row.resident_code, Method2Answer(result="differs" if differs else "match", differs=differs)


def checked_my_number(number: str) -> str:
    """`number` if it is a My Number, else a 422 before anything is read or recorded: a typing
    mistake the check digit catches must not come back as "no-match" with an access record
    claiming a comparison was made."""
    try:
        return my_number.validate(number)
    except CodecError as exc:
        raise Invalid(f"my_number: {exc}") from None


@dataclass(frozen=True)
class Facts:
    """The comparison keys of the four facts."""

    name: str
    birth_date: date
    sex: str
    address: str
