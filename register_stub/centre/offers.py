"""The documents each municipality offers at convenience stores, with their fees (jpki-system.md
§6.2: each municipality chooses; fees are set by ordinance, often ¥100 below the window's).

Only what this centre can draw is offered: 住民票の写し and 住民票記載事項証明書. The table's
fees are illustrative values of the typical range (¥200–300), not any city's ordinance.
"""

from __future__ import annotations

from dataclasses import dataclass

from mynacard.register_stub.municipalities import PREFECTURES

JUMINHYO, KISAI = "juminhyo", "kisai"
SELF, HOUSEHOLD = "self", "household"
HEAD_RELATION, HONSEKI, MY_NUMBER = "head_relation", "honseki", "my_number"
#: A foreign resident's own items (住基法 30条の45), printable on request (§6.2).
NATIONALITY, RESIDENCE_CARD, RESIDENCE_STATUS = "nationality", "residence_card", "residence_status"
FOREIGN_OPTIONS = (NATIONALITY, RESIDENCE_CARD, RESIDENCE_STATUS)

SCOPES = {
    SELF: ("本人のみ", "Myself only"),
    HOUSEHOLD: ("世帯全員", "Whole household"),
}
OPTIONS = {
    HEAD_RELATION: ("世帯主・続柄", "Head of household and relationship"),
    HONSEKI: ("本籍・筆頭者", "Registered domicile"),
    MY_NUMBER: ("個人番号", "My Number"),
    NATIONALITY: ("国籍・地域", "Nationality or region"),
    RESIDENCE_CARD: ("在留カード等の番号", "Residence card number"),
    RESIDENCE_STATUS: ("在留資格・在留期間", "Status and period of stay"),
}


@dataclass(frozen=True)
class Document:
    code: str
    title_ja: str
    title_en: str
    scopes: tuple[str, ...]
    options: tuple[str, ...]


DOCUMENTS = {
    JUMINHYO: Document(JUMINHYO, "住民票の写し", "Certificate of residence", (SELF, HOUSEHOLD),
                       (HEAD_RELATION, HONSEKI, MY_NUMBER, *FOREIGN_OPTIONS)),
    KISAI: Document(KISAI, "住民票記載事項証明書", "Certificate of residence items", (SELF,), ()),
}

#: Municipality code → (name as printed, head's title, {document: fee}).
MUNICIPALITIES: dict[str, tuple[str, str, dict[str, int]]] = {
    "13101": ("東京都千代田区", "千代田区長", {JUMINHYO: 200, KISAI: 200}),
    "13104": ("東京都新宿区", "新宿区長", {JUMINHYO: 200, KISAI: 200}),
    "13113": ("東京都渋谷区", "渋谷区長", {JUMINHYO: 200}),
    "13221": ("東京都清瀬市", "清瀬市長", {JUMINHYO: 200, KISAI: 200}),
    "14100": ("神奈川県横浜市", "横浜市長", {JUMINHYO: 250}),
    "27100": ("大阪府大阪市", "大阪市長", {JUMINHYO: 250, KISAI: 250}),
}
#: Any other municipality (with its prefecture's name and the code): the typical ¥300.
DEFAULT_FEES = {JUMINHYO: 300}


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    head: str
    fees: dict[str, int]


def municipality(code: str) -> Municipality:
    known = MUNICIPALITIES.get(code)
    if known is not None:
        return Municipality(code, *known)
    prefecture = PREFECTURES.get(code[:2], ("", ""))[0]
    return Municipality(code, f"{prefecture}（団体コード{code}）", "市区町村長", dict(DEFAULT_FEES))


def allowed_options(document: Document, foreign: bool) -> list[str]:
    """A foreign resident has no 本籍 (30条の45); the foreign items are for foreign residents only."""
    return [o for o in document.options if (o == HONSEKI and not foreign) or (o in FOREIGN_OPTIONS and foreign)
            or o not in (HONSEKI, *FOREIGN_OPTIONS)]


def offers(place: Municipality, foreign: bool) -> list[dict[str, object]]:
    """The offer list of the Centre API for a resident of `place`."""
    out: list[dict[str, object]] = []
    for code, fee in place.fees.items():
        document = DOCUMENTS[code]
        options = allowed_options(document, foreign)
        out.append({
            "code": code, "title_ja": document.title_ja, "title_en": document.title_en, "fee": fee,
            "scopes": [{"code": s, "title_ja": SCOPES[s][0], "title_en": SCOPES[s][1]} for s in document.scopes],
            "options": [{"code": o, "title_ja": OPTIONS[o][0], "title_en": OPTIONS[o][1]} for o in options],
            "available": True, "refusal": None,
        })
    return out
