"""What callers send and receive: the 住民票 items (jpki-system.md §5) and the events, as
pydantic models that validate on arrival (a bad request is refused before anything is touched).

Dates are ISO 8601 (Gregorian). Sex is the JPKI code: "1" male, "2" female, "3" unknown.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mynacard.register_stub.municipalities import PREFECTURES

JST = timezone(timedelta(hours=9), "JST")
MEIJI_START = date(1868, 1, 25)
#: 世帯主: the head of the household (住基法 第7条 (4)); everyone else gives a 続柄.
HEAD = "世帯主"
FOREIGN_CATEGORIES = ("中長期在留者", "特別永住者", "一時庇護許可者", "仮滞在許可者", "経過滞在者")
#: Items (9)–(11の2) of 住基法 第7条: registered or not.
WELFARE_ITEMS = (
    "electoral_roll", "national_health_insurance", "late_elderly_insurance",
    "long_term_care_insurance", "national_pension", "child_allowance",
)

Sex = Literal["1", "2", "3"]
Text100 = Annotated[str, Field(min_length=1, max_length=100)]
Address = Annotated[str, Field(min_length=1, max_length=200)]
MunicipalityCode = Annotated[str, Field(pattern=r"^[0-9]{5}$", description="全国地方公共団体コード, 5 digits")]
Cause = Annotated[str, Field(min_length=1, max_length=500, description="why: the notice or act (e.g. 転居届)")]


def today_in_japan() -> date:
    return datetime.now(JST).date()


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _past_date(value: date, what: str) -> date:
    today = today_in_japan()
    if value > today:
        raise ValueError(f"the {what} {value.isoformat()} is in the future (today in Japan is {today.isoformat()})")
    if value < MEIJI_START:
        raise ValueError(f"the {what} is before 1868-01-25 (Meiji 1)")
    return value


def _welfare_items(value: dict[str, bool]) -> dict[str, bool]:
    unknown = sorted(set(value) - set(WELFARE_ITEMS))
    if unknown:
        raise ValueError(f"unknown welfare item {unknown[0]} (known: {', '.join(WELFARE_ITEMS)})")
    return value


def _name_part(value: str) -> str:
    if any(c.isspace() for c in value):
        raise ValueError("a name part contains no spaces (family and given name are separate fields)")
    return value


class ForeignItems(Strict):
    """A foreign resident's own items (住基法 30条の45); they have no 本籍."""

    nationality: Text100
    category: Literal["中長期在留者", "特別永住者", "一時庇護許可者", "仮滞在許可者", "経過滞在者"]
    residence_status: str | None = Field(default=None, max_length=60)
    period_of_stay: str | None = Field(default=None, max_length=40)
    stay_expires_on: date | None = None
    residence_card_number: str | None = Field(
        default=None, pattern=r"^[A-Z]{2}[0-9]{8}[A-Z]{2}$", description="在留カード番号: 2 letters, 8 digits, 2 letters"
    )
    became_foreign_resident_on: date


class NewResident(Strict):
    """The items of a new 住民票 (birth or first entry)."""

    family_name: Text100
    given_name: Text100
    birth_date: date
    sex: Sex
    address: Address
    #: None: the person heads a new household (relationship must be 世帯主).
    household_id: int | None = None
    relationship: str = Field(default=HEAD, min_length=1, max_length=20)
    honseki: str | None = Field(default=None, max_length=200)
    hittosha: str | None = Field(default=None, max_length=100)
    old_surname: str | None = Field(default=None, max_length=100)
    alias_name: str | None = Field(default=None, max_length=100)
    foreign: ForeignItems | None = None
    welfare: dict[str, bool] = Field(default_factory=dict)

    _names = field_validator("family_name", "given_name")(_name_part)

    @field_validator("birth_date")
    @classmethod
    def _birth(cls, value: date) -> date:
        return _past_date(value, "birth date")

    _welfare = field_validator("welfare")(_welfare_items)

    @model_validator(mode="after")
    def _consistent(self) -> NewResident:
        if self.foreign is not None and (self.honseki or self.hittosha):
            raise ValueError("a foreign resident has no 本籍 or 筆頭者")
        if self.foreign is None and self.alias_name:
            raise ValueError("a 通称 is recorded for foreign residents only")
        if self.household_id is None and self.relationship != HEAD:
            raise ValueError("a person starting a new household is its head (relationship 世帯主)")
        if self.household_id is not None and self.relationship == HEAD:
            raise ValueError("an existing household already has its head; give the relationship (妻, 子, …)")
        return self


class EventBase(Strict):
    event_date: date = Field(description="the date the event took effect (not in the future)")
    cause: Cause

    @field_validator("event_date")
    @classmethod
    def _when(cls, value: date) -> date:
        return _past_date(value, "event date")


class NewRecordBase(EventBase):
    """An event that creates a record: where, and the record's items."""

    municipality_code: MunicipalityCode
    resident: NewResident


