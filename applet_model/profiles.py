"""Card profiles: the ATR a reader reports and the behaviours where real cards differ (CI §1.1, §12).

A profile is chosen when a card is made (`mynacard card new --profile`) and can be overridden when
it is served (`mynacard emulate --profile`). The behaviours where public sources disagree (CI §12)
are declared once, in `BEHAVIOURS`, with the evidence for each side: the default is the behaviour
reported for real cards, and every other side is an option a client developer can test against
(`--behaviour reselect=clears`). docs/card-model.md prints this table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
    #: VERIFY query of a verified secret: "retries" = 63Cx always or "ok" = 9000 (`verify-query`).
    verify_query_after_success: str = "retries"
    #: Where GET DATA 5F51 answers: "mf" or "ap" (`atr-object`).
    atr_object_at: str = "mf"
    #: Whether the MF holds the CV certificate object 7F21 (`mf-7f21`).
    mf_7f21: bool = True
    #: SELECT of the AP that is already selected: "keeps" or "clears" the security status (`reselect`).
    reselect_same_ap: str = "keeps"

    def with_options(self, **options: object) -> Profile:
        return replace(self, **options)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Variant:
    """One side of a disagreement: its word on the command line, its profile setting, its sources."""

    value: str
    setting: str | bool
    evidence: str


@dataclass(frozen=True, slots=True)
class Behaviour:
    """A behaviour real cards disagree on (CI §12); `variants[0]` is the default."""

    key: str
    #: The Profile attribute (and card.json profile key) that holds it.
    field: str
    question: str
    clause: str
    variants: tuple[Variant, ...]
    #: Why the default is the default.
    choice: str

    @property
    def default(self) -> Variant:
        return self.variants[0]

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(v.value for v in self.variants)

    def variant(self, value: str) -> Variant:
        for v in self.variants:
            if v.value == value:
                return v
        raise ValueError(f"behaviour {self.key} has no value {value!r}; choose one of: {', '.join(self.values)}")

    def value_of(self, profile: Profile) -> str:
        """The word for what `profile` does."""
        setting = getattr(profile, self.field)
        for v in self.variants:
            if v.setting == setting:
                return v.value
        raise ValueError(f"profile {profile.name}: {self.field} = {setting!r} is none of {', '.join(self.values)}")

    def settings(self) -> tuple[str | bool, ...]:
        return tuple(v.setting for v in self.variants)


BEHAVIOURS: dict[str, Behaviour] = {b.key: b for b in (
    Behaviour(
        "reselect", "reselect_same_ap",
        "does SELECT of the AP that is already selected clear the security status (verified PINs)?",
        "CI §4, §12",
        (Variant("keeps", "keeps",
                 "PYJ (meowkawaiijp/pyjpki, a public client for real cards) re-SELECTs the JPKI AP between "
                 "VERIFY and SIGN and the text AP between VERIFY and READ: its signing and 4-facts reading "
                 "only work on a card that keeps the status; ISO 7816-4 ties the security status to a "
                 "change of the current DF"),
         Variant("clears", "clears",
                 "OpenSC's jpki driver implements logout as \"select the AP again\" (CI §4); a card that kept "
                 "the status would make that logout silently ineffective, which no OpenSC user would notice")),
        "keeps: the only source whose working depends on the answer (a client written for real cards) "
        "needs it; OpenSC's logout would not fail visibly either way, so it is no observation. Not "
        "settled by any source: the conformance observations OBS-RESELECT-001/002 settle it on a real card"),
    Behaviour(
        "verify-query", "verify_query_after_success",
        "what does the VERIFY query (no data) answer for a secret verified in this session?",
        "CI §3, §12",
        (Variant("retries", "retries", "hamano (OpenSC driver author): the card \"always\" answers 63Cx, "
                 "e.g. 63C3 right after a correct auth PIN (OpenSC PR #959)"),
         Variant("ok", "ok", "MC keeps a \"9000 = not reported\" case \"on some cards\"")),
        "retries: reported from a real card by the OpenSC driver's author; MC's case is defensive"),
    Behaviour(
        "atr-object", "atr_object_at",
        "where does GET DATA 5F51 (the contact ATR) answer?",
        "CI §1, §14",
        (Variant("mf", "mf", "MC: some cards answer at MF level (no AP selected)"),
         Variant("ap", "ap", "MC: other cards answer only with an AP selected")),
        "mf: both are reported from real cards (MC); MF level is what MC's reader tries first"),
    Behaviour(
        "mf-7f21", "mf_7f21",
        "does the MF hold the CV-certificate object 7F21?",
        "CI §10, §14",
        (Variant("present", True, "MC reads 7F21 at MF level on current cards"),
         Variant("absent", False, "MC: some (older) cards lack MF object 7F21")),
        "present: current cards have it (MC); the absent variant is older cards"),
)}


def parse_choice(text: str) -> tuple[str, str]:
    """`KEY=VALUE` from the command line → (key, value), or a ValueError that lists the choices."""
    key, sep, value = text.partition("=")
    key, value = key.strip(), value.strip()
    behaviour = BEHAVIOURS.get(key)
    if not sep or behaviour is None:
        raise ValueError(f"{text!r} is not KEY=VALUE with a known behaviour; choose from: {choices_summary()}")
    behaviour.variant(value)
    return key, value


def parse_choices(texts: Iterable[str]) -> dict[str, str]:
    """Several `KEY=VALUE`; the last one of a key wins, as options on a command line do."""
    return dict(parse_choice(t) for t in texts)


def apply_behaviours(profile: Profile, choices: Mapping[str, str]) -> Profile:
    """`profile` with the chosen sides of CI §12 (ValueError for an unknown key or value)."""
    options: dict[str, object] = {}
    for key, value in choices.items():
        behaviour = BEHAVIOURS.get(key)
        if behaviour is None:
            raise ValueError(f"unknown behaviour {key!r}; choose from: {choices_summary()}")
        options[behaviour.field] = behaviour.variant(value).setting
    return profile.with_options(**options)


def behaviours_of(profile: Profile) -> dict[str, str]:
    """What `profile` does for each behaviour of CI §12, as KEY → VALUE."""
    return {key: b.value_of(profile) for key, b in BEHAVIOURS.items()}


def choices_summary() -> str:
    """One line: every behaviour with its values, the default first (for error messages)."""
    return "; ".join(f"{b.key}={'|'.join(b.values)}" for b in BEHAVIOURS.values())


def choices_help() -> str:
    """The behaviours for a command's --help: key, values (default marked) and the question."""
    lines = ["card behaviours where real cards disagree (CI §12; --behaviour KEY=VALUE, repeatable):"]
    for b in BEHAVIOURS.values():
        values = ", ".join(f"{v.value}{' (default)' if i == 0 else ''}" for i, v in enumerate(b.variants))
        lines.append(f"  {b.key:<13} {values}")
        lines.append(f"  {'':<13} {b.question}")
    lines.append("  the evidence for each side: docs/card-model.md")
    return "\n".join(lines)


def _p(name: str, atr: str, interface: str) -> Profile:
    return Profile(name, bytes.fromhex(atr.replace(" ", "")), interface)


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
