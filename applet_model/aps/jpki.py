"""公的個人認証AP (JPKI), CI §6.

The signing certificate is readable only after the signing password (CI §6.1, §12; OpenSC copes).
EF sizes are not published; ours leave room for the largest certificate seen (1583 bytes, CI §6.1)
and pad with FF as the card does.
"""

from mynacard.applet_model.access import after
from mynacard.applet_model.files import ApplicationDecl, KeyDecl, KeyUse, OpaqueEF, TransparentEF
from mynacard.applet_model.secrets import CHANGE_REFERENCE_DATA, FOUR_DIGITS, SIGNING_PASSWORD, SecretDecl

AID = bytes.fromhex("D392F000260100000001")

JPKI = ApplicationDecl(
    name="jpki",
    title="公的個人認証AP (JPKI)",
    aid=AID,
    files=(
        TransparentEF(0x0001, "署名用電子証明書 (signing certificate)", 0x0800, after("sign-password")),
        TransparentEF(0x0002, "signing CA certificate", 0x0800),
        OpaqueEF(0x0005),
        TransparentEF(0x0006, "token information (CK_TOKEN_INFO)", 0x00A0),
        TransparentEF(0x0008, "certificate availability", 0x0003),
        OpaqueEF(0x0009),
        TransparentEF(0x000A, "利用者証明用電子証明書 (authentication certificate)", 0x0800),
        TransparentEF(0x000B, "authentication CA certificate", 0x0800),
        OpaqueEF(0x0010),
        OpaqueEF(0x0016, "key reference for terminal CV certificates (80 A2)"),
        OpaqueEF(0x0019),
        OpaqueEF(0x001C),
        OpaqueEF(0x001E),
    ),
    secrets=(
        SecretDecl(0x0018, "auth-pin", "auth PIN (利用者証明用暗証番号)", FOUR_DIGITS, 3, CHANGE_REFERENCE_DATA),
        SecretDecl(0x001B, "sign-password", "signing password (署名用パスワード)", SIGNING_PASSWORD, 5,
                   CHANGE_REFERENCE_DATA),
    ),
    keys=(
        KeyDecl("auth", "authentication key", 0x0017, KeyUse.SIGN, after("auth-pin")),
        KeyDecl("sign", "signing key", 0x001A, KeyUse.SIGN, after("sign-password")),
    ),
    set_session_key_sw=0x6982,
)

__all__ = ["AID", "JPKI"]
