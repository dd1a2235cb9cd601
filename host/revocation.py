"""Revocation status by OCSP or CRL, failing closed (jpki-system.md §2.3, §2.4).

"Cryptographically valid" and "not revoked" are separate answers. When a caller asks for a
revocation check, anything short of a fresh, correctly signed "good" answer for exactly this
certificate is a failure: an unreachable responder, a stale or unsigned CRL, a response for another
serial, an unknown status. Silently passing a certificate whose status could not be learned is how
a revoked card keeps working.

Real JPKI status services are reachable only by registered verifiers over closed lines (§2.2), so
the responder URL and the CRL location are always configured by the caller; nothing here guesses
them from the certificate.
"""

from __future__ import annotations

import datetime
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

from mynacard.host.verify import describe, now

#: Clock difference tolerated between us and a responder.
CLOCK_SKEW = datetime.timedelta(minutes=5)
#: An OCSP answer without nextUpdate is accepted only this fresh (JPKI refreshes every 15 min).
OCSP_MAX_AGE = datetime.timedelta(hours=1)
_UNDERSTOOD_CRL_EXTENSIONS = {
    ExtensionOID.CRL_NUMBER,
    ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
    ExtensionOID.ISSUER_ALTERNATIVE_NAME,
    ExtensionOID.ISSUING_DISTRIBUTION_POINT,
}


class RevocationUnknown(Exception):
    """The status could not be established; callers that asked for a check must fail."""


class CertificateRevoked(Exception):
    """The status service says the certificate is revoked (or suspended)."""


@dataclass(frozen=True)
class RevocationConfig:
    """Where to ask. `crl` is a file path or an http(s) URL."""

    ocsp_url: str | None = None
    crl: str | None = None
    timeout: float = 10.0

    @property
    def enabled(self) -> bool:
        return bool(self.ocsp_url or self.crl)

    def describe(self) -> str:
        parts = []
        if self.ocsp_url:
            parts.append(f"OCSP {self.ocsp_url}")
        if self.crl:
            parts.append(f"CRL {self.crl}")
        return " and ".join(parts) or "no revocation source"


@dataclass(frozen=True)
class RevocationResult:
    """A "good" answer from one method."""

    method: str  # "ocsp" or "crl"
    source: str
    produced_at: datetime.datetime


def check_revocation(
    certificate: x509.Certificate,
    issuer: x509.Certificate,
    config: RevocationConfig,
    *,
    at: datetime.datetime | None = None,
) -> list[RevocationResult]:
    """Every configured method must answer "good"; raises CertificateRevoked / RevocationUnknown."""
    if not config.enabled:
        raise RevocationUnknown("no OCSP responder or CRL was configured, so revocation cannot be checked")
    at = at or now()
    results = []
    if config.ocsp_url:
        results.append(check_ocsp(certificate, issuer, config.ocsp_url, at=at, timeout=config.timeout))
    if config.crl:
        results.append(check_crl(certificate, issuer, config.crl, at=at, timeout=config.timeout))
    return results


# --- OCSP (RFC 6960) ---------------------------------------------------------------------------


