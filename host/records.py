"""Data objects shared by the two 券面 APs: RSA public keys as `90`/`91` TLVs and the
card-verifiable certificate `7F21` (CI §7.3).

Parsing only: checking the J-LIS signatures is the verifier's job, which is why every object
keeps the exact bytes it was parsed from.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers

from mynacard.host import tlv
from mynacard.host.errors import CardDataError


def require(children: dict[int, tlv.Tlv], tag: int, where: str) -> tlv.Tlv:
    """The child with `tag`, or `CardDataError` naming where it is missing."""
    try:
        return children[tag]
    except KeyError:
        raise CardDataError(f"{where} has no {tag:X} element") from None


@dataclass(frozen=True)
class RsaPublicKey:
    """`90` e, `91` n (CI §7.1 EF 0006, §7.3, §8 DF12/DF24/DF42)."""

    exponent: int
    modulus: int
    #: The TLVs as sent (what a signature over them covers).
    encoded: bytes

    @classmethod
    def parse(cls, value: bytes, where: str) -> RsaPublicKey:
        try:
            parts = {element.tag: element for element in tlv.iter_tlvs(value)}
        except tlv.TlvError as exc:
            raise CardDataError(f"{where}: the public key is not 90/91 TLVs ({exc})") from exc
        e = require(parts, 0x90, where).value
        n = require(parts, 0x91, where).value
        return cls(int.from_bytes(e, "big"), int.from_bytes(n, "big"), value)

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

    @property
    def issuer_id(self) -> str:
        """The 7 ASCII digits that open a key ID (`5000023` production card-face AP, …)."""
        return self.issuer_key_id[:7].decode("ascii", "replace")

    @classmethod
    def parse(cls, raw: bytes, where: str) -> CvCertificate:
        try:
            outer = tlv.parse(raw)
            if outer.tag != 0x7F21:
                raise CardDataError(f"{where} starts with tag {outer.tag:X}, not 7F21")
            parts = outer.child_map()
        except tlv.TlvError as exc:
            raise CardDataError(f"{where} is not a card-verifiable certificate ({exc})") from exc
        body = require(parts, 0x5F4E, where).value
        signature = require(parts, 0x5F37, where).value
        if len(body) < 33:
            raise CardDataError(f"{where}: the certificate body has only {len(body)} bytes")
        key = RsaPublicKey.parse(body[32:], where)
        return cls(outer.encoded, body, body[:16], body[16:32], key, signature)


def tlv_map(raw: bytes, expected_tag: int, where: str) -> tuple[tlv.Tlv, dict[int, tlv.Tlv]]:
    """The outer element (checked against `expected_tag`) and its children by tag."""
    try:
        outer = tlv.parse(raw)
        if outer.tag != expected_tag:
            raise CardDataError(f"{where} starts with tag {outer.tag:X}, not {expected_tag:X}")
        return outer, outer.child_map()
    except tlv.TlvError as exc:
        raise CardDataError(f"{where} is not well-formed TLV ({exc})") from exc


def ascii_field(element: tlv.Tlv, where: str) -> str:
    try:
        return element.value.decode("ascii")
    except UnicodeDecodeError as exc:
        raise CardDataError(f"{where}: element {element.tag:X} is not ASCII") from exc


def utf8_field(element: tlv.Tlv, where: str) -> str:
    try:
        return element.value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CardDataError(f"{where}: element {element.tag:X} is not UTF-8") from exc


def offset_table_elements(raw: bytes, children: dict[int, tlv.Tlv], first_tag: int,
                          where: str) -> dict[int, tlv.Tlv]:
    """The elements a `DF21` offset table points at (u16 BE offsets from the start of the EF,
    CI §7.2, §8.1), tagged `first_tag`, `first_tag + 1`, … in order.

    Each must be the very element found by walking the TLVs, so a table that disagrees with the
    data (a damaged or tampered EF) is reported rather than silently trusted or ignored.
    """
    table = require(children, 0xDF21, where).value
    if not table or len(table) % 2:
        raise CardDataError(f"{where}: the DF21 offset table has {len(table)} bytes")
    found: dict[int, tlv.Tlv] = {}
    for index in range(len(table) // 2):
        offset = int.from_bytes(table[2 * index : 2 * index + 2], "big")
        tag = first_tag + index
        try:
            element, _end = tlv.parse_one(raw, offset)
        except tlv.TlvError as exc:
            raise CardDataError(f"{where}: DF21 offset {offset} does not point at a TLV "
                                f"({exc})") from exc
        if element.tag != tag or children.get(tag) != element:
            raise CardDataError(f"{where}: DF21 offset {offset} does not point at the {tag:X} "
                                f"element")
        found[tag] = element
    return found

