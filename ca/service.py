"""The CA service's core: the two served CAs, the store, issuance and status changes.

HTTP (`ca/http.py`) and the CLI are thin layers over `CaService`; CRL and OCSP (`crl.py`,
`ocsp_responder.py`) read the same store. Every status change calls the listeners registered with
`on_change`, so cached CRLs and OCSP answers are dropped in the same process at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.ca.errors import AuthorityError
from mynacard.ca.jpki_ca import AuthenticationCa, JpkiCa, SigningCa
from mynacard.ca.jpki_names import Locality
from mynacard.ca.personal_data import PersonalData
from mynacard.ca.revocation_reasons import HOLD, REVOCATION_REASONS
from mynacard.ca.store import CertificateRecord, CertificateStore
from mynacard.ca.validity import end_entity_not_after

CA_IDS = ("sign", "auth")
MUNICIPALITY_CODE = re.compile(r"[0-9]{5,6}")


@dataclass(frozen=True)
class Responder:
    """A CA's delegated OCSP signer (id-kp-OCSPSigning, id-pkix-ocsp-nocheck)."""

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey


@dataclass(frozen=True)
class ServedCa:
    """One CA as the service runs it."""

    id: str
    ca: JpkiCa
    responder: Responder

    @property
    def certificate(self) -> x509.Certificate:
        return self.ca.certificate


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise AuthorityError("public_key_pem is not a PEM SubjectPublicKeyInfo") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise AuthorityError("JPKI certifies RSA-2048 keys with exponent 65537 only")
    return key


def csr_public_key(pem: str) -> rsa.RSAPublicKey:
    """The public key of a CSR whose self-signature checks out."""
    try:
        csr = x509.load_pem_x509_csr(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise AuthorityError("csr_pem is not a PEM certificate request") from None
    if not csr.is_signature_valid:
        raise AuthorityError("the CSR's signature does not verify with its own public key")
    key = csr.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise AuthorityError("JPKI certifies RSA-2048 keys with exponent 65537 only")
    return key


def _check_municipality(code: str) -> None:
    if not MUNICIPALITY_CODE.fullmatch(code):
        raise AuthorityError("municipality_code must be the 5- or 6-digit 全国地方公共団体コード")


class CaService:
    """Issuance and revocation over one store, for the signing and the auth CA."""

    def __init__(self, cas: dict[str, ServedCa], store: CertificateStore) -> None:
        self.cas = cas
        self.store = store
        self._listeners: list[Callable[[str, int], None]] = []

    def on_change(self, listener: Callable[[str, int], None]) -> None:
        """Call `listener(ca_id, serial)` after every committed status change."""
        self._listeners.append(listener)

    def served(self, ca_id: str) -> ServedCa:
        try:
            return self.cas[ca_id]
        except KeyError:
            raise AuthorityError(f"there is no CA '{ca_id}' (use one of: {', '.join(CA_IDS)})") from None

    def issue_sign(
        self,
        public_key: rsa.RSAPublicKey,
        person: PersonalData,
        locality: Locality,
        municipality_code: str,
        card_expiry: date,
        *,
        auth_not_after: datetime | None,
        resident_id: str | None,
        card_serial: str | None,
        actor: str,
    ) -> CertificateRecord:
        _check_municipality(municipality_code)
        ca = self.served("sign").ca
        assert isinstance(ca, SigningCa)
        now = datetime.now(UTC).replace(microsecond=0)
        limit = auth_not_after or end_entity_not_after(now, person.birth_date, card_expiry)
        issued = ca.issue(public_key, person, locality, municipality_code, card_expiry, limit, now)
        return self.store.record_issued("sign", issued, resident_id=resident_id, card_serial=card_serial, actor=actor)

    def issue_auth(
        self,
        public_key: rsa.RSAPublicKey,
        birth_date: date,
        locality: Locality,
        municipality_code: str,
        card_expiry: date,
        *,
        resident_id: str | None,
        card_serial: str | None,
        actor: str,
    ) -> CertificateRecord:
        _check_municipality(municipality_code)
        ca = self.served("auth").ca
        assert isinstance(ca, AuthenticationCa)
        issued = ca.issue(public_key, birth_date, locality, municipality_code, card_expiry)
        return self.store.record_issued("auth", issued, resident_id=resident_id, card_serial=card_serial, actor=actor)

    def change_status(
        self,
        ca_id: str,
        serial: int,
        action: str,
        *,
        reason: str | None = None,
        cause: str | None = None,
        invalidity_date: datetime | None = None,
        actor: str,
    ) -> CertificateRecord:
        self.served(ca_id)
        if action == "revoke":
            reason = reason or "unspecified"
            if reason not in REVOCATION_REASONS:
                raise AuthorityError(
                    f"reason must be one of {', '.join(REVOCATION_REASONS)} (suspension is the hold call)"
                )
        elif action == "hold":
            reason = HOLD
        record, changed = self.store.change_status(
            ca_id, serial, action, reason=reason, cause=cause, invalidity_date=invalidity_date, actor=actor
        )
        if changed:
            for listener in self._listeners:
                listener(ca_id, serial)
        return record
