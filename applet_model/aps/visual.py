"""券面事項確認AP (card-face confirmation, "visual"), CI §8.

Three keys open three amounts (CI §8, jpki-system §7): the birth-date key the age record,
照合番号B the card face, 照合番号A the card face and the My Number image. No secure messaging.
Retry limits of these keys are not published; 10 follows jpki-system §1.6 for 照合番号B and
JSA-DUMP's "≥ 10 left" rule (CI §8).
"""

from mynacard.applet_model.access import FREE, after
from mynacard.applet_model.files import ApplicationDecl, KeyDecl, KeyUse, OpaqueEF, TransparentEF
from mynacard.applet_model.secrets import FOURTEEN_DIGITS, SIX_DIGITS, TWELVE_DIGITS, SecretDecl

AID = bytes.fromhex("D3921000310001010402")

VISUAL = ApplicationDecl(
    name="visual",
    title="券面事項確認AP (visual)",
    aid=AID,
    files=(
        TransparentEF(0x0001, "age record", 0x0230, after("birth-key")),
        TransparentEF(0x0002, "card face", 0x2000, after("code-a", "code-b")),
        TransparentEF(0x0003, "AP basic information", 0x0150, FREE),
        TransparentEF(0x0004, "card-verifiable certificate", 0x0238, FREE),
        TransparentEF(0x0005, "個人番号 image", 0x0400, after("code-a")),
        TransparentEF(0x0006, "unidentified", 0x0020, after("code-a", "code-b"), required=False),
        OpaqueEF(0x001A),
        OpaqueEF(0x001C),
        OpaqueEF(0x001E),
    ),
    secrets=(
        SecretDecl(0x0011, "birth-key", "生年月日 key (era YYMMDD)", SIX_DIGITS, 10),
        SecretDecl(0x0012, "code-b", "照合番号B", FOURTEEN_DIGITS, 10),
        SecretDecl(0x0013, "code-a", "照合番号A (the My Number)", TWELVE_DIGITS, 10),
    ),
    keys=(KeyDecl("card", "card key (card presence, DF24)", None, KeyUse.SIGN, FREE),),
    default_key="card",
    set_session_key_sw=0x66F1,
)
