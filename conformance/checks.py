"""Checks on what the card returned: signatures, certificates, TLV layouts, the My Number digit.

Pure functions over bytes, so the cases stay a list of steps. Each returns a value or raises
`DataError` with a sentence that says what is wrong — and never quotes personal data.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mynacard.codec import cv, my_number, tlv
from mynacard.codec.errors import CodecError


class DataError(ValueError):
    """The card's data is not what card-interface.md describes."""


def certificate(der: bytes, what: str) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        raise DataError(f"{what} is not a DER X.509 certificate") from None


def rsa_public_key(cert: x509.Certificate, what: str) -> rsa.RSAPublicKey:
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise DataError(f"{what} does not hold an RSA key")
    return key


def cert_signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def rsa_from_90_91(value: bytes, what: str) -> rsa.RSAPublicKey:
    """An RSA public key as the 券面 APs store it: `90` e, `91` n (CI §7.3, §8)."""
    try:
        fields = cv.decode_rsa_key(value)
    except CodecError as exc:
        raise DataError(f"{what}: {exc}") from None
    try:
        return rsa.RSAPublicNumbers(fields.exponent, fields.modulus).public_key()
    except ValueError as exc:
        raise DataError(f"{what}: not a usable RSA key ({exc})") from None


def pkcs1_payload(key: rsa.RSAPublicKey, signature: bytes) -> bytes | None:
    """What a PKCS#1 v1.5 type-1 signature carries (DigestInfo or a bare hash); None if invalid."""
    try:
        return key.recover_data_from_signature(signature, padding.PKCS1v15(), None)
    except (InvalidSignature, ValueError):
        return None


def verifies_pkcs1_sha256(key: rsa.RSAPublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def verifies_pss_sha256(key: rsa.RSAPublicKey, signature: bytes, digest: bytes) -> bool:
    """RSASSA-PSS with SHA-256 and MGF1-SHA-256 over a precomputed hash; any salt length."""
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    try:
        key.verify(signature, digest, padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.AUTO),
                   Prehashed(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def pss_salt_length(key: rsa.RSAPublicKey, signature: bytes, digest: bytes) -> int | None:
    """The salt length of an RSASSA-PSS-SHA256 signature over `digest` (RFC 8017 §9.1: the verifier
    must know it; the card does not say), by verifying with each length the modulus allows; None
    when it verifies with none."""
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    for length in range(key.key_size // 8 - hashes.SHA256.digest_size - 1):
        try:
            key.verify(signature, digest, padding.PSS(padding.MGF1(hashes.SHA256()), length),
                       Prehashed(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            continue
        return length
    return None


def valid_my_number(digits: bytes) -> bool:
    """12 ASCII digits with the check digit of jpki-system.md §4.1 (codec)."""
    return my_number.is_valid(digits.decode("ascii", "replace"))


def parse_single(data: bytes, tag: int, what: str) -> tlv.Tlv:
    """The one element at the start of an EF, which must carry `tag`."""
    try:
        return tlv.parse_tagged(data, tag)
    except tlv.TlvError as exc:
        raise DataError(f"{what}: {exc}") from None


def children(element: tlv.Tlv, what: str) -> dict[int, tlv.Tlv]:
    try:
        return element.child_map()
    except tlv.TlvError as exc:
        raise DataError(f"{what}: the contents are not a TLV sequence ({exc})") from None


def require_tags(found: dict[int, tlv.Tlv], tags: list[int], what: str) -> None:
    missing = [f"{t:X}" for t in tags if t not in found]
    if missing:
        raise DataError(f"{what}: tags {', '.join(missing)} missing")


@dataclass(frozen=True)
class CvCertificate:
    """A card-verifiable certificate `7F21` (CI §7.3)."""

    issuer_key_id: bytes
    subject_key_id: bytes
    public_key: rsa.RSAPublicKey
    body: bytes
    signature: bytes


def cv_certificate(data: bytes, what: str) -> CvCertificate:
    """Parse and check the shape of a `7F21` certificate: 297-byte body, 256-byte signature."""
    try:
        fields = cv.parse_certificate(data)
    except CodecError as exc:
        raise DataError(f"{what}: {exc} (CI §7.3)") from None
    if len(fields.signature) != 256:
        raise DataError(f"{what}: signature 5F37 is {len(fields.signature)} bytes, expected 256 (RSA-2048)")
    key = rsa_from_90_91(fields.key.encoded, f"{what} public key")
    if key.key_size != 2048:
        raise DataError(f"{what}: the certified key is {key.key_size} bits, expected 2048")
    return CvCertificate(fields.issuer_key_id, fields.subject_key_id, key, fields.body, fields.signature)


def offset_table(container: tlv.Tlv, table_tag: int, tags: list[int], what: str) -> None:
    """The DF21 table: a u16 BE offset, from the start of the file, of each object that follows it
    in order (CI §7.2, §8.1); `tags` are the objects that must be there."""
    parts = children(container, what)
    require_tags(parts, [table_tag, *tags], what)
    table = parts[table_tag].value
    if len(table) % 2 or len(table) < 2 * len(tags):
        raise DataError(f"{what}: offset table {table_tag:X} has {len(table)} bytes for {len(tags)} objects")
    pos = len(container.encoded) - len(container.value)  # offsets count from the outer header
    following: list[tuple[int, int]] = []
    for child in tlv.iter_tlvs(container.value):
        if following or child.tag == table_tag:
            following.append((child.tag, pos))
        pos += len(child.encoded)
    following = following[1:]
    for i in range(len(table) // 2):
        offset = int.from_bytes(table[2 * i : 2 * i + 2], "big")
        if i >= len(following):
            raise DataError(f"{what}: offset table entry {i} ({offset}) has no object after the table")
        tag, start = following[i]
        if offset != start:
            raise DataError(f"{what}: offset table entry {i} says {offset}, but {tag:X} starts at {start}")
