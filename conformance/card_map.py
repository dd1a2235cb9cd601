"""The card as card-interface.md describes it, as data the cases refer to: APs, EFs, secrets.

Kept apart from the cases so that a case reads "query the auth PIN" rather than a FID, and so that
the numbers are written once, next to the clause they come from.
"""

from __future__ import annotations

from dataclasses import dataclass

from mynacard.conformance.model import Profile, Secret


@dataclass(frozen=True)
class Application:
    key: str
    name: str
    aid: bytes
    profile: Profile
    clause: str
    #: FIDs JSA-DUMP found selectable by enumerating 0000–002F (CI §4), when known.
    enumerated_efs: tuple[int, ...] | None = None

    def __str__(self) -> str:
        return self.name


JPKI = Application(
    "jpki", "公的個人認証AP (JPKI)", bytes.fromhex("D392F000260100000001"), Profile.JPKI, "§6",
    (0x0001, 0x0002, 0x0005, 0x0006, 0x0008, 0x0009, 0x000A, 0x000B, 0x0010, 0x0016, 0x0017, 0x0018,
     0x0019, 0x001A, 0x001B, 0x001C, 0x001E),
)
TEXT = Application(
    "text", "券面事項入力補助AP", bytes.fromhex("D3921000310001010408"), Profile.TEXT, "§7",
    (0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0006, 0x0007, 0x0008, 0x0010, 0x0011, 0x0012, 0x0013,
     0x0014, 0x0015, 0x001C, 0x001E),
)
VISUAL = Application(
    "visual", "券面事項確認AP", bytes.fromhex("D3921000310001010402"), Profile.VISUAL, "§8",
    (0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0006, 0x0011, 0x0012, 0x0013, 0x001A, 0x001C, 0x001E),
)
COMMON = Application("common", "共通AP", bytes.fromhex("D3921000310001010100"), Profile.COMMON, "§9")
JUKI = Application("juki", "住基AP", bytes.fromhex("D3921000310001010401"), Profile.JUKI, "§9")

APPLICATIONS: tuple[Application, ...] = (JPKI, TEXT, VISUAL, COMMON, JUKI)

#: GlobalPlatform issuer security domain: selecting it restores the power-on state (CI §2, §5).
ISD_AID = bytes.fromhex("A0000001510000")


@dataclass(frozen=True)
class PinRef:
    """A secret's reference on the card: the EF queried and verified, and what opens it."""

    code: str
    label: str
    app: Application
    fid: int
    secret: Secret | None
    #: Maximum tries where a source states it (CI §6.1, jpki-system.md §1.6); None when unknown.
    max_tries: int | None
    #: INS that changes it: 0x24 CHANGE REFERENCE DATA or 0x32 CHANGE KEY (CI §2).
    change_ins: int | None = None

    @property
    def sfi_p2(self) -> int:
        """P2 of the VERIFY form that names the EF by SFI instead of selecting it (CI §2)."""
        return 0x80 | self.fid

    def __str__(self) -> str:
        return self.label


AUTH_PIN = PinRef("auth", "JPKI auth PIN (EF 0018)", JPKI, 0x0018, Secret.AUTH_PIN, 3, 0x24)
SIGN_PASSWORD = PinRef("sign", "JPKI signing password (EF 001B)", JPKI, 0x001B, Secret.SIGN_PASSWORD, 5, 0x24)
TEXT_PIN = PinRef("text-pin", "券面事項入力補助 PIN (EF 0011)", TEXT, 0x0011, Secret.TEXT_PIN, 3, 0x24)
TEXT_BLOCKED = PinRef("text-0012", "券面事項入力補助AP key 0012 (blocked from issue)", TEXT, 0x0012, None, None)
TEXT_CODE_A = PinRef("text-a", "券面事項入力補助AP 照合番号A (EF 0014)", TEXT, 0x0014, Secret.CODE_A, None)
TEXT_CODE_B = PinRef("text-b", "券面事項入力補助AP 照合番号B (EF 0015)", TEXT, 0x0015, Secret.CODE_B, 10)
VISUAL_BIRTH = PinRef("visual-birth", "券面事項確認AP 生年月日 key (EF 0011)", VISUAL, 0x0011, Secret.BIRTH_KEY, None)
VISUAL_CODE_B = PinRef("visual-b", "券面事項確認AP 照合番号B (EF 0012)", VISUAL, 0x0012, Secret.CODE_B, 10)
VISUAL_CODE_A = PinRef("visual-a", "券面事項確認AP 照合番号A (EF 0013)", VISUAL, 0x0013, Secret.CODE_A, None)
COMMON_PIN = PinRef("common-pin", "共通AP PIN (EF 001C)", COMMON, 0x001C, Secret.COMMON_PIN, 3, 0x32)
JUKI_PIN = PinRef("juki-pin", "住基AP PIN (EF 001C)", JUKI, 0x001C, Secret.JUKI_PIN, 3, 0x32)

#: Every retry counter of the card (CI §13 F plus 共通/住基 001C): what the runner reads at start
#: and end of every run.
PIN_REFS: tuple[PinRef, ...] = (
    AUTH_PIN, SIGN_PASSWORD, TEXT_PIN, TEXT_BLOCKED, TEXT_CODE_A, TEXT_CODE_B,
    VISUAL_BIRTH, VISUAL_CODE_B, VISUAL_CODE_A, COMMON_PIN, JUKI_PIN,
)
PIN_REFS_BY_CODE: dict[str, PinRef] = {p.code: p for p in PIN_REFS}

# --- JPKI EFs (CI §6.1) ---------------------------------------------------------------------------
EF_SIGN_CERT = 0x0001
EF_SIGN_CA = 0x0002
EF_TOKEN_INFO = 0x0006
EF_CERT_AVAILABILITY = 0x0008
EF_JPKI_PROTECTED = 0x0009
EF_AUTH_CERT = 0x000A
EF_AUTH_CA = 0x000B
EF_TERMINAL_KEY_REF = 0x0016
EF_AUTH_KEY = 0x0017
EF_SIGN_KEY = 0x001A

#: The token label of a My Number Card in EF 0006 (CI §6.1); the others are other JPKI tokens.
TOKEN_LABEL_MY_NUMBER_CARD = b"JPKIAPICCTOKEN2"

# --- signatures (CI §6.2) -------------------------------------------------------------------------
#: Longest input of P1=00 for RSA-2048: k − 11 bytes (CI §6.2).
MAX_PKCS1_INPUT = 245
