"""券面事項入力補助AP (card-info input support, "text"), CI §7.

Which secret opens which EF is the point of this AP (CI §7.1): the PIN opens everything,
照合番号A only the My Number, 照合番号B only the four facts. EF 0001 is exactly 17 bytes. It is
the one AP with secure messaging (CI §11).
"""

from mynacard.applet_model.access import FREE, after
from mynacard.applet_model.files import ApplicationDecl, KeyDecl, KeyUse, OpaqueEF, TransparentEF
from mynacard.applet_model.secrets import (
    CHANGE_REFERENCE_DATA,
    FOUR_DIGITS,
    FOURTEEN_DIGITS,
    TWELVE_DIGITS,
    SecretDecl,
)
from mynacard.applet_model.secure_messaging import SecureMessagingDecl
from mynacard.codec.secure_messaging import TAG_CRYPTOGRAM, TAG_EXPECTED_LENGTH

AID = bytes.fromhex("D3921000310001010408")
INS_SELECT, INS_VERIFY, INS_READ_BINARY = 0xA4, 0x20, 0xB0

_ANY = after("pin", "code-a", "code-b")

TEXT = ApplicationDecl(
    name="text",
    title="券面事項入力補助AP (text)",
    aid=AID,
    files=(
        TransparentEF(0x0001, "個人番号 (My Number)", 17, after("pin", "code-a")),
        TransparentEF(0x0002, "基本4情報 (four basic facts)", 0x0400, after("pin", "code-b")),
        TransparentEF(0x0003, "integrity record", 0x0150, _ANY),
        TransparentEF(0x0004, "card-verifiable certificate", 0x0238, FREE),
        TransparentEF(0x0005, "AP basic information", 0x0100, FREE),
        TransparentEF(0x0006, "secure-messaging key-transport public key", 0x0110, _ANY),
        TransparentEF(0x0007, "AP signing key with issuer signature", 0x0220, _ANY),
        TransparentEF(0x0008, "unidentified (16 × FF)", 0x0010, FREE, required=False),
        OpaqueEF(0x0010),
        OpaqueEF(0x0013),
        OpaqueEF(0x001C),
        OpaqueEF(0x001E),
    ),
    secrets=(
        SecretDecl(0x0011, "pin", "input-support PIN (券面事項入力補助用暗証番号)", FOUR_DIGITS, 3,
                   CHANGE_REFERENCE_DATA),
        SecretDecl(0x0012, "blocked-0012", "key reference 0012 (blocked on every card)", FOUR_DIGITS, 3,
                   blocked_from_issue=True),
        SecretDecl(0x0014, "code-a", "照合番号A (the My Number)", TWELVE_DIGITS, 10),
        SecretDecl(0x0015, "code-b", "照合番号B", FOURTEEN_DIGITS, 10),
    ),
    keys=(
        KeyDecl("ap", "AP signing key (card presence, DF51)", None, KeyUse.SIGN, FREE),
        KeyDecl("sm", "secure-messaging key transport (EF 0006)", None, KeyUse.KEY_TRANSPORT),
    ),
    default_key="ap",
    set_session_key_sw=0x6982,
    # CI §11: after the PIN in clear, a confidentiality-only session; SELECT and VERIFY carry their
    # data in 86, READ BINARY names its length in 96.
    secure_messaging=SecureMessagingDecl(
        key="sm",
        opened_by=after("pin"),
        commands={INS_SELECT: TAG_CRYPTOGRAM, INS_VERIFY: TAG_CRYPTOGRAM, INS_READ_BINARY: TAG_EXPECTED_LENGTH},
    ),
)
