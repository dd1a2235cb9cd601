"""Card-verifiable certificates and key IDs, card-interface.md §7.3 and §10."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.ca.cv import CvCertificate, CvKey, KeyId, decode_public_key, encode_public_key
from mynacard.ca.errors import AuthorityError


def test_key_id_layout() -> None:
    """CI §7.3: 7 ASCII digits + 08 05 + 3 ASCII digits + 4 padding bytes (00 00 00 00)."""
    key_id = KeyId.make("9000023")
    assert bytes(key_id) == b"9000023\x08\x05001\x00\x00\x00\x00"
    assert (key_id.number, key_id.group, str(key_id)) == ("9000023", "001", "9000023/001")


@pytest.mark.parametrize(
    "value",
    [b"9000023\x08\x05001\x00\x00\x00", b"900002X\x08\x05001\x00\x00\x00\x00", b"9000023\x08\x06001\x00\x00\x00\x00"],
)
def test_malformed_key_ids_are_refused(value: bytes) -> None:
    with pytest.raises(AuthorityError, match="16 bytes"):
        KeyId(value)


def test_public_key_encoding_is_the_card_form(pool_keys: list[rsa.RSAPrivateKey]) -> None:
    """CI §7.3: `90 03 01 00 01 91 82 01 00 <256-byte n>`, 265 bytes."""
    public = pool_keys[0].public_key()
    encoded = encode_public_key(public)
    assert len(encoded) == 265
    assert encoded[:9] == bytes.fromhex("9003010001 91820100".replace(" ", ""))
    assert int.from_bytes(encoded[9:], "big") == public.public_numbers().n
    assert decode_public_key(encoded).public_numbers() == public.public_numbers()


def test_certificate_layout_and_signature(pool_keys: list[rsa.RSAPrivateKey]) -> None:
    """CI §7.3: 7F21 82 02 33 { 5F4E 82 01 29 <297> ; 5F37 82 01 00 <256> } = 568 bytes,
    the signature PKCS#1 v1.5 SHA-256 over the 297-byte body."""
    issuer = CvKey(KeyId.make("9000023"), pool_keys[0])
    subject = pool_keys[1].public_key()
    cert = issuer.certify(KeyId.make("9000024"), subject)
    der = cert.encode()
    assert len(der) == 568
    assert der[:5] == bytes.fromhex("7F21820233")
    assert der[5:10] == bytes.fromhex("5F4E820129")
    body = der[10:307]
    assert body[:16] == bytes(KeyId.make("9000023"))
    assert body[16:32] == bytes(KeyId.make("9000024"))
    assert body[32:41] == bytes.fromhex("900301000191820100")
    assert der[307:312] == bytes.fromhex("5F37820100")
    assert cert.contents() == der[5:]
    cert.verify(issuer.public_key)


def test_parse_accepts_the_template_and_the_get_data_form(pool_keys: list[rsa.RSAPrivateKey]) -> None:
    """GET DATA 00F8/7F21 returns the contents without the 7F21 header (CI §10)."""
    cert = CvKey(KeyId.make("9000020"), pool_keys[0]).certify(KeyId.make("9000021"), pool_keys[2].public_key())
    for form in (cert.encode(), cert.contents()):
        parsed = CvCertificate.parse(form)
        assert parsed.issuer_key_id == cert.issuer_key_id
        assert parsed.subject_key_id == cert.subject_key_id
        assert parsed.public_key.public_numbers() == pool_keys[2].public_key().public_numbers()
        assert parsed.signature == cert.signature


def test_tampered_or_foreign_certificates_do_not_verify(pool_keys: list[rsa.RSAPrivateKey]) -> None:
    issuer = CvKey(KeyId.make("9000023"), pool_keys[0])
    cert = issuer.certify(KeyId.make("9000024"), pool_keys[1].public_key())
    tampered = CvCertificate(issuer.key_id, KeyId.make("9000099"), cert.public_key, cert.signature)
    with pytest.raises(AuthorityError, match="does not verify"):
        tampered.verify(issuer.public_key)
    with pytest.raises(AuthorityError, match="does not verify"):
        cert.verify(pool_keys[3].public_key())


def test_truncated_certificate_is_refused(pool_keys: list[rsa.RSAPrivateKey]) -> None:
    cert = CvKey(KeyId.make("9000023"), pool_keys[0]).certify(KeyId.make("9000024"), pool_keys[1].public_key())
    with pytest.raises(AuthorityError):
        CvCertificate.parse(cert.encode()[:300])
