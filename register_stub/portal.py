"""Portal login with the card's auth certificate (マイナポータル pattern, jpki-system.md §6.4, §2.4).

1. The register hands out a random challenge (single use, 5 minutes).
2. The card signs it with its auth key after the 4-digit PIN — through the host middleware:
   `MyNumberCard.open(reader).jpki.sign(challenge, key=Key.AUTH)` gives a PKCS#1 v1.5
   signature over SHA-256 (docs/register.md, "Portal login").
3. The register checks the signature with the certificate's key, the certificate's chain to the
   auth CA the CA service serves (never a CA certificate sent by the client), its validity and
   key usage, and its status by OCSP at the CA service (fail closed: no good answer, no login).
4. The certificate's serial (発行番号, with the issuer checked) maps to the card and resident the
   register recorded at issuance; a held or revoked card does not log in.
5. The resident gets a session token (stored as SHA-256, 15 minutes) that reads only their own
   record and their access records.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import ocsp
from sqlalchemy import select
from sqlalchemy.orm import Session

from mynacard.register_stub.errors_api import Conflict, NotFound
from mynacard.register_stub.models import Card, Certificate, PortalChallenge, PortalSession, Resident
from mynacard.service.errors import ApiError

CHALLENGE_BYTES = 32
CHALLENGE_LIFETIME = timedelta(minutes=5)
SESSION_LIFETIME = timedelta(minutes=15)
CLOCK_SKEW = timedelta(minutes=5)


class LoginRefused(ApiError):
    def __init__(self, detail: str) -> None:
        super().__init__(401, "login-refused", detail)


class StatusUnavailable(LoginRefused):
    """No usable OCSP answer: still no login (fail closed), but a failure to retry, not a verdict."""


def new_challenge(session: Session) -> tuple[str, datetime]:
    challenge = base64.urlsafe_b64encode(secrets.token_bytes(CHALLENGE_BYTES)).decode("ascii").rstrip("=")
    expires = datetime.now(UTC) + CHALLENGE_LIFETIME
    session.add(PortalChallenge(challenge=challenge, expires_at=expires, used=False))
    return challenge, expires


def decode_base64(text: str, what: str) -> bytes:
    """Standard or URL-safe base64, padded or not."""
    normalised = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    if not re.fullmatch(r"[A-Za-z0-9_-]*", normalised) or len(normalised) % 4 == 1:
        raise LoginRefused(f"the {what} is not base64")
    return base64.urlsafe_b64decode(normalised + "=" * (-len(normalised) % 4))


def consume_challenge(session: Session, challenge: str) -> bytes:
    """The challenge's bytes; it is marked used (a replayed login fails)."""
    row = session.execute(
        select(PortalChallenge).where(PortalChallenge.challenge == challenge).with_for_update()
    ).scalar_one_or_none()
    if row is None or row.used:
        raise LoginRefused("the challenge is unknown or already used; ask for a new one")
    if row.expires_at < datetime.now(UTC):
        raise LoginRefused("the challenge has expired; ask for a new one")
    row.used = True
    return decode_base64(challenge, "challenge")


