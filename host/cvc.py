"""Card-verifiable certificates and the signed records of the two 券面 APs (CI §7.1–§8.1).

How trust flows (jpki-system.md §7, "Integrity"):

    pinned CV root key (key ID)  ──signs──►  EF 0004 `7F21` of the AP (certifies the AP's issuer key)
    AP issuer key  ──signs──►  text EF 0003 (integrity record), text EF 0007 (the AP's own key),
                               visual EF 0001 (age record), EF 0002 DF28 (card face), EF 0005
    card / AP key (inside those records)  ──answers──►  `80 2A 00 00` challenge (chip present)

Every record signature is PKCS#1 v1.5 with SHA-256 over the TLVs before it, exactly as written on
the card — except the card face, whose DF28 signs three SHA-256 digests inside one DigestInfo
(`30 71 … 04 60`). A record checked against a key taken from the same card proves nothing, so
`verify_cv_certificate` only accepts keys from the pinned CV roots.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mynacard.host import tlv
from mynacard.host.tlv import Tlv
from mynacard.host.trust import CVRoot

#: SHA-256 AlgorithmIdentifier inside a DigestInfo (CI §6.2).
_SHA256_ALGORITHM = bytes.fromhex("300d06096086480165030402010500")


class RecordInvalid(Exception):
    """A card record or CV certificate is malformed or its signature does not verify."""


# --- TLV access (host.tlv parses; these turn its errors into record errors) --------------------


def _parse(data: bytes, what: str) -> Tlv:
    try:
        return tlv.parse(data)
    except tlv.TlvError as exc:
        raise RecordInvalid(f"{what} is not a well-formed TLV ({exc})") from None


def _fields(value: bytes, what: str) -> list[Tlv]:
    try:
        return list(tlv.iter_tlvs(value))
    except tlv.TlvError as exc:
        raise RecordInvalid(f"{what} holds a malformed field ({exc})") from None


def read_template(data: bytes, tag: int, what: str) -> tuple[Tlv, int]:
    """The outer template of a record file (filler after it ignored) and its header length."""
    if not data:
        raise RecordInvalid(f"{what} is empty")
    outer = _parse(data, what)
    if outer.tag != tag:
        raise RecordInvalid(f"{what} starts with tag {outer.tag:X}, expected {tag:X}")
    return outer, len(outer.encoded) - len(outer.value)


def _get(fields: list[Tlv], tag: int, what: str) -> Tlv:
    for field in fields:
        if field.tag == tag:
            return field
    raise RecordInvalid(f"{what} has no {tag:X} field")


def _before(fields: list[Tlv], tag: int, what: str) -> bytes:
    """The TLVs before `tag`, exactly as written: what a record signature covers."""
    out = b""
    for field in fields:
        if field.tag == tag:
            return out
        out += field.encoded
    raise RecordInvalid(f"{what} has no {tag:X} field")


# --- keys and signatures ------------------------------------------------------------------------


def parse_rsa_key(data: bytes, what: str) -> rsa.RSAPublicKey:
    """An RSA public key as the card writes it: `90` exponent, `91` modulus (CI §7.3)."""
    what = f"the RSA key in {what}"
    parts = {field.tag: field.value for field in _fields(data, what)}
    if 0x90 not in parts or 0x91 not in parts:
        raise RecordInvalid(f"{what} needs a 90 (exponent) and a 91 (modulus) field")
    try:
        return rsa.RSAPublicNumbers(
            int.from_bytes(parts[0x90], "big"), int.from_bytes(parts[0x91], "big")
        ).public_key()
    except ValueError as exc:
        raise RecordInvalid(f"{what} is not usable ({exc})") from exc


def sha256_digest_info(digest: bytes) -> bytes:
    """DER DigestInfo for SHA-256 over `digest` (32 bytes, or 96 for the card face)."""
    inner = _SHA256_ALGORITHM + bytes([0x04, len(digest)]) + digest
    return bytes([0x30, len(inner)]) + inner


def verify_sha256_signature(key: rsa.RSAPublicKey, message: bytes, signature: bytes, what: str) -> None:
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise RecordInvalid(f"the signature of {what} does not verify") from None


def verify_digest_info_signature(key: rsa.RSAPublicKey, digest_info: bytes, signature: bytes, what: str) -> None:
    """PKCS#1 v1.5 whose payload must be exactly `digest_info` (full padding check)."""
    try:
        recovered = key.recover_data_from_signature(signature, padding.PKCS1v15(), None)
    except (InvalidSignature, ValueError):
        raise RecordInvalid(f"the signature of {what} does not verify") from None
    if not hmac.compare_digest(recovered, digest_info):
        raise RecordInvalid(f"the signature of {what} does not match its content")


