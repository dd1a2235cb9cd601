"""The vocabulary of the catalogue: profiles, secrets, impact levels, statuses, cases and results.

Modelled on BSI TR-03105 / GlobalTester (anchors.md §3.2): every case has a stable ID, the clause of
card-interface.md it checks, the profiles that gate its applicability, what the vendor must supply,
and a flag for what it does to the card. A case that does not apply is NOT APPLICABLE, never FAILED;
a case that cannot run for want of a secret or a robot is SKIPPED with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mynacard.conformance.context import CaseContext


class Profile(str, Enum):
    """A part of the card a case applies to; the runner detects which ones the card has."""

    CORE = "CORE"
    MF = "MF"
    JPKI = "JPKI"
    TEXT = "TEXT"
    VISUAL = "VISUAL"
    COMMON = "COMMON"
    JUKI = "JUKI"
    CONTACT = "CONTACT"
    CONTACTLESS = "CONTACTLESS"
    EXTENDED_LENGTH = "EXTENDED-LENGTH"
    SM = "SM"

    @property
    def description(self) -> str:
        return PROFILE_DESCRIPTIONS[self]


PROFILE_DESCRIPTIONS: dict[Profile, str] = {
    Profile.CORE: "card OS behaviour every My Number Card shows: channels, unknown INS, malformed "
    "APDUs, SELECT forms (CI §1–§3)",
    Profile.MF: "the master file: power-on state, MF-level GET DATA objects, GET CHALLENGE (CI §2, §4, §10)",
    Profile.JPKI: "公的個人認証AP, AID D392F000260100000001 (CI §6)",
    Profile.TEXT: "券面事項入力補助AP, AID D3921000310001010408 (CI §7)",
    Profile.VISUAL: "券面事項確認AP, AID D3921000310001010402 (CI §8)",
    Profile.COMMON: "共通AP, AID D3921000310001010100 (CI §9)",
    Profile.JUKI: "住基AP, AID D3921000310001010401 (CI §9)",
    Profile.CONTACT: "the card is reached through its contact interface (the ATR is a contact ATR, CI §1.1)",
    Profile.CONTACTLESS: "the card is reached over ISO 14443 Type B; the reader synthesises the ATR (CI §1.1)",
    Profile.EXTENDED_LENGTH: "the reader carries extended APDUs (CI §1)",
    Profile.SM: "secure messaging of the 券面事項入力補助AP (optional, CI §11)",
}


class Secret(str, Enum):
    """What a vendor may have to supply; the value is the key in the secrets file."""

    AUTH_PIN = "auth-pin"
    SIGN_PASSWORD = "sign-password"
    TEXT_PIN = "text-pin"
    CODE_A = "code-a"
    CODE_B = "code-b"
    BIRTH_KEY = "birth-key"
    COMMON_PIN = "common-pin"
    JUKI_PIN = "juki-pin"

    @property
    def label(self) -> str:
        return SECRET_LABELS[self][0]

    @property
    def value_format(self) -> str:
        """What a value looks like ("4 digits"); not `format`, which would hide `str.format`."""
        return SECRET_LABELS[self][1]


#: Label and format of each secret (CI §5, §6.1, §7.1, §8, §9; jpki-system.md §1.6).
SECRET_LABELS: dict[Secret, tuple[str, str]] = {
    Secret.AUTH_PIN: ("JPKI auth PIN (利用者証明用暗証番号)", "4 digits"),
    Secret.SIGN_PASSWORD: ("JPKI signing password (署名用パスワード)", "6–16 characters A–Z 0–9"),
    Secret.TEXT_PIN: ("券面事項入力補助 PIN", "4 digits"),
    Secret.CODE_A: ("照合番号A (the 12-digit 個人番号)", "12 digits"),
    Secret.CODE_B: ("照合番号B", "14 digits"),
    Secret.BIRTH_KEY: ("生年月日 key (era YYMMDD)", "6 digits"),
    Secret.COMMON_PIN: ("共通AP PIN (個人番号カード用, 001C)", "4 digits"),
    Secret.JUKI_PIN: ("住基AP PIN (個人番号カード用, 001C)", "4 digits"),
}


class Impact(str, Enum):
    """What a case may do to the card. Anything but READ_ONLY needs --allow-destructive."""

    READ_ONLY = "read-only"
    #: Spends tries; the runner restores every counter it lowered with a correct VERIFY afterwards.
    SPENDS_TRY = "spends-try"
    #: Changes a PIN and changes it back before it ends.
    CHANGES_SECRET = "changes-secret"
    #: Blocks a secret for good (on a real card only the municipal office can unblock it).
    BLOCKS = "blocks"

    @property
    def destructive(self) -> bool:
        return self is not Impact.READ_ONLY

    @property
    def order(self) -> int:
        """Run order: blocking cases last, so that no later case finds its secret blocked."""
        return list(Impact).index(self)


class Status(str, Enum):
    PASSED = "PASSED"
    FAILED = "FAILED"
    NOT_APPLICABLE = "NOT APPLICABLE"
    SKIPPED = "SKIPPED"
    ERROR = "ERROR"
    #: An observation case ran: it reports what the card did and never passes or fails.
    OBSERVED = "OBSERVED"


#: The behaviours real cards disagree on (CI §12) that observation cases report, with the word for
#: each side: the same words as the emulator's `--behaviour KEY=VALUE` (docs/card-model.md), so a
#: report says which option makes the emulator behave like the card that was run.
OBSERVED_BEHAVIOURS: dict[str, tuple[str, ...]] = {
    "reselect": ("keeps", "clears"),
    "verify-query": ("retries", "ok"),
    "atr-object": ("mf", "ap"),
    "mf-7f21": ("present", "absent"),
}
#: Observations of answers card-interface.md does not give (`observes="answer:<topic>"`): the value
#: is what the card answered (a status word, a size), recorded and never judged, because no public
#: source says what a real card answers. Unlike the CI §12 behaviours above they have no emulator
#: option; `mynacard conformance diff` shows where two cards answer differently.
ANSWER_OBSERVATION = "answer:"
#: What an observation reports when the card shows neither documented side.
OTHER = "other"


@dataclass(frozen=True)
class Observation:
    """What an observation case saw: the behaviour, the side the card took, and the evidence."""

    behaviour: str
    value: str
    detail: str

    def __str__(self) -> str:
        return f"{self.behaviour}={self.value}"

    def to_json(self) -> dict[str, str]:
        return {"behaviour": self.behaviour, "value": self.value, "detail": self.detail}

    @classmethod
    def from_json(cls, raw: dict[str, str]) -> Observation:
        return cls(str(raw["behaviour"]), str(raw["value"]), str(raw.get("detail", "")))


class DataKind(str, Enum):
    """What the data of one exchange is, which decides redaction and what a diff compares."""

    NONE = "none"
    #: The same on every conforming card (EF 0008 of JPKI, the 16 FF of text EF 0008).
    CONSTANT = "constant"
    #: Differs between cards but is neither personal nor random (certificates, keys, signatures).
    CARD = "card"
    #: Personal data of the holder: kept out of every report.
    PERSONAL = "personal"
    #: The My Number (text EF 0001, visual EF 0005): kept out of every report.
    MY_NUMBER = "my-number"
    #: Different on every call (GET CHALLENGE, PSS signatures).
    RANDOM = "random"
    #: Command data that carries a PIN, password, 照合番号 or session key: kept out of every report.
    SECRET = "secret"

    @property
    def redacted(self) -> bool:
        return self in (DataKind.PERSONAL, DataKind.MY_NUMBER, DataKind.SECRET)


@dataclass(frozen=True)
class Case:
    """One test case of the catalogue. `procedure` is the numbered steps the spec prints."""

    id: str
    title: str
    refs: tuple[str, ...]
    profiles: frozenset[Profile]
    needs: frozenset[Secret]
    impact: Impact
    robot: bool
    procedure: str
    run: Callable[[CaseContext], None] = field(compare=False, repr=False)
    #: Retry counters the case may lower; the runner reads them before and restores them after.
    touches: tuple[str, ...] = ()
    #: Secrets the case blocks for good (Impact.BLOCKS), named in the warning before the run.
    blocks: tuple[str, ...] = ()
    #: For an observation case: the CI §12 behaviour (a key of OBSERVED_BEHAVIOURS) it reports.
    observes: str | None = None

    @property
    def area(self) -> str:
        return self.id.split("-", 1)[0]


@dataclass
class Exchange:
    """One command/response pair as kept in a report: redacted, with its timing."""

    label: str
    command: str
    response: str
    sw: int
    length: int
    kind: DataKind
    duration_ms: float
    #: Raw data for a diff, only when the kind is comparable (CONSTANT).
    comparable: str | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "label": self.label,
            "command": self.command,
            "response": self.response,
            "sw": f"{self.sw:04X}",
            "length": self.length,
            "kind": self.kind.value,
            "ms": round(self.duration_ms, 3),
        }
        if self.comparable is not None:
            out["data"] = self.comparable
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Exchange:
        return cls(
            label=str(raw["label"]),
            command=str(raw["command"]),
            response=str(raw["response"]),
            sw=int(str(raw["sw"]), 16),
            length=int(raw["length"]),
            kind=DataKind(raw["kind"]),
            duration_ms=float(raw["ms"]),
            comparable=raw.get("data"),
        )


@dataclass
class CaseResult:
    case_id: str
    title: str
    refs: tuple[str, ...]
    profiles: tuple[str, ...]
    impact: str
    status: Status
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    duration_ms: float = 0.0
    exchanges: list[Exchange] = field(default_factory=list)
    observation: Observation | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "id": self.case_id,
            "title": self.title,
            "refs": list(self.refs),
            "profiles": list(self.profiles),
            "impact": self.impact,
            "status": self.status.value,
            "reason": self.reason,
            "notes": self.notes,
            "ms": round(self.duration_ms, 3),
            "exchanges": [e.to_json() for e in self.exchanges],
        }
        if self.observation is not None:
            out["observation"] = self.observation.to_json()
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> CaseResult:
        return cls(
            case_id=str(raw["id"]),
            title=str(raw["title"]),
            refs=tuple(raw.get("refs", ())),
            profiles=tuple(raw.get("profiles", ())),
            impact=str(raw.get("impact", "")),
            status=Status(raw["status"]),
            reason=str(raw.get("reason", "")),
            notes=list(raw.get("notes", ())),
            duration_ms=float(raw.get("ms", 0.0)),
            exchanges=[Exchange.from_json(e) for e in raw.get("exchanges", ())],
            observation=Observation.from_json(raw["observation"]) if raw.get("observation") else None,
        )