def check_ocsp(
    certificate: x509.Certificate,
    issuer: x509.Certificate,
    url: str,
    *,
    at: datetime.datetime,
    timeout: float = 10.0,
) -> RevocationResult:
    nonce = os.urandom(16)
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(certificate, issuer, hashes.SHA1())  # noqa: S303 - SHA-1 cert IDs: RFC 5019, all responders
        .add_extension(x509.OCSPNonce(nonce), critical=False)
        .build()
    )
    body = _http(
        url,
        data=request.public_bytes(serialization.Encoding.DER),
        headers={"Content-Type": "application/ocsp-request", "Accept": "application/ocsp-response"},
        timeout=timeout,
        what="OCSP responder",
    )
    try:
        response = ocsp.load_der_ocsp_response(body)
    except ValueError as exc:
        raise RevocationUnknown(f"the OCSP responder at {url} did not return an OCSP response") from exc
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise RevocationUnknown(
            f"the OCSP responder at {url} refused the request ({response.response_status.name})"
        )
    _check_ocsp_signer(response, issuer, url, at)
    try:
        echoed = response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        echoed = None
    if echoed is not None and echoed != nonce:
        raise RevocationUnknown(f"the OCSP responder at {url} answered another request (nonce differs)")

    single = _matching_single_response(response, certificate, issuer)
    if single is None:
        raise RevocationUnknown(f"the OCSP response from {url} does not cover {describe(certificate)}")
    this_update = single.this_update_utc
    next_update = single.next_update_utc
    if this_update > at + CLOCK_SKEW:
        raise RevocationUnknown(f"the OCSP response from {url} is dated in the future ({this_update:%Y-%m-%d %H:%M}Z)")
    if next_update is not None and next_update < at - CLOCK_SKEW:
        raise RevocationUnknown(f"the OCSP response from {url} is stale (next update was {next_update:%Y-%m-%d %H:%M}Z)")
    if next_update is None and at - this_update > OCSP_MAX_AGE:
        raise RevocationUnknown(f"the OCSP response from {url} is older than {OCSP_MAX_AGE}")

    if single.certificate_status == ocsp.OCSPCertStatus.REVOKED:
        reason = single.revocation_reason.name if single.revocation_reason else "unspecified"
        raise CertificateRevoked(
            f"{describe(certificate)} is revoked since {single.revocation_time_utc:%Y-%m-%d %H:%M}Z "
            f"(reason {reason}, per OCSP {url})"
        )
    if single.certificate_status != ocsp.OCSPCertStatus.GOOD:
        raise RevocationUnknown(f"the OCSP responder at {url} does not know {describe(certificate)}")
    return RevocationResult("ocsp", url, response.produced_at_utc)


def _matching_single_response(
    response: ocsp.OCSPResponse, certificate: x509.Certificate, issuer: x509.Certificate
) -> ocsp.OCSPSingleResponse | None:
    for single in response.responses:
        if single.serial_number != certificate.serial_number:
            continue
        algorithm = single.hash_algorithm
        expected = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, algorithm).build()
        if (
            single.issuer_name_hash == expected.issuer_name_hash
            and single.issuer_key_hash == expected.issuer_key_hash
        ):
            return single
    return None


