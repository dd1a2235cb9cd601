"""The events a clerk records at the window, as data: each kind's name in both languages, the
notice it comes from, the fields the clerk types, and how they become the register's request body
(`POST /v1/residents/{code}/events`, or `POST /v1/residents` for a birth).

The register decides what an event does (jpki-system.md §5: which certificates go, the §2.1
deadlines); the window only asks it, first as a preview, then for real. Nothing here repeats that
table, so the screen can never disagree with what the register records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Field:
    """One input of an event form."""

    name: str
    ja: str
    en: str
    kind: str = "text"  # text, date or sex (a select)
    required: bool = True
    hint: str = ""
    default: str = ""


@dataclass(frozen=True)
class EventKind:
    """One kind of event: its register name (`key`), its title, the notice it records."""

    key: str
    ja: str
    en: str
    cause: str
    fields: tuple[Field, ...] = ()
    #: False: the event makes a new record (birth); True: it applies to the resident opened.
    on_resident: bool = True
    #: Shown in the list of events a clerk can start (継続利用 only appears when one is due).
    listed: bool = True


ADDRESS_HINT = "都道府県から 例 東京都千代田区見本町1-2-3 / from the prefecture on"
MUNICIPALITY = Field("municipality_code", "市区町村コード（5桁）", "Municipality code (5 digits)",
                     hint="例 13101（千代田区） e.g. 13101", default="13101")
HOUSEHOLD = Field("household_id", "世帯番号（新しい世帯なら空欄）", "Household no. (empty: a new household)",
                  required=False, hint="既存の世帯に入るときの世帯番号 the household to join")
RELATIONSHIP = Field("relationship", "続柄", "Relationship to the head", hint="世帯主 / 妻 / 子 / 同居人 …",
                     default="世帯主")

KINDS: dict[str, EventKind] = {kind.key: kind for kind in (
    EventKind("move-in", "転入", "Move in", "転入届", (
        Field("moved_in_on", "転入した日", "Date moved in", "date"),
        MUNICIPALITY,
        Field("address", "新しい住所", "New address", hint=ADDRESS_HINT),
    )),
    EventKind("continuation", "継続利用", "Card continuation", "個人番号カードの継続利用の手続", listed=False),
    EventKind("move-out", "転出", "Move out", "転出届", (
        Field("planned_date", "転出予定日", "Planned move-out date", "date"),
        Field("destination", "転出先", "Destination", hint=ADDRESS_HINT),
    )),
    EventKind("move-within", "転居", "Move within the municipality", "転居届", (
        Field("address", "新しい住所", "New address", hint=ADDRESS_HINT),
    )),
    EventKind("birth", "出生", "Birth", "出生届", (
        Field("family_name", "氏", "Family name"),
        Field("given_name", "名", "Given name"),
        Field("birth_date", "生年月日", "Date of birth", "date"),
        Field("sex", "性別", "Sex", "sex"),
        Field("address", "住所", "Address", hint=ADDRESS_HINT),
        MUNICIPALITY, HOUSEHOLD, RELATIONSHIP,
    ), on_resident=False),
    EventKind("death", "死亡", "Death", "死亡届"),
    EventKind("household-change", "世帯変更", "Household change", "世帯変更届", (HOUSEHOLD, RELATIONSHIP)),
)}

SEXES = (("1", "男", "male"), ("2", "女", "female"), ("3", "不明", "unknown"))


class FormProblem(ValueError):
    """A field the clerk left empty or typed so that it cannot be sent; one sentence."""


def request_body(kind: EventKind, values: dict[str, str], event_date: str) -> dict[str, Any]:
    """The register's request for this event from the form's values (empty optional fields left
    out). A required field left empty is a FormProblem naming it; the register checks the rest."""
    missing = [f.ja for f in kind.fields if f.required and not values.get(f.name)]
    if missing:
        raise FormProblem(f"{'・'.join(missing)}を入力してください。 Fill in every required item.")
    given: dict[str, Any] = {f.name: values[f.name] for f in kind.fields if values.get(f.name)}
    if "household_id" in given:
        if not given["household_id"].isdigit():
            raise FormProblem("世帯番号は数字です。 The household number is a number.")
        given["household_id"] = int(given["household_id"])
    cause = values.get("cause") or kind.cause
    if kind.key == "birth":
        municipality = given.pop("municipality_code")
        return {"kind": "birth", "event_date": given["birth_date"], "cause": cause,
                "municipality_code": municipality, "resident": given}
    return {"kind": kind.key, "event_date": event_date, "cause": cause, **given}
