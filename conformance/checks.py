"""Checks on what the card returned: signatures, certificates, TLV layouts, the My Number digit.

Pure functions over bytes, so the cases stay a list of steps. Each returns a value or raises
`DataError` with a sentence that says what is wrong — and never quotes personal data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mynacard.conformance.card_map import DIGEST_INFO_PREFIX
from mynacard.host import tlv


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
        parts = {e.tag: e.value for e in tlv.iter_tlvs(value)}
    except tlv.TlvError as exc:
        raise DataError(f"{what}: not a 90/91 public key ({exc})") from None
    if 0x90 not in parts or 0x91 not in parts:
        raise DataError(f"{what}: tags 90 (exponent) and 91 (modulus) are not both present")
    try:
        return rsa.RSAPublicNumbers(int.from_bytes(parts[0x90], "big"), int.from_bytes(parts[0x91], "big")).public_key()
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


def digest_info(algorithm: str, message: bytes) -> bytes:
    return DIGEST_INFO_PREFIX[algorithm] + hashlib.new(algorithm, message).digest()


def my_number_check_digit(base11: str) -> int:
    """jpki-system.md §4.1: weights 2..7,2..6 from the right; 0 if R ≤ 1 else 11 − R."""
    total = 0
    for n, ch in enumerate(reversed(base11), start=1):
        total += int(ch) * (n + 1 if n <= 6 else n - 5)
    r = total % 11
    return 0 if r <= 1 else 11 - r


def valid_my_number(digits: bytes) -> bool:
    if len(digits) != 12 or not digits.isdigit():
        return False
    text = digits.decode("ascii")
    return my_number_check_digit(text[:11]) == int(text[11])


def parse_single(data: bytes, tag: int, what: str) -> tlv.Tlv:
    """The one element at the start of an EF, which must carry `tag`."""
    try:
        element = tlv.parse(data)
    except tlv.TlvError as exc:
        raise DataError(f"{what}: not a TLV ({exc})") from None
    if element.tag != tag:
        raise DataError(f"{what}: starts with tag {element.tag:X}, expected {tag:X}")
    return element


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
    outer = parse_single(data, 0x7F21, what)
    parts = children(outer, what)
    require_tags(parts, [0x5F4E, 0x5F37], what)
    body, signature = parts[0x5F4E].value, parts[0x5F37].value
    if len(body) != 297:
        raise DataError(f"{what}: body 5F4E is {len(body)} bytes, CI §7.3 says 297")
    if len(signature) != 256:
        raise DataError(f"{what}: signature 5F37 is {len(signature)} bytes, expected 256 (RSA-2048)")
    key = rsa_from_90_91(body[32:], f"{what} public key")
    if key.key_size != 2048:
        raise DataError(f"{what}: the certified key is {key.key_size} bits, expected 2048")
    return CvCertificate(body[:16], body[16:32], key, body, signature)


def key_id_shape_ok(key_id: bytes) -> bool:
    """CI §7.3: 7 ASCII digits + 2 bytes + 3 ASCII digits + 4 padding bytes."""
    return len(key_id) == 16 and key_id[:7].isdigit() and key_id[9:12].isdigit()


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
