"""Revocation by OCSP and CRL, failing closed (jpki-system.md §2.3, §2.4)."""

from __future__ import annotations

import datetime
import socket

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from host_verify_pki import NOW, YEAR, key
from mynacard.host.revocation import (
    CertificateRevoked,
    RevocationConfig,
    RevocationUnknown,
    check_crl,
    check_ocsp,
    check_revocation,
)
from revocation_server import Behaviour, Responder, build_crl

HOUR = datetime.timedelta(hours=1)


@pytest.fixture(scope="module")
def responder(pki):
    with Responder(pki.sign_root_new, key("sign-root-2")) as r:
        yield r


@pytest.fixture
def fresh(responder):
    responder.behaviour = Behaviour()
    return responder


def ocsp_check(pki, url, at=None):
    return check_ocsp(pki.sign_cert, pki.sign_root_new, url, at=at or datetime.datetime.now(datetime.UTC))


def delegated_responder(pki, *, eku=True, issuer_key="sign-root-2"):
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test OCSP responder")]))
        .issuer_name(pki.sign_root_new.subject).public_key(key("ocsp-responder").public_key())
        .serial_number(77).not_valid_before(NOW - HOUR).not_valid_after(NOW + YEAR)
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
    return builder.sign(key(issuer_key), hashes.SHA256())


# --- OCSP ----------------------------------------------------------------------------------------


def test_good(pki, fresh):
    result = ocsp_check(pki, fresh.url)
    assert result.method == "ocsp" and result.source == fresh.url


def test_revoked(pki, fresh):
    fresh.behaviour.revoked.add(pki.sign_cert.serial_number)
    with pytest.raises(CertificateRevoked, match="revoked since .* key_compromise"):
        ocsp_check(pki, fresh.url)


def test_unknown_status_fails_closed(pki, fresh):
    fresh.behaviour.unknown.add(pki.sign_cert.serial_number)
    with pytest.raises(RevocationUnknown, match="does not know"):
        ocsp_check(pki, fresh.url)


def test_unreachable_responder_fails_closed(pki):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RevocationUnknown, match="could not be reached"):
        ocsp_check(pki, f"http://127.0.0.1:{port}/ocsp")


def test_http_error_fails_closed(pki, fresh):
    fresh.behaviour.http_status = 500
    with pytest.raises(RevocationUnknown, match="HTTP 500"):
        ocsp_check(pki, fresh.url)


def test_unsuccessful_response_fails_closed(pki, fresh):
    fresh.behaviour.status = ocsp.OCSPResponseStatus.TRY_LATER
    with pytest.raises(RevocationUnknown, match="TRY_LATER"):
        ocsp_check(pki, fresh.url)


def test_response_signed_by_a_stranger_fails_closed(pki, fresh):
    fresh.behaviour.signer_cert = delegated_responder(pki, issuer_key="sign-root-1")  # old generation
    fresh.behaviour.signer_key = key("ocsp-responder")
    fresh.behaviour.include_signer_cert = True
    with pytest.raises(RevocationUnknown, match="not issued by the certificate's CA"):
        ocsp_check(pki, fresh.url)


def test_response_with_a_broken_signature_fails_closed(pki, fresh):
    fresh.behaviour.corrupt_signature = True
    with pytest.raises(RevocationUnknown, match="invalid signature"):
        ocsp_check(pki, fresh.url)


def test_delegated_responder_with_ocsp_signing(pki, fresh):
    fresh.behaviour.signer_cert = delegated_responder(pki)
    fresh.behaviour.signer_key = key("ocsp-responder")
    fresh.behaviour.include_signer_cert = True
    assert ocsp_check(pki, fresh.url).method == "ocsp"


def test_delegated_responder_without_ocsp_signing_fails(pki, fresh):
    fresh.behaviour.signer_cert = delegated_responder(pki, eku=False)
    fresh.behaviour.signer_key = key("ocsp-responder")
    fresh.behaviour.include_signer_cert = True
    with pytest.raises(RevocationUnknown, match="not authorised"):
        ocsp_check(pki, fresh.url)


def test_stale_response_fails_closed(pki, fresh):
    fresh.behaviour.this_update_shift = -3 * HOUR  # next update 1 h after that: 2 h ago
    with pytest.raises(RevocationUnknown, match="stale"):
        ocsp_check(pki, fresh.url)


