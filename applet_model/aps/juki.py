"""住基AP (resident registry), CI §9. No source reads personal data from it."""

from mynacard.applet_model.files import ApplicationDecl, RecordEF
from mynacard.applet_model.secrets import CHANGE_KEY, FOUR_DIGITS, SecretDecl

AID = bytes.fromhex("D3921000310001010401")

JUKI = ApplicationDecl(
    name="juki",
    title="住基AP (resident registry)",
    aid=AID,
    files=(RecordEF(0x0002, "key reference"),),
    secrets=(SecretDecl(0x001C, "pin", "個人番号カード用 PIN (住基AP)", FOUR_DIGITS, 3, CHANGE_KEY),),
    set_session_key_sw=0x6982,
)