def same_key(a: rsa.RSAPublicKey, b: rsa.RSAPublicKey) -> bool:
    return a.public_numbers() == b.public_numbers()


# --- CV certificates (CI §7.3) ------------------------------------------------------------------


def key_id_text(key_id: bytes) -> str:
    """`6000023/001`: the two digit groups of a 16-byte key ID, which is what names a key."""
    number = key_id[:7].decode("ascii", "replace")
    group = key_id[9:12].decode("ascii", "replace")
    return f"{number}/{group}"


@dataclass(frozen=True)
class CVCertificate:
    issuer_key_id: bytes
    subject_key_id: bytes
    public_key: rsa.RSAPublicKey
    body: bytes  # the 5F4E value: what 5F37 signs
    signature: bytes


CV_BODY_LENGTH = 16 + 16 + 265


def parse_cv_certificate(data: bytes) -> CVCertificate:
    """Parse `7F21 { 5F4E body, 5F37 signature }`, with or without the 7F21 template."""
    if data[:2] == b"\x7f\x21":
        outer, _ = read_template(data, 0x7F21, "the CV certificate")
        content = outer.value
    else:
        content = data
    fields = _fields(content, "the CV certificate")
    body = _get(fields, 0x5F4E, "the CV certificate").value
    signature = _get(fields, 0x5F37, "the CV certificate").value
    if len(body) != CV_BODY_LENGTH:
        raise RecordInvalid(f"a CV certificate body is {CV_BODY_LENGTH} bytes, this one {len(body)}")
    return CVCertificate(body[:16], body[16:32], parse_rsa_key(body[32:], "the CV certificate"), body, signature)


def verify_cv_certificate(cert: CVCertificate, roots: Mapping[bytes, CVRoot], what: str) -> CVRoot:
    """Check `cert` against the pinned CV root its issuer key ID names; returns that root."""
    root = roots.get(cert.issuer_key_id)
    if root is None:
        raise RecordInvalid(
            f"{what} is issued by CV key {key_id_text(cert.issuer_key_id)}, which is not a pinned CV root"
        )
    verify_sha256_signature(root.public_key, cert.body, cert.signature, what)
    return root


# --- 券面事項入力補助AP (text AP, CI §7) ---------------------------------------------------------


@dataclass(frozen=True)
class TextAttributes:
    """EF 0002: the four facts as the chip stores them."""

    name: str
    address: str
    birth: str  # YYYYMMDD
    sex: str  # one digit
    digest_source: bytes  # the FF20 value after the DF21 table: what EF 0003 DF32 hashes


def parse_my_number_file(data: bytes) -> str:
    """EF 0001: `FF 10 0C` + 12 ASCII digits (+ `FF FF` filler)."""
    outer, _ = read_template(data, 0xFF10, "the My Number file (text EF 0001)")
    digits = outer.value.decode("ascii", "replace")
    if len(digits) != 12 or not digits.isdigit():
        raise RecordInvalid("the My Number file does not hold 12 digits")
    return digits


def _check_offsets(table: bytes, starts: list[int], what: str) -> None:
    if len(table) != 2 * len(starts):
        raise RecordInvalid(f"the offset table of {what} has {len(table) // 2} entries for {len(starts)} fields")
    for i, start in enumerate(starts):
        declared = int.from_bytes(table[2 * i:2 * i + 2], "big")
        if declared != start:
            raise RecordInvalid(f"the offset table of {what} puts field {i + 1} at {declared}, it is at {start}")


