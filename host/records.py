"""The records of the two 券面 APs (CI §7.1–§8.1) and their card-verifiable certificate (CI §7.3),
parsed from the bytes the card sent — one parser per layout.

The typed card API (text.py, visual.py) returns these objects and the verifier (cvc.py) checks
them; nothing else parses these layouts. Parsing checks structure only (tags, the DF21 offset
tables, text encodings, RSA keys); the J-LIS signatures are cvc.py's job. So that everything a
verifier compares comes from the bytes whose signature it checked, each object holds its values
*and* the exact TLV encodings its signature covers (`signed_part`, `signed_parts`), both taken
from the same parse (host/tlv.py keeps every element's encoding as found).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from typing import ClassVar

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers

from mynacard.codec import cv, my_number, tlv
from mynacard.codec.digest_info import sha256_digest_info
from mynacard.codec.errors import CodecError
from mynacard.host.errors import CardDataError

#: JIS X 0303 sex codes as the records store them (CI §7.2).
SEX_LABELS = {"1": "male", "2": "female", "9": "not applicable", "0": "unknown"}


class RecordInvalid(CardDataError):
    """A record or CV certificate of a 券面 AP is malformed, or (raised by cvc.py) its signature
    or signed digest does not match: the card answered 9000 with bytes that cannot be trusted."""


# --- TLV access ---------------------------------------------------------------------------------


def require(children: dict[int, tlv.Tlv], tag: int, where: str) -> tlv.Tlv:
    """The child with `tag`, or `RecordInvalid` naming where it is missing."""
    try:
        return children[tag]
    except KeyError:
        raise RecordInvalid(f"{where} has no {tag:X} element") from None


def tlv_map(raw: bytes, expected_tag: int, where: str) -> tuple[tlv.Tlv, dict[int, tlv.Tlv]]:
    """The outer element (checked against `expected_tag`; filler after it ignored) and its
    children by tag."""
    try:
        outer = tlv.parse_tagged(raw, expected_tag)
        return outer, outer.child_map()
    except tlv.TlvError as exc:
        raise RecordInvalid(f"{where} is not the expected TLV: it {exc}") from exc


def ascii_field(element: tlv.Tlv, where: str) -> str:
    try:
        return element.value.decode("ascii")
    except UnicodeDecodeError as exc:
        raise RecordInvalid(f"{where}: element {element.tag:X} is not ASCII") from exc


def utf8_field(element: tlv.Tlv, where: str) -> str:
    try:
        return element.value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordInvalid(f"{where}: element {element.tag:X} is not UTF-8") from exc


def offset_table_elements(raw: bytes, children: dict[int, tlv.Tlv], first_tag: int,
                          where: str) -> dict[int, tlv.Tlv]:
    """The elements a `DF21` offset table points at (u16 BE offsets from the start of the EF,
    CI §7.2, §8.1), tagged `first_tag`, `first_tag + 1`, … in order.

    `children` are the elements of the outer object at the start of `raw`, in the order found
    by walking the TLVs; each offset must be where that walk found its element, so a table that
    disagrees with the data (a damaged or tampered EF) is reported rather than silently trusted
    or ignored.
    """
    table = require(children, 0xDF21, where).value
    if not table or len(table) % 2:
        raise RecordInvalid(f"{where}: the DF21 offset table has {len(table)} bytes")
    _tag, position, _length = tlv.header(raw)
    starts: dict[int, int] = {}
    for tag, child in children.items():  # in the order they were found
        starts[tag] = position
        position += len(child.encoded)
    found: dict[int, tlv.Tlv] = {}
    for index in range(len(table) // 2):
        offset = int.from_bytes(table[2 * index : 2 * index + 2], "big")
        tag = first_tag + index
        if starts.get(tag) != offset:
            actual = f"at offset {starts[tag]}" if tag in starts else "missing"
            raise RecordInvalid(f"{where}: offset {offset} in the DF21 offset table does not "
                                f"point at the {tag:X} element, which is {actual}")
        found[tag] = children[tag]
    return found


def table_first_file(raw: bytes, where: str) -> tuple[bytes, dict[int, tlv.Tlv], dict[int, tlv.Tlv]]:
    """An `FF 20` file that opens with its DF21 offset table (CI §7.2, §8.1): the outer value
    after the table, the elements by tag, and those the table points at (DF22 on)."""
    outer, children = tlv_map(raw, 0xFF20, where)
    located = offset_table_elements(raw, children, 0xDF22, where)
    table = children[0xDF21].encoded
    if not outer.value.startswith(table):
        raise RecordInvalid(f"{where}: the DF21 offset table is not the first element")
    return outer.value[len(table):], children, located


# --- keys and CV certificates (CI §7.3) ---------------------------------------------------------


@dataclass(frozen=True)
class RsaPublicKey:
    """`90` e, `91` n (CI §7.1 EF 0006/0007, §7.3, §8 DF12/DF24/DF42). Two keys are equal when
    their numbers are, however they were encoded."""

    exponent: int
    modulus: int
    #: The TLVs as sent (what a signature over them covers).
    encoded: bytes = field(compare=False)

    @classmethod
    def parse(cls, value: bytes, where: str) -> RsaPublicKey:
        try:
            fields = cv.decode_rsa_key(value)
        except CodecError as exc:
            raise RecordInvalid(f"{where}: {exc}") from exc
        key = cls(fields.exponent, fields.modulus, fields.encoded)
        try:
            key.to_cryptography()
        except ValueError as exc:
            raise RecordInvalid(f"{where}: the public key is not a usable RSA key ({exc})") from exc
        return key

    def to_cryptography(self) -> RSAPublicKey:
        return RSAPublicNumbers(self.exponent, self.modulus).public_key()

    @property
    def bits(self) -> int:
        return self.modulus.bit_length()


@dataclass(frozen=True)
class CvCertificate:
    """`7F21` { `5F4E` body (issuer key ID 16, subject key ID 16, RSA key), `5F37` signature }."""

    raw: bytes
    #: The 297-byte body the signature covers.
    body: bytes
    issuer_key_id: bytes
    subject_key_id: bytes
    public_key: RsaPublicKey
    #: PKCS#1 v1.5 SHA-256 over `body`, by the CA key (not on the card).
    signature: bytes

    @classmethod
    def parse(cls, raw: bytes, where: str) -> CvCertificate:
        try:
            fields = cv.parse_certificate(raw)
        except CodecError as exc:
            raise RecordInvalid(f"{where}: {exc}") from exc
        key = RsaPublicKey.parse(fields.key.encoded, where)
        return cls(fields.encoded, fields.body, fields.issuer_key_id, fields.subject_key_id, key,
                   fields.signature)


# --- records signed by the AP's issuer key (CI §7.1, §8) ----------------------------------------


@dataclass(frozen=True, kw_only=True)
class SignedRecord:
    """A record whose last element is the issuer key's signature over the TLVs before it:
    text EF 0003 and 0007, card-face EF 0001 and 0005 (CI §7.1, §8)."""

    WHERE: ClassVar[str]

    signature: bytes
    #: The whole object as read.
    raw: bytes
    #: The TLVs before the signature, exactly as written: the signed message.
    signed_part: bytes

    @classmethod
    def _parse_layout(cls, raw: bytes, outer_tag: int,
                      *tags: int) -> tuple[list[tlv.Tlv], dict[str, bytes]]:
        """The elements `tags` but the last, which is the signature, and the fields every
        signed record has."""
        outer, children = tlv_map(raw, outer_tag, cls.WHERE)
        elements = [require(children, tag, cls.WHERE) for tag in tags]
        signed_part = b""
        for child in outer.children():
            if child.tag == tags[-1]:
                break
            signed_part += child.encoded
        return elements[:-1], {"signature": elements[-1].value, "raw": raw,
                               "signed_part": signed_part}


# --- 券面事項入力補助AP (text AP, CI §7.1, §7.2) ------------------------------------------------


@dataclass(frozen=True)
class MyNumberRecord:
    """EF 0001: `FF 10 0C` + 12 ASCII digits + `FF FF` filler."""

    WHERE: ClassVar[str] = "the My Number (card-info AP EF 0001)"

    number: str
    #: The 17 bytes of EF 0001 as stored, which `IntegrityRecord.my_number_digest` covers.
    physical: bytes

    @classmethod
    def parse(cls, physical: bytes) -> MyNumberRecord:
        try:
            element = tlv.parse(physical)
        except tlv.TlvError as exc:
            raise RecordInvalid(f"{cls.WHERE} is not a TLV ({exc})") from exc
        number = ascii_field(element, cls.WHERE)
        if element.tag != 0xFF10 or len(number) != 12 or not number.isdigit():
            raise RecordInvalid(f"{cls.WHERE} does not hold FF 10 0C and 12 digits")
        return cls(number, physical)

    @property
    def check_digit_valid(self) -> bool:
        return my_number.is_valid(self.number)


@dataclass(frozen=True)
class FourFacts:
    """基本4情報, EF 0002, located through its DF21 offset table (CI §7.2)."""

    WHERE: ClassVar[str] = "the four facts (card-info AP EF 0002)"

    name: str
    address: str
    #: "YYYYMMDD", Gregorian.
    birth_date: str
    #: "1" male, "2" female, "9" not applicable, "0" unknown.
    sex: str
    #: The whole `FF 20` object as read.
    raw: bytes
    #: `DF22…` to the end of the outer value: what `IntegrityRecord.four_facts_digest` covers.
    signed_part: bytes

    @classmethod
    def parse(cls, raw: bytes) -> FourFacts:
        where = cls.WHERE
        after_table, _children, located = table_first_file(raw, where)
        if len(located) != 4:
            raise RecordInvalid(f"{where}: the DF21 offset table points at {len(located)} "
                                f"elements, not 4")
        return cls(name=utf8_field(located[0xDF22], where),
                   address=utf8_field(located[0xDF23], where),
                   birth_date=ascii_field(located[0xDF24], where),
                   sex=ascii_field(located[0xDF25], where),
                   raw=raw,
                   signed_part=after_table)

    @property
    def sex_label(self) -> str:
        return SEX_LABELS.get(self.sex, f"code {self.sex}")

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "address": self.address, "birth_date": self.birth_date,
                "sex": self.sex}


@dataclass(frozen=True, kw_only=True)
class IntegrityRecord(SignedRecord):
    """EF 0003 `FF 30` { DF31 SHA-256 of EF 0001, DF32 SHA-256 of the four facts, DF33 RSA
    signature over the DF31+DF32 TLVs } (CI §7.1)."""

    WHERE: ClassVar[str] = "the integrity record (card-info AP EF 0003)"

    my_number_digest: bytes
    four_facts_digest: bytes

    @classmethod
    def parse(cls, raw: bytes) -> IntegrityRecord:
        (df31, df32), signed = cls._parse_layout(raw, 0xFF30, 0xDF31, 0xDF32, 0xDF33)
        return cls(my_number_digest=df31.value, four_facts_digest=df32.value, **signed)


@dataclass(frozen=True, kw_only=True)
class ApKeyRecord(SignedRecord):
    """EF 0007 `FF 50` { DF51 this AP's signing public key, DF52 issuer signature over DF51 };
    the key answers `80 2A 00 00` challenges (CI §7.1)."""

    WHERE: ClassVar[str] = "the AP key record (card-info AP EF 0007)"

    public_key: RsaPublicKey

    @classmethod
    def parse(cls, raw: bytes) -> ApKeyRecord:
        (df51,), signed = cls._parse_layout(raw, 0xFF50, 0xDF51, 0xDF52)
        return cls(public_key=RsaPublicKey.parse(df51.value, cls.WHERE), **signed)


@dataclass(frozen=True)
class BasicInfo:
    """An AP's basic-info EF: text EF 0005 `FF 40` (CI §7.1); elements by tag."""

    WHERE: ClassVar[str] = "the card-info AP basic info (EF 0005)"

    raw: bytes
    elements: dict[int, bytes]

    @classmethod
    def parse(cls, raw: bytes) -> BasicInfo:
        _outer, children = tlv_map(raw, 0xFF40, cls.WHERE)
        return cls(raw, {tag: element.value for tag, element in children.items()})


# --- 券面事項確認AP (card-face AP, CI §8, §8.1) ---------------------------------------------------


@dataclass(frozen=True)
class CardFace:
    """EF 0002 (CI §8.1)."""

    WHERE: ClassVar[str] = "the card face (card-face AP EF 0002)"

    #: "YYYYMMDD".
    birth_date: str
    sex: str
    #: The card key (DF24); the same key signs `80 2A 00 00` challenges.
    public_key: RsaPublicKey
    name_png: bytes
    address_png: bytes
    photo_jp2: bytes
    #: DF28: RSA over `signed_digest_info` (CI §8.1).
    signature: bytes
    #: "YYYYMMDD"; after the signature, so not covered by it.
    expiry: str
    #: 24×12 PNG; not covered by the signature.
    security_code_png: bytes
    raw: bytes
    #: Every element by tag, with its exact encoding.
    elements: dict[int, tlv.Tlv]

    @classmethod
    def parse(cls, raw: bytes) -> CardFace:
        where = cls.WHERE
        _after_table, e, _located = table_first_file(raw, where)
        for tag in range(0xDF21, 0xDF2B):
            require(e, tag, where)
        return cls(
            birth_date=ascii_field(e[0xDF22], where),
            sex=ascii_field(e[0xDF23], where),
            public_key=RsaPublicKey.parse(e[0xDF24].value, where),
            name_png=e[0xDF25].value,
            address_png=e[0xDF26].value,
            photo_jp2=e[0xDF27].value,
            signature=e[0xDF28].value,
            expiry=ascii_field(e[0xDF29], where),
            security_code_png=e[0xDF2A].value,
            raw=raw,
            elements=e,
        )

    @property
    def sex_label(self) -> str:
        return SEX_LABELS.get(self.sex, f"code {self.sex}")

    @property
    def signed_parts(self) -> tuple[bytes, bytes, bytes]:
        """(DF22+DF23+DF24, DF25+DF26, DF27) TLV encodings: each is hashed with SHA-256 and the
        three digests, concatenated, form the signed DigestInfo (CI §8.1)."""
        e = self.elements
        return (e[0xDF22].encoded + e[0xDF23].encoded + e[0xDF24].encoded,
                e[0xDF25].encoded + e[0xDF26].encoded,
                e[0xDF27].encoded)

    @property
    def signed_digest_info(self) -> bytes:
        """What DF28 must carry: `30 71 … 04 60` and the three digests of `signed_parts`."""
        return sha256_digest_info(b"".join(hashlib.sha256(part).digest()
                                           for part in self.signed_parts))

    def photo_png(self) -> bytes:
        """The JPEG 2000 photo converted to PNG, for screens that cannot show JP2."""
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(self.photo_jp2)) as image:
                out = io.BytesIO()
                image.save(out, format="PNG")
        except (UnidentifiedImageError, OSError) as exc:
            raise CardDataError(f"the card-face photo (DF27) is not a readable JPEG 2000 image "
                                f"({exc})") from exc
        return out.getvalue()


