"""Card profiles: the ATR a reader reports and the behaviours where real cards differ (CI §1.1, §12).

A profile is chosen when a card is made (`mynacard card new --profile`) and can be overridden when
it is served (`mynacard emulate --profile`). Where sources disagree on behaviour, the default is
the behaviour reported for real cards and the other one is an option here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

#: The contact ATR of a 2024 card (OpenSC #3021, "JPKI (02)").
CONTACT_2024 = bytes.fromhex("3BDA13FF8131FB468012392F31C173C601C03B")


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    #: The ATR the reader reports (for contactless profiles, synthesised by the reader from ATQB).
    atr: bytes
    interface: str  # "contact" | "contactless"
    #: The card's own contact ATR, returned by GET DATA 5F51 without TS (CI §1).
    contact_atr: bytes = CONTACT_2024
    #: VERIFY query of a verified secret: "retries" = 63Cx always (OpenSC #959, the default) or
    #: "ok" = 9000 (MC: "on some cards"), CI §3 and §12.
    verify_query_after_success: str = "retries"
    #: Where GET DATA 5F51 answers: "mf" (no AP selected) or "ap" (only with an AP selected), CI §1.
    atr_object_at: str = "mf"
    #: Whether the MF holds the CV certificate object 7F21 ("absent on older cards", CI §10).
    mf_7f21: bool = True

    def with_options(self, **options: object) -> Profile:
        return replace(self, **options)  # type: ignore[arg-type]


def _p(name: str, atr: str, interface: str, **kw: object) -> Profile:
    return Profile(name, bytes.fromhex(atr.replace(" ", "")), interface, **kw)  # type: ignore[arg-type]


#: The ATRs of CI §1.1 as selectable profiles.
PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        _p("contact-2024", "3B DA 13 FF 81 31 FB 46 80 12 39 2F 31 C1 73 C6 01 C0 3B", "contact"),
        _p("contact-c5", "3B C5 FF 81 31 FB 45 80 73 C6 01 00 00", "contact"),
        _p("contact-f5-d1d6", "3B F5 91 00 FF 91 81 71 FE 40 00 42 00 01 00 D1 D6", "contact"),
        _p("contact-f5-b3a1", "3B F5 91 00 FF 91 81 71 FE 40 00 42 00 01 B3 A1 15", "contact"),
        _p("contact-jukicard", "3B E0 00 FF 81 31 FE 45 14", "contact"),
        _p("contactless-06", "3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F", "contactless"),
        _p("contactless-07", "3B 88 80 01 00 00 41 E0 B3 81 A1 00 3B", "contactless"),
        _p("contactless-08", "3B 88 80 01 00 4B 51 FF 00 81 D1 00 BC", "contactless"),
        _p("contactless-09", "3B 88 80 01 00 4B 51 FF B3 81 D1 00 0F", "contactless"),
        _p("contactless-generic", "3B 80 80 01 01", "contactless"),
    )
}

DEFAULT_PROFILE = PROFILES["contact-2024"]