def _fields_with_table(data: bytes, tag: int, table_tag: int, what: str) -> tuple[Tlv, Tlv, list[Tlv]]:
    """(outer template, offset table, fields) of a `FF20` file; the table's u16 offsets from the
    start of the file are checked against where the fields really are."""
    outer, offset = read_template(data, tag, what)
    items = _fields(outer.value, what)
    if not items or items[0].tag != table_tag:
        raise RecordInvalid(f"{what} does not start with its {table_tag:X} offset table")
    table, fields = items[0], items[1:]
    offset += len(table.encoded)
    starts = []
    for field in fields:
        starts.append(offset)
        offset += len(field.encoded)
    count = len(table.value) // 2
    _check_offsets(table.value, starts[:count], what)
    return outer, table, fields


def parse_text_attributes(data: bytes) -> TextAttributes:
    """EF 0002 of the text AP (CI §7.2), its DF21 offset table checked against the fields."""
    what = "the four-facts file (text EF 0002)"
    outer, table, fields = _fields_with_table(data, 0xFF20, 0xDF21, what)

    def text(tag: int, label: str) -> str:
        try:
            return _get(fields, tag, what).value.decode("utf-8")
        except UnicodeDecodeError:
            raise RecordInvalid(f"{label} in {what} is not UTF-8") from None

    return TextAttributes(
        name=text(0xDF22, "the name"),
        address=text(0xDF23, "the address"),
        birth=text(0xDF24, "the birth date"),
        sex=text(0xDF25, "the sex"),
        digest_source=outer.value[len(table.encoded):],
    )


@dataclass(frozen=True)
class IntegrityCheck:
    """What EF 0003 vouched for; None where the file could not be read with the secret given."""

    my_number_file: bool | None
    attributes_file: bool | None


def verify_text_integrity(
    record: bytes,
    issuer_key: rsa.RSAPublicKey,
    *,
    my_number_physical: bytes | None = None,
    attributes: TextAttributes | None = None,
) -> IntegrityCheck:
    """EF 0003 (CI §7.1): signature over DF31+DF32, DF31 = SHA-256 of EF 0001's 17 physical
    bytes, DF32 = SHA-256 of EF 0002 after the DF21 table. Raises on any mismatch."""
    what = "the integrity record (text EF 0003)"
    outer, _ = read_template(record, 0xFF30, what)
    fields = _fields(outer.value, what)
    verify_sha256_signature(issuer_key, _before(fields, 0xDF33, what), _get(fields, 0xDF33, what).value, what)
    my_number_ok = attributes_ok = None
    if my_number_physical is not None:
        if hashlib.sha256(my_number_physical).digest() != _get(fields, 0xDF31, what).value:
            raise RecordInvalid("the My Number file (text EF 0001) does not match its signed digest in EF 0003")
        my_number_ok = True
    if attributes is not None:
        if hashlib.sha256(attributes.digest_source).digest() != _get(fields, 0xDF32, what).value:
            raise RecordInvalid("the four-facts file (text EF 0002) does not match its signed digest in EF 0003")
        attributes_ok = True
    return IntegrityCheck(my_number_ok, attributes_ok)


def verify_signed_ap_key(record: bytes, issuer_key: rsa.RSAPublicKey) -> rsa.RSAPublicKey:
    """Text EF 0007 `FF50 { DF51 key, DF52 signature over DF51 }`: the AP key that answers
    `80 2A 00 00` challenges."""
    what = "the AP key record (text EF 0007)"
    outer, _ = read_template(record, 0xFF50, what)
    fields = _fields(outer.value, what)
    verify_sha256_signature(issuer_key, _before(fields, 0xDF52, what), _get(fields, 0xDF52, what).value, what)
    return parse_rsa_key(_get(fields, 0xDF51, what).value, what)


# --- 券面事項確認AP (visual AP, CI §8) -----------------------------------------------------------


@dataclass(frozen=True)
class CardFace:
    """EF 0002 of the visual AP (CI §8.1)."""

    birth: str  # DF22 YYYYMMDD
    sex: str  # DF23
    card_key: rsa.RSAPublicKey  # DF24
    name_image: bytes  # DF25 PNG
    address_image: bytes  # DF26 PNG
    photo: bytes  # DF27 JPEG 2000 (JP2)
    signature: bytes  # DF28
    expiry: str | None  # DF29 YYYYMMDD, not covered by the signature
    security_code_image: bytes | None  # DF2A PNG, not covered
    signed_digest_info: bytes  # what DF28 must carry


