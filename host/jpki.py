"""公的個人認証AP (JPKI, CI §6): the four certificates, token info, tries, signatures, PIN change.

Certificates are read sized from their DER header (CI §4, flow A of §13). The signing certificate
and the signing key need the signing password; the auth key needs the auth PIN. Signatures use
P1=00 with a DigestInfo built on the host (what every client does, CI §6.2), for every digest a
client uses; the card's other schemes (P1 01–05) are reachable through `compute_signature`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import Enum, IntEnum

from mynacard.codec.digest_info import HASH_NAMES, digest_info
from mynacard.host import aids
from mynacard.host.apdu import SHORT_LE_MAX, Command
from mynacard.host.channel import CardChannel
from mynacard.host.errors import CardDataError, error_for_sw
from mynacard.host.pins import AUTH_PIN, SIGN_PASSWORD, PinGuard, Secret


class Certificate(Enum):
    """The four certificate EFs (CI §6.1) with the secret that opens each (None = free)."""

    AUTH = (0x000A, "auth certificate (利用者証明用電子証明書)", None)
    AUTH_CA = (0x000B, "auth CA certificate", None)
    SIGN = (0x0001, "signing certificate (署名用電子証明書)", SIGN_PASSWORD)
    SIGN_CA = (0x0002, "signing CA certificate", None)

    def __init__(self, fid: int, title: str, secret: Secret | None) -> None:
        self.fid = fid
        self.title = title
        self.secret = secret


class Key(Enum):
    """The two private keys and the secret that unlocks each (CI §6.1)."""

    AUTH = (0x0017, AUTH_PIN)
    SIGN = (0x001A, SIGN_PASSWORD)

    def __init__(self, fid: int, secret: Secret) -> None:
        self.fid = fid
        self.secret = secret


class SignatureScheme(IntEnum):
    """P1 of COMPUTE DIGITAL SIGNATURE (CI §6.2)."""

    PKCS1_INPUT_AS_GIVEN = 0x00  #: input (a DigestInfo) padded PKCS#1 v1.5 as given
    PKCS1_BARE_SHA256 = 0x01  #: card hashes the message, pads the bare 32-byte hash
    PKCS1_SHA256_DIGEST = 0x02  #: input is a SHA-256 hash; card wraps it in a DigestInfo
    SHA256_WITH_RSA = 0x03  #: card hashes the message (≤ 255 bytes): sha256WithRSA
    PSS_SHA256_DIGEST = 0x04  #: input is a SHA-256 hash; RSASSA-PSS
    PSS_SHA256 = 0x05  #: card hashes the message; RSASSA-PSS


@dataclass(frozen=True)
class TokenInfo:
    """EF 0006: PKCS#11 CK_TOKEN_INFO, 160 bytes, big-endian CK_ULONGs (CI §6.1)."""

    label: str
    manufacturer: str
    model: str
    serial: str
    flags: int
    raw: bytes

    @property
    def is_my_number_card(self) -> bool:
        """`JPKIAPICCTOKEN2` = My Number Card; other labels are 住基カード or smartphone tokens."""
        return self.label == "JPKIAPICCTOKEN2"

    @classmethod
    def parse(cls, raw: bytes) -> TokenInfo:
        if len(raw) != 160:
            raise CardDataError(f"JPKI token info (EF 0006) has {len(raw)} bytes, not 160")

        def text(a: int, b: int) -> str:
            return raw[a:b].decode("ascii", "replace").rstrip(" \x00")

        return cls(text(0, 32), text(32, 64), text(64, 80), text(80, 96),
                   int.from_bytes(raw[96:100], "big"), raw)