def test_replayed_response_fails_closed(pki, fresh):
    fresh.behaviour.wrong_nonce = True
    with pytest.raises(RevocationUnknown, match="nonce"):
        ocsp_check(pki, fresh.url)


# --- CRL -----------------------------------------------------------------------------------------


def crl_check(pki, source, at=None):
    return check_crl(pki.sign_cert, pki.sign_root_new, source, at=at or datetime.datetime.now(datetime.UTC))


def test_crl_good_and_revoked(pki, tmp_path):
    good = tmp_path / "good.crl"
    good.write_bytes(build_crl(pki.sign_root_new, key("sign-root-2"), {12345: None}))
    assert crl_check(pki, str(good)).method == "crl"
    revoked = tmp_path / "revoked.pem"
    revoked.write_bytes(build_crl(pki.sign_root_new, key("sign-root-2"),
                                  {pki.sign_cert.serial_number: x509.ReasonFlags.certificate_hold}, pem=True))
    with pytest.raises(CertificateRevoked, match="suspended"):
        crl_check(pki, str(revoked))


def test_stale_crl_fails_closed(pki, tmp_path):
    stale = tmp_path / "stale.crl"
    stale.write_bytes(build_crl(pki.sign_root_new, key("sign-root-2"),
                                last_update=NOW - 3 * datetime.timedelta(days=1)))
    with pytest.raises(RevocationUnknown, match="stale"):
        crl_check(pki, str(stale))


def test_crl_of_another_generation_fails_closed(pki, tmp_path):
    """Same DN, other root key: the signature decides, as for certificates."""
    other = tmp_path / "other.crl"
    other.write_bytes(build_crl(pki.sign_root_old, key("sign-root-1"), {}))
    with pytest.raises(RevocationUnknown, match="not signed by the certificate's CA"):
        crl_check(pki, str(other))


def test_unreadable_crl_fails_closed(pki, tmp_path):
    with pytest.raises(RevocationUnknown, match="cannot read"):
        crl_check(pki, str(tmp_path / "missing.crl"))
    junk = tmp_path / "junk.crl"
    junk.write_bytes(b"not a crl")
    with pytest.raises(RevocationUnknown, match="is not a CRL"):
        crl_check(pki, str(junk))


def test_crl_partition_that_does_not_cover_the_certificate(pki, tmp_path):
    idp = x509.IssuingDistributionPoint(
        full_name=[x509.UniformResourceIdentifier("http://crl.test/other-town")], relative_name=None,
        only_contains_user_certs=True, only_contains_ca_certs=False, only_some_reasons=None,
        indirect_crl=False, only_contains_attribute_certs=False)
    partitioned = tmp_path / "partition.crl"
    partitioned.write_bytes(build_crl(pki.sign_root_new, key("sign-root-2"), {}, extensions=((idp, True),)))
    with pytest.raises(RevocationUnknown, match="partition"):
        crl_check(pki, str(partitioned))


def test_crl_over_http(pki, fresh):
    fresh.behaviour.crl = build_crl(pki.sign_root_new, key("sign-root-2"), {pki.sign_cert.serial_number: None})
    with pytest.raises(CertificateRevoked, match="revoked"):
        crl_check(pki, fresh.crl_url)


# --- both, and nothing ---------------------------------------------------------------------------


def test_asking_without_a_source_fails_closed(pki):
    with pytest.raises(RevocationUnknown, match="no OCSP responder or CRL"):
        check_revocation(pki.sign_cert, pki.sign_root_new, RevocationConfig())


def test_every_configured_method_must_say_good(pki, fresh, tmp_path):
    good = tmp_path / "good.crl"
    good.write_bytes(build_crl(pki.sign_root_new, key("sign-root-2"), {}))
    config = RevocationConfig(ocsp_url=fresh.url, crl=str(good))
    assert [r.method for r in check_revocation(pki.sign_cert, pki.sign_root_new, config)] == ["ocsp", "crl"]
    fresh.behaviour.revoked.add(pki.sign_cert.serial_number)
    with pytest.raises(CertificateRevoked):
        check_revocation(pki.sign_cert, pki.sign_root_new, config)
