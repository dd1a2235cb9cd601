"""card.jpki against the demo card in-process (CI §6, flows A and B of §13)."""

from __future__ import annotations

import hashlib
import math

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from mynacard.host.errors import SecurityStatusNotSatisfied
from mynacard.codec.digest_info import HASH_NAMES
from mynacard.host.jpki import Certificate, Key, SignatureScheme

HASHES = {"sha1": hashes.SHA1(), "sha224": hashes.SHA224(), "sha256": hashes.SHA256(),
          "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}


def reads(traced) -> list:
    return traced.sent(0xB0)


def test_free_certificates_sized_from_der_header(card, traced) -> None:
    """CI §6.1/§13 A: auth, auth CA and signing CA certificates are free; each read costs the
    minimum number of READ BINARY the DER size allows (one extended READ here)."""
    for which in (Certificate.AUTH, Certificate.AUTH_CA, Certificate.SIGN_CA):
        traced.entries.clear()
        der = card.jpki.certificate(which)
        cert = x509.load_der_x509_certificate(der)  # exactly one DER object, no filler
        assert cert.public_key().key_size == 2048
        assert len(reads(traced)) == 1 if traced.extended_length else math.ceil(len(der) / 256)
    auth = x509.load_der_x509_certificate(card.jpki.auth_certificate())
    auth_ca = x509.load_der_x509_certificate(card.jpki.auth_ca_certificate())
    assert auth.issuer == auth_ca.subject


def test_signing_certificate_needs_the_password(card, demo) -> None:
    """CI §6.1: EF 0001 → 6982 before the signing password, readable after it."""
    with pytest.raises(SecurityStatusNotSatisfied) as caught:
        card.jpki.certificate(Certificate.SIGN)
    assert caught.value.sw == 0x6982 and "signing password" in str(caught.value)
    der = card.jpki.signing_certificate(demo.sign_password)
    sign_ca = x509.load_der_x509_certificate(card.jpki.signing_ca_certificate())
    assert x509.load_der_x509_certificate(der).issuer == sign_ca.subject


def test_token_info_and_availability(card) -> None:
    """CI §6.1: EF 0006 label JPKIAPICCTOKEN2, EF 0008 8F 8F 00."""
    info = card.jpki.token_info()
    assert info.label == "JPKIAPICCTOKEN2" and info.is_my_number_card
    assert len(info.raw) == 160
    assert card.jpki.certificate_availability() == bytes.fromhex("8F8F00")
    assert card.jpki.has_signing_certificate()


@pytest.mark.parametrize("hash_name", HASH_NAMES)
def test_sign_with_both_keys_every_digest(card, demo, hash_name) -> None:
    """CI §6.2: P1=00 with a DigestInfo for SHA-1/224/256/384/512; both keys; the signature
    verifies as PKCS#1 v1.5 against the matching certificate."""
    message = b"mynacard host test " + hash_name.encode()
    auth_cert = x509.load_der_x509_certificate(card.jpki.auth_certificate())
    sig = card.jpki.sign(message, key=Key.AUTH, hash=hash_name, pin=demo.auth_pin)
    auth_cert.public_key().verify(sig, message, padding.PKCS1v15(), HASHES[hash_name])
    sign_cert = x509.load_der_x509_certificate(card.jpki.signing_certificate(demo.sign_password))
    sig = card.jpki.sign(message, key=Key.SIGN, hash=hash_name)  # password verified just above
    sign_cert.public_key().verify(sig, message, padding.PKCS1v15(), HASHES[hash_name])


def test_other_signature_schemes(card, demo) -> None:
    """CI §6.2 P1 01–05, through compute_signature."""
    pub = x509.load_der_x509_certificate(card.jpki.auth_certificate()).public_key()
    card.jpki.verify_auth_pin(demo.auth_pin)
    message = b"scheme test"
    digest = hashlib.sha256(message).digest()

    sig = card.jpki.compute_signature(message, key=Key.AUTH, scheme=SignatureScheme.SHA256_WITH_RSA)
    pub.verify(sig, message, padding.PKCS1v15(), hashes.SHA256())
    sig = card.jpki.compute_signature(digest, key=Key.AUTH,
                                      scheme=SignatureScheme.PKCS1_SHA256_DIGEST)
    pub.verify(sig, message, padding.PKCS1v15(), hashes.SHA256())
    sig = card.jpki.compute_signature(message, key=Key.AUTH,
                                      scheme=SignatureScheme.PKCS1_BARE_SHA256)
    # PKCS#1 v1.5 type 1 over the bare hash: recover it with the public key.
    n, e = pub.public_numbers().n, pub.public_numbers().e
    em = pow(int.from_bytes(sig, "big"), e, n).to_bytes(256, "big")
    assert em.startswith(b"\x00\x01\xff") and em.endswith(b"\x00" + digest)
    pss = padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.AUTO)
    sig = card.jpki.compute_signature(digest, key=Key.AUTH, scheme=SignatureScheme.PSS_SHA256_DIGEST)
    pub.verify(sig, message, pss, hashes.SHA256())
    sig = card.jpki.compute_signature(message, key=Key.AUTH, scheme=SignatureScheme.PSS_SHA256)
    pub.verify(sig, message, pss, hashes.SHA256())


def test_signing_without_verify_is_refused(card) -> None:
    with pytest.raises(SecurityStatusNotSatisfied, match="auth PIN"):
        card.jpki.sign(b"x", key=Key.AUTH)


def test_digest_length_checked_before_sending(card, traced) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        card.jpki.sign_digest(b"short", key=Key.AUTH, hash="sha256")
    with pytest.raises(ValueError, match="md5"):
        card.jpki.sign(b"x", key=Key.AUTH, hash="md5")
    assert traced.entries == []


def test_change_auth_pin_and_signing_password(card, reopen, demo) -> None:
    """CI §2: CHANGE REFERENCE DATA 00 24 01 80 after VERIFY; the new value works afterwards."""
    card.jpki.change_auth_pin(demo.auth_pin, "9876")
    card.jpki.change_signing_password(demo.sign_password, "NEW2PASS")
    change = [e for e in card.transport.entries if e.ins == 0x24]
    assert [e.command[:4] for e in change] == [bytes.fromhex("00240180")] * 2
    assert all(e.command_redacted for e in change)
    with reopen() as again:
        again.jpki.verify_auth_pin("9876")
        again.jpki.verify_signing_password("new2pass")  # lower case is folded to the card's upper
        assert again.jpki.tries_left(Key.AUTH) == 3


def test_signing_certificate_is_redacted_in_traces(card, traced, demo) -> None:
    """It holds the holder's name, address, birth date and sex; the free certificates do not."""
    card.jpki.signing_certificate(demo.sign_password)
    card.jpki.auth_ca_certificate()
    reads = traced.sent(0xB0)
    assert reads[0].response == b"" and reads[0].response_redacted > 1000
    assert reads[-1].response.startswith(b"\x30\x82") and not reads[-1].response_redacted
