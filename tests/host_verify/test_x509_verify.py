"""Chain to the pinned root of the right store (jpki-system.md §1.1, §2.4)."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509

from host_verify_pki import (
    AUTH_POLICY, DAY, NOW, SIGN_DN, YEAR, _key_usage, make_end_entity, make_root,
)
from mynacard.host.trust import Purpose
from mynacard.host.verify import CertificateInvalid, verify_certificate


def test_signing_certificate_chains_to_the_generation_that_signed_it(pki, trust):
    """Both signing roots share one DN; only the new one's key verifies (§1.1: by signature)."""
    assert pki.sign_root_old.subject == pki.sign_root_new.subject
    result = verify_certificate(pki.sign_cert, trust.signing)
    assert result.root.label == "sign-test-new"
    assert result.purpose is Purpose.SIGNING


def test_auth_certificate_chains_to_the_old_generation(pki, trust):
    assert verify_certificate(pki.auth_cert, trust.auth).root.label == "auth-test-old"


def test_an_auth_certificate_never_validates_in_the_signing_store(pki, trust):
    with pytest.raises(CertificateInvalid, match="not issued by any pinned signing"):
        verify_certificate(pki.auth_cert, trust.signing)


def test_a_signing_certificate_never_validates_in_the_auth_store(pki, trust):
    with pytest.raises(CertificateInvalid, match="user authentication"):
        verify_certificate(pki.sign_cert, trust.auth)


def test_same_dn_but_unpinned_key_is_a_forgery(pki, trust):
    """A forger copies the CA's DN (and the card's CA copy) but cannot sign with the CA key."""
    fake_root = make_root(SIGN_DN, "forger")
    forged = make_end_entity(fake_root, "forger", "sign-ee", signing=True, serial=0x5101)
    with pytest.raises(CertificateInvalid, match="no pinned signing .* verifies its signature"):
        verify_certificate(forged, trust.signing)


def test_the_cards_copy_of_its_ca_is_not_an_end_entity(pki, trust):
    with pytest.raises(CertificateInvalid, match="CA certificate"):
        verify_certificate(pki.sign_root_new, trust.signing)


def test_expired_and_not_yet_valid(pki, trust):
    with pytest.raises(CertificateInvalid, match="is valid from"):
        verify_certificate(pki.sign_cert, trust.signing, at=NOW + 5 * YEAR)
    with pytest.raises(CertificateInvalid, match="is valid from"):
        verify_certificate(pki.sign_cert, trust.signing, at=NOW - 2 * DAY)


def test_root_validity_counts(pki, trust):
    """The auth cert outlives its (old-generation) root: after the root expires it fails."""
    after_root = pki.auth_root_old.not_valid_after_utc + DAY
    assert after_root < pki.auth_cert.not_valid_after_utc
    with pytest.raises(CertificateInvalid, match="root .* is not valid"):
        verify_certificate(pki.auth_cert, trust.auth, at=after_root)


def test_signing_needs_non_repudiation(pki, trust):
    cert = make_end_entity(pki.sign_root_new, "sign-root-2", "sign-ee", signing=True, serial=7,
                           key_usage=_key_usage(digital_signature=True))
    with pytest.raises(CertificateInvalid, match="nonRepudiation"):
        verify_certificate(cert, trust.signing)


def test_auth_needs_digital_signature(pki, trust):
    cert = make_end_entity(pki.auth_root_new, "auth-root-2", "auth-ee", signing=False, serial=8,
                           key_usage=_key_usage(key_encipherment=True))
    with pytest.raises(CertificateInvalid, match="digitalSignature"):
        verify_certificate(cert, trust.auth)


def test_policy_of_the_other_purpose_is_refused(pki, trust):
    cert = make_end_entity(pki.sign_root_new, "sign-root-2", "sign-ee", signing=True, serial=9,
                           policy=AUTH_POLICY)
    with pytest.raises(CertificateInvalid, match="policies 1.2.392.200149.8.5.1.3.30"):
        verify_certificate(cert, trust.signing)


def test_unknown_critical_extension_is_refused_and_harmless_when_not_critical(pki, trust):
    ext = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00")
    critical = make_end_entity(pki.sign_root_new, "sign-root-2", "sign-ee", signing=True, serial=10,
                               extra=((ext, True),))
    with pytest.raises(CertificateInvalid, match="1.3.6.1.4.1.99999.1"):
        verify_certificate(critical, trust.signing)
    plain = make_end_entity(pki.sign_root_new, "sign-root-2", "sign-ee", signing=True, serial=11,
                            extra=((ext, False),))
    verify_certificate(plain, trust.signing)


def test_real_jlis_roots_do_not_accept_test_certificates(pki):
    from mynacard.host.trust import default_trust

    for trust in (default_trust(), default_trust(trust_test_authority=True)):
        with pytest.raises(CertificateInvalid, match="not issued by any pinned"):
            verify_certificate(pki.sign_cert, trust.signing)


def test_check_time_defaults_to_now(pki, trust):
    before = datetime.datetime.now(datetime.UTC)
    assert verify_certificate(pki.sign_cert, trust.signing).checked_at >= before