class Jpki:
    """The JPKI AP of one card; reached as `MyNumberCard.jpki`."""

    AID = aids.JPKI

    def __init__(self, channel: CardChannel, pins: PinGuard) -> None:
        self.channel = channel
        self.pins = pins

    # --- free data --------------------------------------------------------------------------------

    def certificate(self, which: Certificate) -> bytes:
        """DER bytes. The signing certificate needs `verify_signing_password` first (6982
        otherwise, CI §6.1)."""
        needs = f"the {which.secret.label}" if which.secret else ""
        return self.channel.read_object(self.AID, which.fid,
                                        f"reading the {which.title} (JPKI EF {which.fid:04X})",
                                        needs)

    def auth_certificate(self) -> bytes:
        return self.certificate(Certificate.AUTH)

    def auth_ca_certificate(self) -> bytes:
        return self.certificate(Certificate.AUTH_CA)

    def signing_ca_certificate(self) -> bytes:
        return self.certificate(Certificate.SIGN_CA)

    def signing_certificate(self, password: str | None = None) -> bytes:
        """Verifies `password` first when given (reading the tries before, as always)."""
        if password is not None:
            self.verify_signing_password(password)
        return self.certificate(Certificate.SIGN)

    def token_info(self) -> TokenInfo:
        return TokenInfo.parse(self.channel.read_fixed(self.AID, 0x0006, 160,
                                                       "reading the JPKI token info (EF 0006)"))

    def certificate_availability(self) -> bytes:
        """EF 0008, 3 bytes; `8F 8F 00` on a card with both certificates (CI §6.1)."""
        return self.channel.read_fixed(self.AID, 0x0008, 3,
                                       "reading the JPKI certificate availability (EF 0008)")

    def has_signing_certificate(self) -> bool:
        """False for cards issued without one (e.g. to under-15s): byte 0 of EF 0008 ≠ 8F."""
        return self.certificate_availability()[0] == 0x8F

    # --- secrets ----------------------------------------------------------------------------------

    def tries_left(self, key: Key) -> int | None:
        return self.pins.tries_left(key.secret)

    def verify_auth_pin(self, pin: str) -> None:
        self.pins.verify(AUTH_PIN, pin)

    def verify_signing_password(self, password: str) -> None:
        self.pins.verify(SIGN_PASSWORD, password)

    def change_auth_pin(self, old: str, new: str) -> None:
        self.pins.change(AUTH_PIN, old, new)

    def change_signing_password(self, old: str, new: str) -> None:
        self.pins.change(SIGN_PASSWORD, old, new)

    # --- signatures -------------------------------------------------------------------------------

    def sign(self, message: bytes, *, key: Key, hash: str = "sha256",
             pin: str | None = None) -> bytes:
        """RSA PKCS#1 v1.5 signature of `message` hashed on the host with `hash`."""
        if hash not in HASH_NAMES:
            raise ValueError(f"hash '{hash}' is not one of {', '.join(HASH_NAMES)}")
        return self.sign_digest(hashlib.new(hash, message).digest(), key=key, hash=hash, pin=pin)

    def sign_digest(self, digest: bytes, *, key: Key, hash: str = "sha256",
                    pin: str | None = None) -> bytes:
        """Signature over a digest computed elsewhere (e.g. CMS signed attributes)."""
        return self.compute_signature(digest_info(hash, digest), key=key,
                                      scheme=SignatureScheme.PKCS1_INPUT_AS_GIVEN, pin=pin)

    def compute_signature(self, data: bytes, *, key: Key,
                          scheme: SignatureScheme = SignatureScheme.PKCS1_INPUT_AS_GIVEN,
                          pin: str | None = None) -> bytes:
        """COMPUTE DIGITAL SIGNATURE `80 2A P1 80` with `key` selected (CI §6.2).

        `pin` (the auth PIN or the signing password) is verified first when given; otherwise it
        must have been verified earlier in this session.
        """
        if not 1 <= len(data) <= 255:
            raise ValueError(f"signature input must be 1–255 bytes, not {len(data)}")
        if pin is not None:
            self.pins.verify(key.secret, pin)
        doing = f"signing with the {'auth' if key is Key.AUTH else 'signing'} key"
        self.channel.ensure_ap(self.AID, doing)
        self.channel.select_ef(key.fid, doing)
        response = self.channel.send(Command(0x80, 0x2A, int(scheme), 0x80, data,
                                             le=SHORT_LE_MAX))
        if not response.ok:
            raise error_for_sw(response.sw, doing, f"the {key.secret.label}")
        return response.data