class Birth(NewRecordBase):
    """出生: a new record with a code from the municipality's pool and a new My Number."""

    kind: Literal["birth"] = "birth"


class Entry(NewRecordBase):
    """First entry from abroad (国外からの転入): a new record; event_date = the date of entry."""

    kind: Literal["entry"] = "entry"
    previous_address: str | None = Field(default=None, max_length=200, description="the address abroad")


class MoveWithin(EventBase):
    """転居: a new address in the same municipality (signing certificate revoked)."""

    kind: Literal["move-within"] = "move-within"
    address: Address


class MoveOut(EventBase):
    """転出届: the planned date and where to; the 転入届 is due within 30 days of that date."""

    kind: Literal["move-out"] = "move-out"
    planned_date: date
    destination: Address


class MoveIn(EventBase):
    """転入届 in the new municipality (event_date = the notice date)."""

    kind: Literal["move-in"] = "move-in"
    moved_in_on: date
    municipality_code: MunicipalityCode
    address: Address

    @model_validator(mode="after")
    def _order(self) -> MoveIn:
        if self.moved_in_on > self.event_date:
            raise ValueError("the move-in date is after the notice date")
        return self


class Continuation(EventBase):
    """継続利用: the card presented at the new municipality after a move."""

    kind: Literal["continuation"] = "continuation"


class NameChange(EventBase):
    """氏名の変更 (marriage, divorce, …), recorded from the 戸籍."""

    kind: Literal["name-change"] = "name-change"
    family_name: str | None = Field(default=None, min_length=1, max_length=100)
    given_name: str | None = Field(default=None, min_length=1, max_length=100)
    old_surname: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _something(self) -> NameChange:
        if self.family_name is None and self.given_name is None:
            raise ValueError("a name change gives a new family name, a new given name, or both")
        for part in (self.family_name, self.given_name):
            if part is not None:
                _name_part(part)
        return self


class Correction(EventBase):
    """性別 or 生年月日 corrected."""

    kind: Literal["correction"] = "correction"
    sex: Sex | None = None
    birth_date: date | None = None

    @field_validator("birth_date")
    @classmethod
    def _birth(cls, value: date | None) -> date | None:
        return None if value is None else _past_date(value, "birth date")

    @model_validator(mode="after")
    def _something(self) -> Correction:
        if self.sex is None and self.birth_date is None:
            raise ValueError("a correction gives a sex, a birth date, or both")
        return self


class Death(EventBase):
    kind: Literal["death"] = "death"


class Emigration(EventBase):
    """国外転出: the record is deleted; the card may be kept (since 2024-05-27)."""

    kind: Literal["emigration"] = "emigration"
    destination: Address


class HouseholdChange(EventBase):
    """世帯変更: another household or relationship; no certificate is touched."""

    kind: Literal["household-change"] = "household-change"
    household_id: int | None = Field(default=None, description="None: the person heads a new household")
    relationship: str = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _head(self) -> HouseholdChange:
        if self.household_id is None and self.relationship != HEAD:
            raise ValueError("a person starting a new household is its head (relationship 世帯主)")
        return self


class ItemsUpdate(EventBase):
    """Items other than the four facts: welfare registrations (9)–(11の2), 本籍/筆頭者, 通称, and a
    foreign resident's status of residence (e.g. 在留期間更新, notified by the Minister of Justice).
    No certificate is touched. Only the items given change; an empty string clears one."""

    kind: Literal["items-update"] = "items-update"
    welfare: dict[str, bool] | None = None
    honseki: str | None = Field(default=None, max_length=200)
    hittosha: str | None = Field(default=None, max_length=100)
    alias_name: str | None = Field(default=None, max_length=100)
    residence_status: str | None = Field(default=None, max_length=60)
    period_of_stay: str | None = Field(default=None, max_length=40)
    stay_expires_on: date | None = None
    residence_card_number: str | None = Field(default=None, pattern=r"^([A-Z]{2}[0-9]{8}[A-Z]{2})?$")

    _welfare = field_validator("welfare")(lambda value: None if value is None else _welfare_items(value))

    @model_validator(mode="after")
    def _something(self) -> ItemsUpdate:
        if not self.model_fields_set - {"kind", "event_date", "cause"}:
            raise ValueError("an items update gives at least one item")
        return self


NewRecordEvent = Annotated[Birth | Entry, Field(discriminator="kind")]
RecordEvent = Annotated[
    MoveWithin | MoveOut | MoveIn | Continuation | NameChange | Correction | Death | Emigration | HouseholdChange
    | ItemsUpdate,
    Field(discriminator="kind"),
]


def check_address(address: str, municipality_code: str) -> None:
    """The register writes addresses from the prefecture on (jpki-system.md §1.2 SAN .5.5)."""
    prefecture = PREFECTURES.get(municipality_code[:2])
    if prefecture is None:
        raise ValueError(f"municipality code {municipality_code} does not start with a prefecture code 01–47")
    if not address.startswith(prefecture[0]):
        raise ValueError(f"the address must start with the prefecture of municipality {municipality_code}")
