"""Whether a resident may get certificates at a kiosk: the refusals of jpki-system.md §6.2.

Read through the register's own store (records, events), never from the CA's tables:
- `moved_out`: a 転出届 is filed (the move-out planned or done, status moving-out) or the record
  was deleted by emigration; `deceased`: deleted by death;
- `support_measure` (DV/stalking 支援措置) and `gaiji_pending` (a 外字 still being registered):
  restrictions a clerk records at the centre (`PUT /centre/v1/restrictions/{code}/{kind}`);
- `move_in_today`: the day a 転入届 (or any address notice) is recorded, when the kiosk-side
  data may not be complete yet;
- `under_15`: the kiosk serves residents aged 15 and over (§6.2, "Users");
- `name_too_long`: the name or the address over the print layout's character limits (the real
  system's limits are not published; these are this centre's, sized for its A4 layout).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from mynacard.register_stub import numbers, records
from mynacard.register_stub.centre.models import Restriction
from mynacard.register_stub.models import Resident, ResidentVersion

RESTRICTIONS = ("support_measure", "gaiji_pending")
#: Characters of 氏名 (family + given) and of the address this centre's layout prints.
NAME_LIMIT = 20
MINIMUM_AGE = 15
ADDRESS_LIMIT = 60


@dataclass(frozen=True)
class Member:
    """One household member as a 住民票の写し prints them."""

    family_name: str
    given_name: str
    birth_date: date
    sex: str
    relationship: str
    became_resident_on: date
    my_number: str | None


@dataclass(frozen=True)
class ResidentFacts:
    """What the centre needs of one resident: the record, the household, the refusal."""

    record: records.RecordOut
    refusal: str | None

    @property
    def foreign(self) -> bool:
        return self.record.kind == "foreign"


def refusal(session: Session, record: records.RecordOut, today: date) -> str | None:
    current = record.current
    if record.status == "deleted":
        return "deceased" if record.deleted_reason == "death" else "moved_out"
    if record.status == "moving-out":
        return "moved_out"
    kinds = set(session.execute(
        select(Restriction.kind).where(Restriction.resident_code == record.resident_code)).scalars())
    for kind in RESTRICTIONS:
        if kind in kinds:
            return kind
    if today in (current.became_resident_on, current.notice_date):
        return "move_in_today"
    born = current.birth_date
    if today.year - born.year - ((today.month, today.day) < (born.month, born.day)) < MINIMUM_AGE:
        return "under_15"
    if len(current.family_name) + len(current.given_name) > NAME_LIMIT:
        return "name_too_long"
    if len(current.address) > ADDRESS_LIMIT:
        return "name_too_long"  # the kiosk reports both limits under one code
    return None


def facts(session: Session, resident_code: str, today: date) -> ResidentFacts:
    record = records.record_out(session, resident_code, with_number=True)
    return ResidentFacts(record, refusal(session, record, today))


def household(session: Session, household_id: int) -> list[Member]:
    """The current members (deleted ones, 消除者, are never printed), the head first."""

    rows = session.execute(
        select(Resident, ResidentVersion)
        .join(ResidentVersion, (ResidentVersion.resident_code == Resident.resident_code)
              & (ResidentVersion.version == Resident.current_version))
        .where(ResidentVersion.household_id == household_id, Resident.status != "deleted")
        .order_by(ResidentVersion.birth_date)
    ).all()
    members = [Member(v.family_name, v.given_name, v.birth_date, v.sex, v.relationship, v.became_resident_on,
                      numbers.current_number(session, r.resident_code)) for r, v in rows]
    return sorted(members, key=lambda m: m.relationship != "世帯主")