def parse_card_face(data: bytes) -> CardFace:
    what = "the card face (visual EF 0002)"
    _, _, fields = _fields_with_table(data, 0xFF20, 0xDF21, what)

    def raw(*tags: int) -> bytes:
        return b"".join(_get(fields, tag, what).encoded for tag in tags)

    digests = b"".join(
        hashlib.sha256(part).digest()
        for part in (raw(0xDF22, 0xDF23, 0xDF24), raw(0xDF25, 0xDF26), raw(0xDF27))
    )
    optional = {field.tag: field.value for field in fields}
    expiry = optional.get(0xDF29)
    return CardFace(
        birth=_get(fields, 0xDF22, what).value.decode("ascii", "replace"),
        sex=_get(fields, 0xDF23, what).value.decode("ascii", "replace"),
        card_key=parse_rsa_key(_get(fields, 0xDF24, what).value, what),
        name_image=_get(fields, 0xDF25, what).value,
        address_image=_get(fields, 0xDF26, what).value,
        photo=_get(fields, 0xDF27, what).value,
        signature=_get(fields, 0xDF28, what).value,
        expiry=expiry.decode("ascii", "replace") if expiry is not None else None,
        security_code_image=optional.get(0xDF2A),
        signed_digest_info=sha256_digest_info(digests),
    )


def verify_card_face(face: CardFace, issuer_key: rsa.RSAPublicKey) -> None:
    """DF28 over SHA-256(DF22+DF23+DF24) ‖ SHA-256(DF25+DF26) ‖ SHA-256(DF27) (CI §8.1)."""
    verify_digest_info_signature(issuer_key, face.signed_digest_info, face.signature, "the card face (visual EF 0002)")


@dataclass(frozen=True)
class AgeRecord:
    birth: str
    card_key: rsa.RSAPublicKey


def verify_age_record(record: bytes, issuer_key: rsa.RSAPublicKey) -> AgeRecord:
    """Visual EF 0001 `FF10 { DF11 birth, DF12 card key, DF13 signature }` (CI §8)."""
    what = "the age record (visual EF 0001)"
    outer, _ = read_template(record, 0xFF10, what)
    fields = _fields(outer.value, what)
    verify_sha256_signature(issuer_key, _before(fields, 0xDF13, what), _get(fields, 0xDF13, what).value, what)
    return AgeRecord(
        _get(fields, 0xDF11, what).value.decode("ascii", "replace"),
        parse_rsa_key(_get(fields, 0xDF12, what).value, what),
    )


@dataclass(frozen=True)
class MyNumberImage:
    png: bytes
    card_key: rsa.RSAPublicKey


def verify_my_number_image(record: bytes, issuer_key: rsa.RSAPublicKey) -> MyNumberImage:
    """Visual EF 0005 `FF40 { DF41 PNG, DF42 card key, DF43 signature }` (CI §8)."""
    what = "the My Number image record (visual EF 0005)"
    outer, _ = read_template(record, 0xFF40, what)
    fields = _fields(outer.value, what)
    verify_sha256_signature(issuer_key, _before(fields, 0xDF43, what), _get(fields, 0xDF43, what).value, what)
    return MyNumberImage(_get(fields, 0xDF41, what).value, parse_rsa_key(_get(fields, 0xDF42, what).value, what))


# --- chip presence ------------------------------------------------------------------------------


def presence_digest_info(challenge: bytes) -> bytes:
    """What `80 2A 00 00` is sent for a challenge: the SHA-256 DigestInfo of it (CI §7.1)."""
    return sha256_digest_info(hashlib.sha256(challenge).digest())


def verify_presence(key: rsa.RSAPublicKey, challenge: bytes, signature: bytes, what: str) -> None:
    """The chip signed our fresh challenge with the key its verified record names."""
    verify_sha256_signature(key, challenge, signature, f"the challenge answered by {what}")
