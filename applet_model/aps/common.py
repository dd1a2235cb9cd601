"""共通AP (common card AP), CI §9. TRET calls this AID the 住基AP (CI §12); we follow MC and JSA-DUMP."""

from mynacard.applet_model.access import FREE
from mynacard.applet_model.files import ApplicationDecl, KeyDecl, KeyUse, RecordEF
from mynacard.applet_model.secrets import CHANGE_KEY, FOUR_DIGITS, SecretDecl

AID = bytes.fromhex("D3921000310001010100")

COMMON = ApplicationDecl(
    name="common",
    title="共通AP (common)",
    aid=AID,
    files=(
        RecordEF(0x0001, "card serial, municipality code and expiry"),
        RecordEF(0x0002, "key reference"),
    ),
    secrets=(SecretDecl(0x001C, "pin", "個人番号カード用 PIN (共通AP)", FOUR_DIGITS, 3, CHANGE_KEY),),
    keys=(KeyDecl("internal-auth", "internal-authentication key", 0x0019, KeyUse.INTERNAL_AUTHENTICATE, FREE),),
    set_session_key_sw=0x66F1,
)