@dataclass(frozen=True, kw_only=True)
class AgeRecord(SignedRecord):
    """EF 0001 `FF 10` { DF11 birth date, DF12 card key, DF13 signature over DF11+DF12 }."""

    WHERE: ClassVar[str] = "the age record (card-face AP EF 0001)"

    birth_date: str
    public_key: RsaPublicKey

    @classmethod
    def parse(cls, raw: bytes) -> AgeRecord:
        (df11, df12), signed = cls._parse_layout(raw, 0xFF10, 0xDF11, 0xDF12, 0xDF13)
        return cls(birth_date=ascii_field(df11, cls.WHERE),
                   public_key=RsaPublicKey.parse(df12.value, cls.WHERE), **signed)


@dataclass(frozen=True, kw_only=True)
class MyNumberImage(SignedRecord):
    """EF 0005 `FF 40` { DF41 PNG of the My Number, DF42 key, DF43 signature over DF41+DF42 }."""

    WHERE: ClassVar[str] = "the My Number image (card-face AP EF 0005)"

    png: bytes
    public_key: RsaPublicKey

    @classmethod
    def parse(cls, raw: bytes) -> MyNumberImage:
        (df41, df42), signed = cls._parse_layout(raw, 0xFF40, 0xDF41, 0xDF42, 0xDF43)
        return cls(png=df41.value, public_key=RsaPublicKey.parse(df42.value, cls.WHERE), **signed)


@dataclass(frozen=True)
class VisualBasicInfo:
    """EF 0003 `FF 30` { DF31 id bytes, DF32 key ID, DF33 version, DF34 municipality code,
    DF35 … } (CI §8)."""

    WHERE: ClassVar[str] = "the card-face AP basic info (EF 0003)"

    municipality_code: str
    raw: bytes
    elements: dict[int, bytes]

    @classmethod
    def parse(cls, raw: bytes) -> VisualBasicInfo:
        _outer, e = tlv_map(raw, 0xFF30, cls.WHERE)
        code = ascii_field(require(e, 0xDF34, cls.WHERE), cls.WHERE)
        return cls(code, raw, {tag: element.value for tag, element in e.items()})
