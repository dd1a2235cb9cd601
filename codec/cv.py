"""The card-verifiable certificate layout (CI §7.3) and the card's RSA key encoding (CI §7.1, §8).

    7F 21 82 02 33
      5F 4E 82 01 29   body, 297 bytes = issuer key ID (16) + subject key ID (16)
                                         + 90 03 01 00 01 91 82 01 00 <n, 256 bytes>
      5F 37 82 01 00   PKCS#1 v1.5 SHA-256 signature over the 297-byte body

The same layout is in EF 0004 of both 券面 APs and in the MF objects `00F8` and `7F21` (CI §10,
where GET DATA returns the template's contents without `7F 21 LL`). Key ID = 7 ASCII digits +
`08 05` + 3 ASCII digits + 4 padding bytes.

Only the layout lives here: the authority (ca) signs, the host verifies against pinned roots, the
conformance suite checks shapes — each with its own policy over these parsed bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from mynacard.codec import tlv
from mynacard.codec.errors import CodecError

KEY_ID_LENGTH = 16
KEY_ID_MARKER = b"\x08\x05"
#: 16 + 16 + the 265-byte RSA-2048 key encoding.
BODY_LENGTH = 297
TAG_CERTIFICATE = 0x7F21
TAG_BODY = 0x5F4E
TAG_SIGNATURE = 0x5F37
TAG_EXPONENT = 0x90
TAG_MODULUS = 0x91


def key_id_shape_ok(key_id: bytes) -> bool:
    """7 ASCII digits + 2 bytes + 3 ASCII digits + 4 padding bytes (CI §7.3)."""
    return len(key_id) == KEY_ID_LENGTH and key_id[:7].isdigit() and key_id[9:12].isdigit()


def key_id_text(key_id: bytes) -> str:
    """`6000023/001`: the two digit groups of a 16-byte key ID, which is what names a key."""
    number = key_id[:7].decode("ascii", "replace")
    group = key_id[9:12].decode("ascii", "replace")
    return f"{number}/{group}"


@dataclass(frozen=True)
class RsaKeyFields:
    """`90` e, `91` n as the card stores an RSA public key; `encoded` is the TLVs as found."""

    exponent: int
    modulus: int
    encoded: bytes


def decode_rsa_key(value: bytes) -> RsaKeyFields:
    """The `90`/`91` TLVs (in either order) of a card RSA key."""
    try:
        fields = {element.tag: element.value for element in tlv.iter_tlvs(value)}
    except tlv.TlvError as exc:
        raise CodecError(f"the public key is not 90/91 TLVs ({exc})") from None
    if TAG_EXPONENT not in fields or TAG_MODULUS not in fields:
        raise CodecError("an RSA key on the card needs tag 90 (exponent) and 91 (modulus)")
    return RsaKeyFields(int.from_bytes(fields[TAG_EXPONENT], "big"),
                        int.from_bytes(fields[TAG_MODULUS], "big"), bytes(value))


def encode_rsa_key(exponent: int, modulus: int, modulus_bytes: int) -> bytes:
    """`90 03 <e> 91 82 01 00 <n>`: the 265-byte encoding of an RSA-2048 key (CI §7.3)."""
    return tlv.encode(TAG_EXPONENT, exponent.to_bytes(3, "big")) + tlv.encode(
        TAG_MODULUS, modulus.to_bytes(modulus_bytes, "big"))


@dataclass(frozen=True)
class CvFields:
    """A parsed CV certificate: the signed body and its parts, and the signature."""

    #: The 297 bytes the signature covers (the `5F4E` value).
    body: bytes
    issuer_key_id: bytes
    subject_key_id: bytes
    key: RsaKeyFields
    signature: bytes
    #: The bytes parsed: the whole `7F21` template, or its contents (`parse_contents`).
    encoded: bytes


def parse_contents(data: bytes) -> CvFields:
    """`5F4E …` + `5F37 …`: a certificate without its `7F21` template (GET DATA at MF, CI §10)."""
    try:
        fields = {element.tag: element for element in tlv.iter_tlvs(data)}
    except tlv.TlvError as exc:
        raise CodecError(f"a CV certificate is not well-formed TLV ({exc})") from None
    body, signature = fields.get(TAG_BODY), fields.get(TAG_SIGNATURE)
    if body is None or signature is None:
        raise CodecError("a CV certificate needs a 5F4E body and a 5F37 signature")
    if len(body.value) != BODY_LENGTH:
        raise CodecError(f"a CV certificate body is {BODY_LENGTH} bytes, this one {len(body.value)}")
    end = max(body.offset + len(body.encoded), signature.offset + len(signature.encoded))
    b = body.value
    return CvFields(b, b[:KEY_ID_LENGTH], b[KEY_ID_LENGTH:2 * KEY_ID_LENGTH],
                    decode_rsa_key(b[2 * KEY_ID_LENGTH:]), signature.value, bytes(data[:end]))


def parse_certificate(data: bytes) -> CvFields:
    """A `7F21` template (EF 0004, CI §7.3); filler after it is ignored."""
    try:
        outer = tlv.parse_tagged(data, TAG_CERTIFICATE)
    except tlv.TlvError as exc:
        raise CodecError(f"a CV certificate {exc}") from None
    inner = parse_contents(outer.value)
    return CvFields(inner.body, inner.issuer_key_id, inner.subject_key_id, inner.key,
                    inner.signature, outer.encoded)


def encode_contents(body: bytes, signature: bytes) -> bytes:
    """`5F4E …` + `5F37 …` (what GET DATA `00F8`/`7F21` returns at MF level, CI §10)."""
    return tlv.encode(TAG_BODY, body) + tlv.encode(TAG_SIGNATURE, signature)


def encode_certificate(body: bytes, signature: bytes) -> bytes:
    """The full `7F 21 82 02 33 …` template, 568 bytes for RSA-2048, as in EF 0004."""
    return tlv.encode(TAG_CERTIFICATE, encode_contents(body, signature))
