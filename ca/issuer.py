"""Who certifies a new card's JPKI keys: the in-process test authority or a CA service.

Personalisation (`register_stub/personalise.py`) asks a `CertificateIssuer`; `LocalIssuer` (the
default) signs in process with the committed test authority, `ServiceIssuer` asks a running CA
service through `CaClient`, so the certificates are recorded there, can be revoked, and carry the
service's OCSP URL and CRL distribution point.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.ca.authority import Authority
from mynacard.ca.client import CaClient, CaServiceError
from mynacard.ca.jpki_ca import IssuedCertificate
from mynacard.ca.jpki_names import CaKind, Locality
from mynacard.ca.personal_data import PersonalData


class CertificateIssuer(Protocol):
    """Issues a card's two JPKI certificates and names the CA certificates the card carries."""

    @property
    def sign_ca_certificate(self) -> x509.Certificate: ...

    @property
    def auth_ca_certificate(self) -> x509.Certificate: ...

    def issue_auth(
        self, public_key: rsa.RSAPublicKey, birth_date: date, locality: Locality, municipality_code: str,
        card_expiry: date, issued_at: datetime, card_serial: str,
    ) -> IssuedCertificate: ...

    def issue_sign(
        self, public_key: rsa.RSAPublicKey, personal_data: PersonalData, locality: Locality, municipality_code: str,
        card_expiry: date, auth_not_after: datetime, issued_at: datetime, card_serial: str,
    ) -> IssuedCertificate: ...


class LocalIssuer:
    """The in-process test authority (INSECURE test keys): nothing recorded, no status service."""

    def __init__(self, authority: Authority) -> None:
        self.authority = authority

    @property
    def sign_ca_certificate(self) -> x509.Certificate:
        return self.authority.sign_ca.certificate

    @property
    def auth_ca_certificate(self) -> x509.Certificate:
        return self.authority.auth_ca.certificate

    def issue_auth(
        self, public_key: rsa.RSAPublicKey, birth_date: date, locality: Locality, municipality_code: str,
        card_expiry: date, issued_at: datetime, card_serial: str,
    ) -> IssuedCertificate:
        return self.authority.auth_ca.issue(public_key, birth_date, locality, municipality_code, card_expiry, issued_at)

    def issue_sign(
        self, public_key: rsa.RSAPublicKey, personal_data: PersonalData, locality: Locality, municipality_code: str,
        card_expiry: date, auth_not_after: datetime, issued_at: datetime, card_serial: str,
    ) -> IssuedCertificate:
        return self.authority.sign_ca.issue(
            public_key, personal_data, locality, municipality_code, card_expiry, auth_not_after, issued_at
        )


def _pem(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _issued(kind: CaKind, record: dict[str, object], municipality_code: str) -> IssuedCertificate:
    certificate = x509.load_pem_x509_certificate(str(record["certificate_pem"]).encode())
    return IssuedCertificate(
        kind=kind,
        serial=certificate.serial_number,
        issuance_id=str(record["issuance_id"]),
        municipality_code=municipality_code,
        certificate=certificate,
        issued_at=datetime.fromisoformat(str(record["issued_at"])),
    )


class ServiceIssuer:
    """A CA service (`mynacard serve`), through its HTTP API; the issue time is the service's."""

    def __init__(self, client: CaClient, resident_id: str | None = None) -> None:
        self.client = client
        self.resident_id = resident_id
        roots = {str(entry["id"]): str(entry["certificate_pem"]) for entry in client.cas()}
        try:
            self._sign = x509.load_pem_x509_certificate(roots["sign"].encode())
            self._auth = x509.load_pem_x509_certificate(roots["auth"].encode())
        except KeyError:
            raise CaServiceError(0, "incomplete", f"{client.base_url} does not serve both JPKI CAs") from None

    @property
    def sign_ca_certificate(self) -> x509.Certificate:
        return self._sign

    @property
    def auth_ca_certificate(self) -> x509.Certificate:
        return self._auth

    def issue_auth(
        self, public_key: rsa.RSAPublicKey, birth_date: date, locality: Locality, municipality_code: str,
        card_expiry: date, issued_at: datetime, card_serial: str,
    ) -> IssuedCertificate:
        record = self.client.issue_auth(
            public_key_pem=_pem(public_key), birth_date=birth_date,
            locality={"prefecture": locality.prefecture, "city": locality.city},
            municipality_code=municipality_code, card_expiry=card_expiry,
            resident_id=self.resident_id, card_serial=card_serial,
        )
        return _issued(CaKind.AUTH, record, municipality_code)

    def issue_sign(
        self, public_key: rsa.RSAPublicKey, personal_data: PersonalData, locality: Locality, municipality_code: str,
        card_expiry: date, auth_not_after: datetime, issued_at: datetime, card_serial: str,
    ) -> IssuedCertificate:
        record = self.client.issue_sign(
            public_key_pem=_pem(public_key),
            person={"name": personal_data.name, "sex": personal_data.sex,
                    "birth_date": personal_data.birth_date.isoformat(), "address": personal_data.address},
            locality={"prefecture": locality.prefecture, "city": locality.city},
            municipality_code=municipality_code, card_expiry=card_expiry, auth_not_after=auth_not_after,
            resident_id=self.resident_id, card_serial=card_serial,
        )
        return _issued(CaKind.SIGN, record, municipality_code)
