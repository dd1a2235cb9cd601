"""Each private key of a card image against the certificate the image holds for it.

A card whose private key does not belong to its certificate signs what no verifier accepts, and
an image that pairs them wrongly is a broken image, not a card: it is refused when loaded or
written, with a sentence naming the key file and the certificate's file. The pairs are where
personalisation puts them (register_stub/personalise.py):

- JPKI `auth` / `sign` against the X.509 certificates in EF 000A / 0001 (CI §6.1);
- the common AP's `internal-auth` key against the card's CV certificate, MF object 7F21 (CI §10).

The public halves inside the 券面 APs' signed records (text EF 0007 `DF51`, visual `DF24`, …) are
not certificates and are deliberately not paired: genuine records on a chip with another key are
exactly a copied card, which the clerk check must detect (tests/host_verify), so the card model
must be able to hold one.

The card model interprets no EF, so an EF that holds no certificate (empty, filler, a test
pattern) declares nothing and is not checked. An X.509 certificate is recognised by its DER
SEQUENCE header; the key of a CV certificate by the card's RSA key encoding
`90 03 01 00 01 91 82 01 00 <n>` (CI §7.3).
"""

from __future__ import annotations

from collections.abc import Mapping

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.applet_model.errors import ImageError

#: The start of an RSA-2048 public key with exponent 65537 in the card's own encoding (CI §7.3).
_CARD_KEY_HEADER = bytes.fromhex("900301000191820100")
_MODULUS_SIZE = 256

#: (application, key) → (application, EF) where its X.509 certificate lives.
CERTIFICATES: Mapping[tuple[str, str], tuple[str, int]] = {
    ("jpki", "auth"): ("jpki", 0x000A),
    ("jpki", "sign"): ("jpki", 0x0001),
}

#: (application, key) → the MF object holding its CV certificate's contents (CI §10).
CV_CERTIFICATES: Mapping[tuple[str, str], int] = {
    ("common", "internal-auth"): 0x7F21,
}


def card_key_encoding(key: rsa.RSAPublicKey) -> bytes:
    """The public key as the card writes it: `90 <e> 91 82 01 00 <n>` (CI §7.3)."""
    numbers = key.public_numbers()
    exponent = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
    return bytes((0x90, len(exponent))) + exponent + b"\x91\x82\x01\x00" + numbers.n.to_bytes(_MODULUS_SIZE, "big")


def declared_card_keys(content: bytes) -> set[bytes]:
    """Every RSA-2048 public key (exponent 65537) that `content` shows in the card's encoding."""
    found: set[bytes] = set()
    start = content.find(_CARD_KEY_HEADER)
    while start >= 0:
        end = start + len(_CARD_KEY_HEADER) + _MODULUS_SIZE
        if end <= len(content):
            found.add(content[start:end])
        start = content.find(_CARD_KEY_HEADER, start + 1)
    return found


def check_certificate(key: rsa.RSAPrivateKey, content: bytes, what: str, where: str) -> None:
    """Raise ImageError unless `content` holds no certificate or one for `key`."""
    if not content.startswith(b"\x30"):
        return  # no certificate in this EF (not issued, or a placeholder)
    try:
        certificate = x509.load_der_x509_certificate(content[:_der_size(content)])
        public = certificate.public_key()
    except ValueError:
        raise ImageError(f"{where} starts like a certificate but is not a readable X.509 certificate") from None
    if not isinstance(public, rsa.RSAPublicKey) or public.public_numbers() != key.public_key().public_numbers():
        raise ImageError(f"{what} does not match the certificate in {where}: the certificate is for another key")


def check_cv_certificate(key: rsa.RSAPrivateKey, content: bytes, what: str, where: str) -> None:
    """Raise ImageError if `content` certifies a card key and it is not `key`'s public half."""
    declared = declared_card_keys(content)
    if declared and card_key_encoding(key.public_key()) not in declared:
        raise ImageError(f"{what} does not match the CV certificate in {where}: the certificate is for another key")


def _der_size(content: bytes) -> int:
    """Size of the DER object at the start of `content` (EFs are padded after it, CI §4)."""
    if len(content) < 2:
        return len(content)
    first = content[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 4 or len(content) < 2 + count:
        return len(content)
    return 2 + count + int.from_bytes(content[2:2 + count], "big")
