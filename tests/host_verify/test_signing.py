"""Detached CMS signatures by the signing key (RFC 5652; CI §6.2 `80 2A 00 80` with a DigestInfo)."""

from __future__ import annotations

import datetime
import shutil
import subprocess

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.utils import NoDigestInfo

from host_verify_pki import key
from mynacard.host.revocation import CertificateRevoked, RevocationConfig
from mynacard.host.signing import SignatureInvalid, sign_detached, verify_detached
from mynacard.host.verify import CertificateInvalid
from revocation_server import build_crl

DOCUMENT = "申請書 (application form)\n".encode() * 100


def card(key_name: str):
    """What the card does with `80 2A 00 80`: PKCS#1 v1.5 over the DigestInfo as given."""
    calls = []

    def sign(digest_info: bytes) -> bytes:
        calls.append(digest_info)
        return key(key_name).sign(digest_info, padding.PKCS1v15(), NoDigestInfo())

    sign.calls = calls
    return sign


@pytest.fixture(scope="module")
def signature(pki):
    return sign_detached(DOCUMENT, pki.sign_cert, card("sign-ee"))


def test_the_card_signs_one_sha256_digest_info(pki):
    signer = card("sign-ee")
    sign_detached(DOCUMENT, pki.sign_cert, signer)
    assert len(signer.calls) == 1
    assert signer.calls[0][:19] == bytes.fromhex("3031300d060960864801650304020105000420")


def test_structure_is_detached_signed_data_with_the_signed_attributes(pki, signature):
    info = cms.ContentInfo.load(signature)
    assert info["content_type"].native == "signed_data"
    sd = info["content"]
    assert sd["encap_content_info"]["content"].native is None  # detached
    assert len(sd["certificates"]) == 1
    attrs = {a["type"].native for a in sd["signer_infos"][0]["signed_attrs"]}
    assert {"content_type", "message_digest", "signing_time", "signing_certificate_v2"} <= attrs
    assert sd["signer_infos"][0]["digest_algorithm"]["algorithm"].native == "sha256"


def test_verifies_against_the_signing_store(pki, trust, signature):
    [result] = verify_detached(DOCUMENT, signature, trust.signing)
    assert result.signer.certificate == pki.sign_cert
    assert result.signer.root.label == "sign-test-new"
    assert result.digest_algorithm == "sha256"
    assert abs(result.signing_time - datetime.datetime.now(datetime.UTC)) < datetime.timedelta(minutes=5)


def test_pem_input_is_accepted(trust, signature):
    from asn1crypto import pem

    assert verify_detached(DOCUMENT, pem.armor("CMS", signature), trust.signing)


def test_a_changed_file_is_detected(trust, signature):
    with pytest.raises(SignatureInvalid, match="message digest differs"):
        verify_detached(DOCUMENT[:-1] + b"!", signature, trust.signing)


def test_a_changed_signature_is_detected(trust, signature):
    tampered = signature[:-5] + bytes([signature[-5] ^ 0x01]) + signature[-4:]
    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify_detached(DOCUMENT, tampered, trust.signing)


def test_an_auth_certificate_cannot_make_a_document_signature(pki, trust):
    """The auth key signs too, but its certificate never validates in the signing store."""
    by_auth = sign_detached(DOCUMENT, pki.auth_cert, card("auth-ee"))
    with pytest.raises(CertificateInvalid, match="signing"):
        verify_detached(DOCUMENT, by_auth, trust.signing)


def test_a_card_whose_key_does_not_match_its_certificate_is_caught_when_signing(pki):
    with pytest.raises(SignatureInvalid, match="does not belong"):
        sign_detached(DOCUMENT, pki.sign_cert, card("auth-ee"))


def test_garbage_is_not_a_signature(trust):
    with pytest.raises(SignatureInvalid, match="not a DER or PEM CMS"):
        verify_detached(DOCUMENT, b"\x30\x03\x02\x01\x01", trust.signing)


def test_revocation_is_checked_when_configured(pki, trust, signature, tmp_path):
    crl = tmp_path / "sign.crl"
    crl.write_bytes(build_crl(pki.sign_root_new, key("sign-root-2"), {pki.sign_cert.serial_number: None}))
    with pytest.raises(CertificateRevoked):
        verify_detached(DOCUMENT, signature, trust.signing, revocation=RevocationConfig(crl=str(crl)))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_openssl_cms_verify_accepts_it(pki, signature, tmp_path):
    """The issue's proof: `openssl cms -verify` against the signing root."""
    (tmp_path / "doc").write_bytes(DOCUMENT)
    (tmp_path / "doc.p7s").write_bytes(signature)
    (tmp_path / "root.pem").write_bytes(pki.sign_root_new.public_bytes(serialization.Encoding.PEM))
    command = ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", "doc.p7s",
               "-content", "doc", "-CAfile", "root.pem", "-purpose", "any", "-out", "/dev/null"]
    ok = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "Verification successful" in ok.stderr
    (tmp_path / "doc").write_bytes(DOCUMENT + b"x")
    tampered = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert tampered.returncode != 0


def test_the_signature_is_bound_to_its_certificate(pki, trust):
    """A second certificate for the same key (re-issued by the CA) cannot replace the signer's:
    signingCertificateV2 names the certificate's hash (RFC 5035)."""
    from asn1crypto import x509 as asn1_x509

    from host_verify_pki import make_end_entity

    signature = sign_detached(DOCUMENT, pki.sign_cert, card("sign-ee"))
    other = make_end_entity(pki.sign_root_new, "sign-root-2", "sign-ee", signing=True,
                            serial=pki.sign_cert.serial_number, not_after=pki.sign_cert.not_valid_after_utc
                            - datetime.timedelta(days=1))
    info = cms.ContentInfo.load(signature)
    info["content"]["certificates"] = [asn1_x509.Certificate.load(other.public_bytes(serialization.Encoding.DER))]
    with pytest.raises(SignatureInvalid, match="signingCertificateV2"):
        verify_detached(DOCUMENT, info.dump(force=True), trust.signing)
