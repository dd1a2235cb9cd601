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
pattern) declares nothing and is not checked. A certificate is recognised by its first bytes — an
X.509 certificate by its DER SEQUENCE `30`, CV certificate contents by their body tag `5F 4E` — and
then it must be readable and be for the key. The layouts are read by the codec (tlv, cv).
"""

from __future__ import annotations

from collections.abc import Mapping

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.applet_model.errors import ImageError
from mynacard.codec import cv, tlv
from mynacard.codec.errors import CodecError

#: How an X.509 certificate (a DER SEQUENCE) and CV certificate contents (CI §7.3, §10) begin.
_X509_START = b"\x30"
_CV_CONTENTS_START = tlv.encode_tag(cv.TAG_BODY)

#: (application, key) → (application, EF) where its X.509 certificate lives.
CERTIFICATES: Mapping[tuple[str, str], tuple[str, int]] = {
    ("jpki", "auth"): ("jpki", 0x000A),
    ("jpki", "sign"): ("jpki", 0x0001),
}

#: (application, key) → the MF object holding its CV certificate's contents (CI §10).
CV_CERTIFICATES: Mapping[tuple[str, str], int] = {
    ("common", "internal-auth"): 0x7F21,
}


def check_certificate(key: rsa.RSAPrivateKey, content: bytes, what: str, where: str) -> None:
    """Raise ImageError unless `content` holds no X.509 certificate or one for `key`."""
    if not content.startswith(_X509_START):
        return  # no certificate in this EF (not issued, or a placeholder)
    try:
        # EFs are padded after the object (CI §4): the DER header says how much is certificate.
        certificate = x509.load_der_x509_certificate(content[:tlv.total_size(content)])
        public = certificate.public_key()
    except ValueError:  # the codec's TlvError is one too
        raise ImageError(f"{where} starts like a certificate but is not a readable X.509 certificate") from None
    if not isinstance(public, rsa.RSAPublicKey) or public.public_numbers() != key.public_key().public_numbers():
        raise ImageError(f"{what} does not match the certificate in {where}: the certificate is for another key")


def check_cv_certificate(key: rsa.RSAPrivateKey, content: bytes, what: str, where: str) -> None:
    """Raise ImageError unless `content` holds no CV certificate contents or ones for `key`."""
    if not content.startswith(_CV_CONTENTS_START):
        return
    try:
        certified = cv.parse_contents(content).key
    except CodecError:
        raise ImageError(f"{where} starts like a CV certificate but is not a readable one (CI §7.3)") from None
    numbers = key.public_key().public_numbers()
    if (certified.exponent, certified.modulus) != (numbers.e, numbers.n):
        raise ImageError(f"{what} does not match the CV certificate in {where}: the certificate is for another key")
