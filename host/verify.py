"""X.509 verification of JPKI certificates against the pinned roots (jpki-system.md §1, §2.4).

JPKI is a single-tier PKI: each root directly issues the end-entity certificates, so a chain is
always `end entity → pinned root`, and anything longer is refused rather than half-supported.
The steps, each failing with a sentence that names what is wrong:

1. the certificate is an end entity (a CA certificate, e.g. the card's copy of its CA, is not);
2. a root *of this purpose's store* has the issuer's DN and its key verifies the signature
   (generations share a DN, so the signature decides);
3. the root and the certificate are valid at the given time;
4. keyUsage has what the purpose needs: nonRepudiation for signing, digitalSignature for auth;
5. every critical extension is one this code understands, and the certificatePolicies (critical
   on JPKI signing certificates) name a policy of this purpose.

Revocation is a separate step (revocation.py): "cryptographically valid" and "not revoked" are
different questions (§2.4) and the second needs a network or a CRL.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtensionOID

from mynacard.host.trust import PinnedRoot, Purpose, TrustStore, UntrustedAnchor, untrusted_sentence

#: Extensions whose meaning this module checks or which carry no constraint a verifier must
#: enforce for JPKI certificates; a critical extension outside this set fails verification.
UNDERSTOOD_EXTENSIONS = frozenset({
    ExtensionOID.KEY_USAGE,
    ExtensionOID.BASIC_CONSTRAINTS,
    ExtensionOID.CERTIFICATE_POLICIES,
    ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
    ExtensionOID.ISSUER_ALTERNATIVE_NAME,
    ExtensionOID.SUBJECT_KEY_IDENTIFIER,
    ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
    ExtensionOID.CRL_DISTRIBUTION_POINTS,
    ExtensionOID.AUTHORITY_INFORMATION_ACCESS,
})

MIN_RSA_BITS = 2048  # 公的個人認証法施行規則 第2条 (jpki-system.md §1.2)
_ACCEPTED_HASHES = (hashes.SHA256, hashes.SHA384, hashes.SHA512)


class CertificateInvalid(Exception):
    """The certificate does not verify; the message says which step failed and why."""


class CertificateUntrusted(CertificateInvalid, UntrustedAnchor):
    """The certificate was issued by a root mynacard knows but withholds in this run (the test
    authority without the opt-in): refused like any other, but named so the user knows why."""

    def __init__(self, message: str, origin: str) -> None:
        super().__init__(message)
        self.origin = origin


@dataclass(frozen=True)
class VerifiedCertificate:
    """A certificate that passed every step for `purpose` at `checked_at`."""

    certificate: x509.Certificate
    root: PinnedRoot
    purpose: Purpose
    checked_at: datetime.datetime

    @property
    def issuer(self) -> x509.Certificate:
        return self.root.certificate


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def describe(cert: x509.Certificate) -> str:
    """A short, non-personal way to name a certificate in messages: serial (発行番号) and issuer."""
    return f"certificate serial {cert.serial_number:X} issued by {cert.issuer.rfc4514_string()}"


def verify_certificate(
    certificate: x509.Certificate, store: TrustStore, *, at: datetime.datetime | None = None
) -> VerifiedCertificate:
    """Verify `certificate` for the purpose of `store` at `at` (default: now)."""
    at = at or now()
    purpose = store.purpose

    if _is_ca(certificate):
        raise CertificateInvalid(
            f"{describe(certificate)} is a CA certificate, not a card holder's; "
            "a card's copy of its CA is never accepted as a trust anchor or an end entity"
        )
    _check_algorithms(certificate)

    issuers = store.issuers_of(certificate)
    if not issuers:
        withheld = store.withheld_issuers_of(certificate)
        if withheld:
            raise CertificateUntrusted(untrusted_sentence(describe(certificate), withheld[0].origin),
                                       withheld[0].origin)
        if store.same_name_roots(certificate):
            raise CertificateInvalid(
                f"{describe(certificate)}: no pinned {purpose.label} root with that name verifies "
                "its signature (forged, tampered, or issued by another generation not pinned)"
            )
        raise CertificateInvalid(
            f"{describe(certificate)} was not issued by any pinned {purpose.label} root"
        )
    valid_roots = [r for r in issuers if _within(r.certificate, at)]
    if not valid_roots:
        root = issuers[0]
        raise CertificateInvalid(
            f"the {purpose.label} root that issued {describe(certificate)} "
            f"({root.label}) is not valid at {at:%Y-%m-%d %H:%M:%SZ}"
        )
    root = valid_roots[0]
    _check_root(root)

    if not _within(certificate, at):
        raise CertificateInvalid(
            f"{describe(certificate)} is valid from {certificate.not_valid_before_utc:%Y-%m-%d %H:%M:%SZ} "
            f"to {certificate.not_valid_after_utc:%Y-%m-%d %H:%M:%SZ}, not at {at:%Y-%m-%d %H:%M:%SZ}"
        )
    _check_key_usage(certificate, purpose)
    _check_critical_extensions(certificate, store)
    return VerifiedCertificate(certificate, root, purpose, at)


def _within(cert: x509.Certificate, at: datetime.datetime) -> bool:
    return cert.not_valid_before_utc <= at <= cert.not_valid_after_utc


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _check_algorithms(cert: x509.Certificate) -> None:
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_RSA_BITS:
        raise CertificateInvalid(f"{describe(cert)} does not hold an RSA key of at least {MIN_RSA_BITS} bits")
    if not isinstance(cert.signature_hash_algorithm, _ACCEPTED_HASHES):
        name = cert.signature_hash_algorithm.name if cert.signature_hash_algorithm else "none"
        raise CertificateInvalid(f"{describe(cert)} is signed with {name}, which is not accepted")


def _check_root(root: PinnedRoot) -> None:
    cert = root.certificate
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        bc = None
    if bc is None or not bc.ca:
        raise CertificateInvalid(f"pinned root {root.label} is not marked as a CA; the roots folder is broken")
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not ku.key_cert_sign:
        raise CertificateInvalid(f"pinned root {root.label} may not sign certificates (keyUsage)")


def _check_key_usage(cert: x509.Certificate, purpose: Purpose) -> None:
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise CertificateInvalid(f"{describe(cert)} has no keyUsage; JPKI certificates always do") from None
    if purpose is Purpose.SIGNING and not ku.content_commitment:
        raise CertificateInvalid(f"{describe(cert)} lacks keyUsage nonRepudiation, required for signing")
    if purpose is Purpose.AUTH and not ku.digital_signature:
        raise CertificateInvalid(f"{describe(cert)} lacks keyUsage digitalSignature, required for authentication")
    if ku.key_cert_sign or ku.crl_sign:
        raise CertificateInvalid(f"{describe(cert)} may sign certificates or CRLs; not a card holder's")


def _check_critical_extensions(cert: x509.Certificate, store: TrustStore) -> None:
    for ext in cert.extensions:
        if ext.oid == ExtensionOID.CERTIFICATE_POLICIES:
            policies = [p.policy_identifier.dotted_string for p in ext.value]
            if not any(store.accepts_policy(p) for p in policies):
                raise CertificateInvalid(
                    f"{describe(cert)} has certificate policies {', '.join(policies) or 'none'}, "
                    f"none of which is a JPKI {store.purpose.label} policy"
                )
        elif ext.critical and ext.oid not in UNDERSTOOD_EXTENSIONS:
            raise CertificateInvalid(
                f"{describe(cert)} has a critical extension {ext.oid.dotted_string} this verifier "
                "does not understand, so it must be rejected (RFC 5280 §4.2)"
            )
