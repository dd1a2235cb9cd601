"""Card-verifiable certificates and the keys behind the 券面 APs' record signatures.

The layout (card-interface.md §7.3, EF 0004 of both 券面 APs and the MF objects `00F8`/`7F21`)
is mynacard.codec.cv's; this module issues and signs.

Key ID = 7 ASCII digits + `08 05` + 3 ASCII digits + 4 padding bytes. The padding is
`00 00 00 00` on the 券面 keys of real cards (soltia48/myna-card src/data.rs, src/ca.rs; the MF
root keys there carry `A8` in the last byte). Ours always use four zero bytes, and every number
of our hierarchy starts with `9`: production IDs start with 5 and J-LIS's test hierarchy with 6,
so no verifier can mistake our keys for either.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import NoDigestInfo

from mynacard.ca.errors import AuthorityError
from mynacard.ca.keys import RSA_BITS, RSA_EXPONENT
from mynacard.codec import cv
from mynacard.codec.cv import KEY_ID_LENGTH, KEY_ID_MARKER
from mynacard.codec.errors import CodecError

KEY_ID_PADDING = b"\x00\x00\x00\x00"


@dataclass(frozen=True)
class KeyId:
    """A 16-byte key identifier (証明者鍵ID / 被証明者鍵ID), e.g. `9000023/001`."""

    value: bytes

    def __post_init__(self) -> None:
        v = self.value
        if (
            len(v) != KEY_ID_LENGTH
            or not v[:7].isdigit()
            or v[7:9] != KEY_ID_MARKER
            or not v[9:12].isdigit()
        ):
            raise AuthorityError(
                "a key ID is 16 bytes: 7 ASCII digits, 08 05, 3 ASCII digits, 4 padding bytes"
            )

    @classmethod
    def make(cls, number: str, group: str = "001", pad: bytes = KEY_ID_PADDING) -> KeyId:
        """From the two digit groups, e.g. `KeyId.make("9000023")`."""
        return cls(number.encode("ascii") + KEY_ID_MARKER + group.encode("ascii") + pad)

    @property
    def number(self) -> str:
        return self.value[:7].decode("ascii")

    @property
    def group(self) -> str:
        return self.value[9:12].decode("ascii")

    def __bytes__(self) -> bytes:
        return self.value

    def __str__(self) -> str:
        return f"{self.number}/{self.group}"


def encode_public_key(key: rsa.RSAPublicKey) -> bytes:
    """The card's 265-byte RSA key encoding: `90 03 01 00 01 91 82 01 00 <n>` (CI §7.3, §8)."""
    numbers = key.public_numbers()
    if key.key_size != RSA_BITS or numbers.e != RSA_EXPONENT:
        raise AuthorityError("the card only holds RSA-2048 keys with exponent 65537")
    return cv.encode_rsa_key(numbers.e, numbers.n, RSA_BITS // 8)


def decode_public_key(data: bytes) -> rsa.RSAPublicKey:
    """Inverse of `encode_public_key` (accepts the two objects in either order)."""
    try:
        fields = cv.decode_rsa_key(data)
    except CodecError as exc:
        raise AuthorityError(str(exc)) from None
    return rsa.RSAPublicNumbers(fields.exponent, fields.modulus).public_key()


def sign_sha256(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    """PKCS#1 v1.5 with SHA-256 over `data`: every CV certificate and record signature but one."""
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def sign_digest_info(key: rsa.RSAPrivateKey, digest_info: bytes) -> bytes:
    """PKCS#1 v1.5 over a DigestInfo given as is.

    Needed for the card face (CI §8.1), whose DigestInfo holds three SHA-256 hashes
    (`30 71 … 04 60 <96 bytes>`), which no hash-algorithm API can produce.
    """
    return key.sign(digest_info, padding.PKCS1v15(), NoDigestInfo())


def verify_sha256(key: rsa.RSAPublicKey, signature: bytes, data: bytes) -> None:
    """Raise `AuthorityError` unless `signature` is PKCS#1 v1.5 SHA-256 over `data`."""
    try:
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise AuthorityError("the signature does not verify with the issuer's key") from None


@dataclass(frozen=True)
class CvCertificate:
    """A `7F21` certificate: `issuer_key_id` vouches that `subject_key_id` is `public_key`."""

    issuer_key_id: KeyId
    subject_key_id: KeyId
    public_key: rsa.RSAPublicKey
    signature: bytes

    @property
    def body(self) -> bytes:
        """The 297 signed bytes (the `5F4E` value)."""
        return (
            bytes(self.issuer_key_id)
            + bytes(self.subject_key_id)
            + encode_public_key(self.public_key)
        )

    def contents(self) -> bytes:
        """`5F4E …` + `5F37 …`: what GET DATA `00F8`/`7F21` returns at MF level (CI §10)."""
        return cv.encode_contents(self.body, self.signature)

    def encode(self) -> bytes:
        """The full `7F 21 82 02 33 …` template, 568 bytes, as in EF 0004."""
        return cv.encode_certificate(self.body, self.signature)

    @classmethod
    def parse(cls, data: bytes) -> CvCertificate:
        """Parse a certificate with or without its `7F21` template."""
        try:
            if data[:2] == cv.TAG_CERTIFICATE.to_bytes(2, "big"):
                fields = cv.parse_certificate(data)
            else:
                fields = cv.parse_contents(data)
        except CodecError as exc:
            raise AuthorityError(str(exc)) from None
        return cls(
            issuer_key_id=KeyId(fields.issuer_key_id),
            subject_key_id=KeyId(fields.subject_key_id),
            public_key=decode_public_key(fields.key.encoded),
            signature=fields.signature,
        )

    def verify(self, issuer_public_key: rsa.RSAPublicKey) -> None:
        """Raise `AuthorityError` unless the issuer's key signed this body."""
        verify_sha256(issuer_public_key, self.signature, self.body)


@dataclass(frozen=True)
class CvKey:
    """A key of the card-verifiable hierarchy, named by its key ID, able to sign."""

    key_id: KeyId
    private_key: rsa.RSAPrivateKey

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    def certify(self, subject_key_id: KeyId, public_key: rsa.RSAPublicKey) -> CvCertificate:
        """Issue a `7F21` for `public_key` under `subject_key_id`."""
        unsigned = CvCertificate(self.key_id, subject_key_id, public_key, b"")
        return CvCertificate(
            self.key_id, subject_key_id, public_key, sign_sha256(self.private_key, unsigned.body)
        )

    def sign(self, data: bytes) -> bytes:
        """PKCS#1 v1.5 SHA-256 over `data` (record signatures of CI §7.1, §8)."""
        return sign_sha256(self.private_key, data)

    def sign_digest_info(self, digest_info: bytes) -> bytes:
        """PKCS#1 v1.5 over a ready DigestInfo (the card face, CI §8.1)."""
        return sign_digest_info(self.private_key, digest_info)