def verify_login(
    challenge: bytes, signature: bytes, certificate_der: bytes, auth_ca: x509.Certificate, ocsp_url: str,
    http: httpx.Client, now: datetime | None = None,
) -> x509.Certificate:
    """Check signature, chain, validity, key usage and OCSP status; returns the certificate."""
    now = now or datetime.now(UTC)
    try:
        certificate = x509.load_der_x509_certificate(certificate_der)
    except ValueError:
        raise LoginRefused("the certificate is not a DER X.509 certificate") from None
    if certificate.issuer != auth_ca.subject:
        raise LoginRefused("the certificate was not issued by the user-authentication CA")
    try:
        certificate.verify_directly_issued_by(auth_ca)
    except (ValueError, TypeError, InvalidSignature):
        raise LoginRefused("the certificate's signature does not verify against the user-authentication CA") from None
    if not certificate.not_valid_before_utc - CLOCK_SKEW <= now <= certificate.not_valid_after_utc:
        raise LoginRefused("the certificate is not valid now")
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise LoginRefused("the certificate has no key usage") from None
    if not usage.digital_signature:
        raise LoginRefused("the certificate is not for digital signatures")
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise LoginRefused("the certificate's key is not RSA")
    try:
        key.verify(signature, challenge, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise LoginRefused("the signature over the challenge does not verify with the certificate's key") from None
    _check_ocsp(certificate, auth_ca, ocsp_url, http, now)
    return certificate


def _check_ocsp(certificate: x509.Certificate, issuer: x509.Certificate, url: str, http: httpx.Client,
                now: datetime) -> None:
    request = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA1()).build()  # noqa: S303 - the RFC 6960 CertID hash responders expect
    try:
        response = http.post(url, content=request.public_bytes(serialization.Encoding.DER),
                             headers={"Content-Type": "application/ocsp-request"})
    except httpx.HTTPError:
        raise StatusUnavailable("the certificate status could not be checked (OCSP responder unreachable)") from None
    try:
        answer = ocsp.load_der_ocsp_response(response.content)
    except ValueError:
        raise StatusUnavailable("the OCSP responder's answer is not an OCSP response") from None
    if answer.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise StatusUnavailable("the OCSP responder did not answer successfully")
    signer = _responder(answer, issuer)
    signer_key = signer.public_key()
    if answer.signature_hash_algorithm is None or not isinstance(signer_key, rsa.RSAPublicKey):
        raise LoginRefused("the OCSP answer is signed with an unexpected algorithm")
    try:
        signer_key.verify(answer.signature, answer.tbs_response_bytes, padding.PKCS1v15(),
                          answer.signature_hash_algorithm)
    except InvalidSignature:
        raise LoginRefused("the OCSP answer's signature does not verify") from None
    for single in answer.responses:
        if single.serial_number != certificate.serial_number:
            continue
        if single.next_update_utc is not None and single.next_update_utc < now - CLOCK_SKEW:
            raise LoginRefused("the OCSP answer is stale")
        if single.certificate_status == ocsp.OCSPCertStatus.GOOD:
            return
        raise LoginRefused("the auth certificate is revoked or suspended")
    raise LoginRefused("the OCSP answer does not cover this certificate")


def _responder(answer: ocsp.OCSPResponse, issuer: x509.Certificate) -> x509.Certificate:
    """The CA itself, or a responder certificate the CA issued for OCSP signing."""
    for candidate in answer.certificates:
        try:
            candidate.verify_directly_issued_by(issuer)
            usage = candidate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
            continue
        if x509.oid.ExtendedKeyUsageOID.OCSP_SIGNING in usage:
            return candidate
    return issuer


def resident_of(session: Session, certificate: x509.Certificate) -> tuple[str, str]:
    """(resident code, serial) of an auth certificate the register recorded on a card in use."""
    serial = f"{certificate.serial_number:X}"
    row = session.get(Certificate, ("auth", serial))
    if row is None:
        raise LoginRefused("this certificate belongs to no card the register issued")
    card = session.get(Card, row.card_serial)
    resident = session.get(Resident, row.resident_code)
    if card is None or card.status != "active" or row.status != "good":
        raise LoginRefused("the card is suspended or no longer in use")
    if resident is None:
        raise NotFound("the card's resident is not on the register")
    if resident.status == "deleted":
        raise Conflict("the resident's record has been deleted")
    return resident.resident_code, serial


def open_session(session: Session, resident_code: str, serial: str) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + SESSION_LIFETIME
    session.add(PortalSession(digest=_digest(token), resident_code=resident_code, auth_serial=serial,
                              expires_at=expires))
    return token, expires


def session_resident(session: Session, token: str) -> str | None:
    row = session.get(PortalSession, _digest(token))
    if row is None or row.expires_at < datetime.now(UTC):
        return None
    return row.resident_code


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
