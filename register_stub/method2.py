"""方法2: confirming a My Number and the four facts against the register without the card
(the seed slides' 個人番号の確認方法, "→住基ネットで確認").

A clerk sends what the application form says; the answer is only `match`, `no-match` (no current
record holds this number) or `differs` with the names of the items that differ. Nothing else of
the record is disclosed. Every query — answered or not — is an access record: who asked, when,
why (the purpose the clerk must give) and what was compared.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from mynacard.register_stub import numbers
from mynacard.register_stub.access import record_access
from mynacard.register_stub.errors_api import Invalid
from mynacard.register_stub.events import DELETED, current_version
from mynacard.register_stub.models import Resident
from mynacard.register_stub.normalise import Unreadable, address_key, birth_date_key, fold, name_key, sex_key
from mynacard.register_stub.schemas import Strict
from mynacard.service.auth import Caller

ITEMS = ("name", "birth_date", "sex", "address")


class Method2Query(Strict):
    my_number: str = Field(min_length=12, max_length=20, description="12 digits; spaces or hyphens allowed")
    name: str = Field(min_length=1, max_length=200)
    birth_date: str = Field(min_length=6, max_length=40, description="1980-02-17, 昭和55年2月17日, S55.2.17, …")
    sex: str = Field(min_length=1, max_length=10, description="1/2/3, 男/女, M/F")
    address: str = Field(min_length=1, max_length=300)
    purpose: str = Field(min_length=1, max_length=200, description="why the clerk asks (the procedure)")

    def __repr__(self) -> str:
        return "Method2Query(…)"


class Method2Answer(BaseModel):
    result: Literal["match", "no-match", "differs"]
    differs: list[Literal["name", "birth_date", "sex", "address"]] = []


def query(session: Session, caller: Caller, request: Method2Query) -> Method2Answer:
    """Compare; record the access in the same transaction (the caller commits)."""
    number = fold(request.my_number).replace("-", "")
    if len(number) != 12 or not number.isdigit():
        raise Invalid("my_number must be 12 digits")
    try:
        wanted = {
            "name": name_key(request.name),
            "birth_date": birth_date_key(request.birth_date),
            "sex": sex_key(request.sex),
            "address": address_key(request.address),
        }
    except Unreadable as exc:
        raise Invalid(str(exc)) from None
    code = numbers.resident_by_number(session, number)
    resident = session.get(Resident, code) if code else None
    if resident is None or resident.status == DELETED:
        record_access(session, caller, None, "method2-query", request.purpose, ", ".join(("my_number", *ITEMS)),
                      "no-match")
        return Method2Answer(result="no-match")
    version = current_version(session, resident)
    names = {name_key(version.family_name + version.given_name)}
    if version.old_surname:
        names.add(name_key(version.old_surname + version.given_name))
    if version.alias_name:
        names.add(name_key(version.alias_name))
    differs: list[Literal["name", "birth_date", "sex", "address"]] = []
    if wanted["name"] not in names:
        differs.append("name")
    if wanted["birth_date"] != version.birth_date:
        differs.append("birth_date")
    if wanted["sex"] != version.sex:
        differs.append("sex")
    if wanted["address"] != address_key(version.address):
        differs.append("address")
    answer = Method2Answer(result="differs" if differs else "match", differs=differs)
    record_access(session, caller, resident.resident_code, "method2-query", request.purpose,
                  ", ".join(("my_number", *ITEMS)), answer.result)
    return answer