def _check_ocsp_signer(
    response: ocsp.OCSPResponse, issuer: x509.Certificate, url: str, at: datetime.datetime
) -> None:
    """The response is signed by the issuing CA itself or by a responder it delegated to."""
    signer = issuer
    if not _names_responder(response, issuer):
        delegates = [c for c in response.certificates if _names_responder(response, c)]
        if not delegates:
            raise RevocationUnknown(f"the OCSP response from {url} is signed by an unknown responder")
        signer = delegates[0]
        try:
            signer.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            raise RevocationUnknown(
                f"the OCSP responder certificate from {url} was not issued by the certificate's CA"
            ) from None
        try:
            eku = list(signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
        except x509.ExtensionNotFound:
            eku = []
        if ExtendedKeyUsageOID.OCSP_SIGNING not in eku:
            raise RevocationUnknown(f"the OCSP responder certificate from {url} is not authorised for OCSP signing")
        if not signer.not_valid_before_utc <= at <= signer.not_valid_after_utc:
            raise RevocationUnknown(f"the OCSP responder certificate from {url} is expired or not yet valid")
    key = signer.public_key()
    if not isinstance(key, rsa.RSAPublicKey) or response.signature_hash_algorithm is None:
        raise RevocationUnknown(f"the OCSP response from {url} uses an unsupported signature")
    try:
        key.verify(
            response.signature,
            response.tbs_response_bytes,
            padding.PKCS1v15(),
            response.signature_hash_algorithm,
        )
    except InvalidSignature:
        raise RevocationUnknown(f"the OCSP response from {url} has an invalid signature") from None


def _names_responder(response: ocsp.OCSPResponse, cert: x509.Certificate) -> bool:
    if response.responder_name is not None:
        return response.responder_name == cert.subject
    key_hash = x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest
    return response.responder_key_hash == key_hash


# --- CRL (RFC 5280 §5) -------------------------------------------------------------------------


def check_crl(
    certificate: x509.Certificate,
    issuer: x509.Certificate,
    source: str,
    *,
    at: datetime.datetime,
    timeout: float = 10.0,
) -> RevocationResult:
    crl = load_crl(source, timeout=timeout)
    if crl.issuer != issuer.subject:
        raise RevocationUnknown(f"the CRL {source} was issued by {crl.issuer.rfc4514_string()}, not by the certificate's CA")
    issuer_key = issuer.public_key()
    if not isinstance(issuer_key, rsa.RSAPublicKey) or not crl.is_signature_valid(issuer_key):
        raise RevocationUnknown(f"the CRL {source} is not signed by the certificate's CA")
    if crl.last_update_utc > at + CLOCK_SKEW:
        raise RevocationUnknown(f"the CRL {source} is dated in the future ({crl.last_update_utc:%Y-%m-%d %H:%M}Z)")
    if crl.next_update_utc is None or crl.next_update_utc < at - CLOCK_SKEW:
        when = f"{crl.next_update_utc:%Y-%m-%d %H:%M}Z" if crl.next_update_utc else "never given"
        raise RevocationUnknown(f"the CRL {source} is stale (next update {when}); fetch a current one")
    for ext in crl.extensions:
        if ext.critical and ext.oid not in _UNDERSTOOD_CRL_EXTENSIONS:
            raise RevocationUnknown(f"the CRL {source} has a critical extension {ext.oid.dotted_string} not understood")
        if ext.oid == ExtensionOID.ISSUING_DISTRIBUTION_POINT:
            _check_scope(ext.value, certificate, source)

    entry = crl.get_revoked_certificate_by_serial_number(certificate.serial_number)
    if entry is not None:
        try:
            reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason.name
        except x509.ExtensionNotFound:
            reason = "unspecified"
        state = "suspended" if reason == "certificate_hold" else "revoked"
        raise CertificateRevoked(
            f"{describe(certificate)} is {state} since {entry.revocation_date_utc:%Y-%m-%d %H:%M}Z "
            f"(reason {reason}, per CRL {source})"
        )
    return RevocationResult("crl", source, crl.last_update_utc)


def _check_scope(idp: x509.IssuingDistributionPoint, cert: x509.Certificate, source: str) -> None:
    """A partitioned CRL (JPKI partitions by municipality) only answers for its own partition."""
    if idp.only_contains_ca_certs or idp.only_contains_attribute_certs or idp.indirect_crl:
        raise RevocationUnknown(f"the CRL {source} does not cover end-entity certificates of this CA")
    if idp.only_some_reasons:
        raise RevocationUnknown(f"the CRL {source} covers only some revocation reasons")
    if idp.full_name:
        try:
            dps = list(cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value)
        except x509.ExtensionNotFound:
            dps = []
        names = {name for dp in dps for name in (dp.full_name or [])}
        if not names.intersection(idp.full_name):
            raise RevocationUnknown(f"the CRL {source} is a partition that does not cover {describe(cert)}")


def load_crl(source: str, *, timeout: float = 10.0) -> x509.CertificateRevocationList:
    """A CRL from a file or an http(s) URL, PEM or DER."""
    if source.startswith(("http://", "https://")):
        data = _http(source, data=None, headers={}, timeout=timeout, what="CRL server")
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise RevocationUnknown(f"cannot read the CRL file {source} ({exc.strerror})") from exc
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise RevocationUnknown(f"{source} is not a CRL") from exc


def _http(url: str, *, data: bytes | None, headers: dict[str, str], timeout: float, what: str) -> bytes:
    if not url.startswith(("http://", "https://")):
        raise RevocationUnknown(f"the {what} address {url} is not an http(s) URL")
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")  # noqa: S310 - http(s) only
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310 - scheme checked above
            return reply.read()
    except urllib.error.HTTPError as exc:
        raise RevocationUnknown(f"the {what} at {url} answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RevocationUnknown(f"the {what} at {url} could not be reached ({reason})") from exc
