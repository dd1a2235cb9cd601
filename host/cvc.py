"""Verifying the 券面 APs' records and card-verifiable certificates (CI §7.1–§8.1): the CV chain
to a pinned root, the record signatures, the integrity digests, chip presence.

How trust flows (jpki-system.md §7, "Integrity"):

    pinned CV root key (key ID)  ──signs──►  EF 0004 `7F21` of the AP (certifies the AP's issuer key)
    AP issuer key  ──signs──►  text EF 0003 (integrity record), text EF 0007 (the AP's own key),
                               visual EF 0001 (age record), EF 0002 DF28 (card face), EF 0005
    card / AP key (inside those records)  ──answers──►  `80 2A 00 00` challenge (chip present)

Records are parsed once, by records.py, into objects holding both their values and the exact TLV
bytes their signature covers; this module checks those bytes and parses nothing, so whatever a
caller reads from a verified object comes from the bytes whose signature was checked. Every
record signature is PKCS#1 v1.5 with SHA-256 over the TLVs before it, exactly as written on the
card — except the card face, whose DF28 signs three SHA-256 digests inside one DigestInfo
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

from mynacard.codec.cv import key_id_text
from mynacard.codec.digest_info import sha256_digest_info
from mynacard.host.records import (
    CardFace,
    CvCertificate,
    FourFacts,
    IntegrityRecord,
    MyNumberRecord,
    RecordInvalid,
    RsaPublicKey,
    SignedRecord,
)
from mynacard.host.trust import CVRoot, UntrustedAnchor, untrusted_sentence


def _verifies_sha256(key: rsa.RSAPublicKey, message: bytes, signature: bytes) -> bool:
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def _check_sha256(key: rsa.RSAPublicKey, message: bytes, signature: bytes, what: str) -> None:
    if not _verifies_sha256(key, message, signature):
        raise RecordInvalid(f"the signature of {what} does not verify")


# --- CV certificates (CI §7.3) ------------------------------------------------------------------


class CvRootUntrusted(RecordInvalid, UntrustedAnchor):
    """The CV certificate verifies with a CV root mynacard knows but withholds in this run (the
    test authority's, without the opt-in)."""

    def __init__(self, message: str, origin: str) -> None:
        super().__init__(message)
        self.origin = origin


def verify_cv_certificate(cert: CvCertificate, roots: Mapping[bytes, CVRoot], what: str,
                          withheld: Mapping[bytes, CVRoot] | None = None) -> CVRoot:
    """Check `cert` against the pinned CV root its issuer key ID names; returns that root.

    A certificate that verifies with one of the `withheld` roots is refused with a sentence that
    names their authority (a forged certificate that merely claims such a key ID is not)."""
    root = roots.get(cert.issuer_key_id)
    if root is None:
        known = (withheld or {}).get(cert.issuer_key_id)
        if known is not None and _verifies_sha256(known.public_key, cert.body, cert.signature):
            raise CvRootUntrusted(untrusted_sentence(
                f"{what} (CV key {key_id_text(cert.issuer_key_id)})", known.origin), known.origin)
        raise RecordInvalid(
            f"{what} is issued by CV key {key_id_text(cert.issuer_key_id)}, which is not a pinned CV root"
        )
    _check_sha256(root.public_key, cert.body, cert.signature, what)
    return root


# --- records signed by the AP's issuer key (CI §7.1, §8) ----------------------------------------


def verify_record(record: SignedRecord, issuer_key: RsaPublicKey) -> None:
    """The record's signature over the TLVs before it, by the key its AP's CV certificate
    certifies."""
    _check_sha256(issuer_key.to_cryptography(), record.signed_part, record.signature, record.WHERE)


@dataclass(frozen=True)
class IntegrityCheck:
    """What EF 0003 vouched for; None where the file could not be read with the secret given."""

    my_number_file: bool | None
    attributes_file: bool | None


def verify_text_integrity(
    record: IntegrityRecord,
    issuer_key: RsaPublicKey,
    *,
    my_number: MyNumberRecord | None = None,
    four_facts: FourFacts | None = None,
) -> IntegrityCheck:
    """EF 0003 (CI §7.1): signature over DF31+DF32, DF31 = SHA-256 of EF 0001's 17 physical
    bytes, DF32 = SHA-256 of EF 0002 after the DF21 table. Raises on any mismatch."""
    verify_record(record, issuer_key)
    my_number_ok = attributes_ok = None
    if my_number is not None:
        if hashlib.sha256(my_number.physical).digest() != record.my_number_digest:
            raise RecordInvalid("the My Number file (text EF 0001) does not match its signed digest in EF 0003")
        my_number_ok = True
    if four_facts is not None:
        if hashlib.sha256(four_facts.signed_part).digest() != record.four_facts_digest:
            raise RecordInvalid("the four-facts file (text EF 0002) does not match its signed digest in EF 0003")
        attributes_ok = True
    return IntegrityCheck(my_number_ok, attributes_ok)


def verify_card_face(face: CardFace, issuer_key: RsaPublicKey) -> None:
    """DF28 over SHA-256(DF22+DF23+DF24) ‖ SHA-256(DF25+DF26) ‖ SHA-256(DF27) (CI §8.1): PKCS#1
    v1.5 whose payload must be exactly that DigestInfo (full padding check)."""
    try:
        recovered = issuer_key.to_cryptography().recover_data_from_signature(
            face.signature, padding.PKCS1v15(), None)
    except (InvalidSignature, ValueError):
        raise RecordInvalid(f"the signature of {face.WHERE} does not verify") from None
    if not hmac.compare_digest(recovered, face.signed_digest_info):
        raise RecordInvalid(f"the signature of {face.WHERE} does not match its content")


# --- chip presence ------------------------------------------------------------------------------


def presence_digest_info(challenge: bytes) -> bytes:
    """What `80 2A 00 00` is sent for a challenge: the SHA-256 DigestInfo of it (CI §7.1)."""
    return sha256_digest_info(hashlib.sha256(challenge).digest())


def verify_presence(key: RsaPublicKey, challenge: bytes, signature: bytes, what: str) -> None:
    """The chip signed our fresh challenge with the key its verified record names."""
    _check_sha256(key.to_cryptography(), challenge, signature, f"the challenge answered by {what}")
