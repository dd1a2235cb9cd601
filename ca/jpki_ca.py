"""The JPKI signing CA and user-authentication CA (jpki-system.md §1).

Profiles, field by field:

root (§1.1)       subject = issuer = `jpki_names.ca_name(kind)`; 10 years ending 14:59:59Z;
                  keyUsage (critical) keyCertSign+cRLSign; subjectAltName dirName
                  `C=JP, O=<service>`; basicConstraints (critical) CA:TRUE, no pathLen;
                  cRLDistributionPoints dirName = own DN (an ARL); SKI. No AKI, no policies.
signing (§1.2)    subject `C=JP, L=<prefecture>, L=<city>, CN=<issuance id>`; keyUsage
                  (critical) digitalSignature+nonRepudiation; certificatePolicies (critical)
                  1.2.392.200149.8.5.1.0.20 + CPS URI; SAN with the six personal-data
                  otherNames; issuerAltName; CRLDP dirName partitioned by municipality; AKI; SKI.
auth (§1.3)       subject `C=JP, CN=<issuance id>`; keyUsage (critical) digitalSignature;
                  certificatePolicies 1.2.392.200149.8.5.1.3.30 (unconfirmed, see jpki_names);
                  NO subjectAltName; issuerAltName, CRLDP, AKI, SKI as for signing.

Choices where the sources are silent: the auth policy is critical like the signing one; the auth
certificate gets a municipality-partitioned CRLDP under the auth CA's name; extensions appear in
the order above. Serial numbers are the 発行番号 (§1.4): random, positive, unique per CA.

The issued-certificate register lives in memory (`JpkiCa.issued`). Revocation (CRL, OCSP) will
key on it by serial, as the statutory revocation record does (公的個人認証法 第12条).
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import MappingProxyType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.ca.errors import AuthorityError
from mynacard.ca.jpki_names import (
    AUTH_CPS_URI,
    AUTH_POLICY_OID,
    SIGN_CPS_URI,
    SIGN_POLICY_OID,
    CaKind,
    Locality,
    auth_subject,
    ca_name,
    crl_partition_name,
    service_name,
    signing_subject,
)
from mynacard.ca.keys import RSA_BITS, RSA_EXPONENT
from mynacard.ca.personal_data import PersonalData
from mynacard.ca.validity import end_entity_not_after, root_not_after

#: 発行番号 are 63-bit random positive integers: unique in practice, unique by check per CA.
SERIAL_BITS = 63
ISSUANCE_ID_ALPHABET = string.digits + string.ascii_uppercase


def random_serial() -> int:
    """A random positive serial number (never 0, at most 8 DER octets)."""
    return secrets.randbits(SERIAL_BITS - 1) | (1 << (SERIAL_BITS - 1))


def issuance_id(municipality_code: str, kind: CaKind) -> str:
    """The subject CN: opaque, like the test card's `997794E9AGCIEG13221003A`.

    Ours: 14 random [0-9A-Z], the 5-digit municipality code, `001`, then `S` (signing) or `A`.
    """
    random_part = "".join(secrets.choice(ISSUANCE_ID_ALPHABET) for _ in range(14))
    return f"{random_part}{municipality_code}001{'S' if kind is CaKind.SIGN else 'A'}"


def build_root_certificate(
    kind: CaKind, key: rsa.RSAPrivateKey, not_before: datetime, serial: int | None = None
) -> x509.Certificate:
    """A self-signed root with the §1.1 profile."""
    name = ca_name(kind)
    not_before = not_before.replace(microsecond=0)
    public_key = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(serial or random_serial())
        .not_valid_before(not_before)
        .not_valid_after(root_not_after(not_before))
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectAlternativeName([x509.DirectoryName(service_name())]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.CRLDistributionPoints(
                [x509.DistributionPoint([x509.DirectoryName(name)], None, None, None)]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )


def _end_entity_key_usage(non_repudiation: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=non_repudiation,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass(frozen=True)
class IssuedCertificate:
    """One entry of the issued-certificate register."""

    kind: CaKind
    serial: int
    issuance_id: str
    municipality_code: str
    certificate: x509.Certificate
    issued_at: datetime

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def not_after(self) -> datetime:
        return self.certificate.not_valid_after_utc


class JpkiCa:
    """One JPKI CA: its root certificate, its key, and what it has issued (in memory)."""

    kind: CaKind

    def __init__(self, certificate: x509.Certificate, key: rsa.RSAPrivateKey) -> None:
        public = certificate.public_key()
        if not isinstance(public, rsa.RSAPublicKey) or public.public_numbers() != key.public_key().public_numbers():
            raise AuthorityError(f"the {self.kind.value} CA key does not match its certificate")
        if certificate.subject != ca_name(self.kind):
            raise AuthorityError(f"the certificate given is not the {self.kind.value} test CA")
        self.certificate = certificate
        self._key = key
        self._issued: dict[int, IssuedCertificate] = {}

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        """The CA key (for writing the test authority; never logged)."""
        return self._key

    @property
    def issued(self) -> Mapping[int, IssuedCertificate]:
        """serial (発行番号) -> issued certificate, read-only."""
        return MappingProxyType(self._issued)

    def _new_serial(self) -> int:
        while (serial := random_serial()) in self._issued:
            continue
        return serial

    def _issue(
        self,
        *,
        subject: x509.Name,
        issuance: str,
        municipality_code: str,
        public_key: rsa.RSAPublicKey,
        not_after: datetime,
        issued_at: datetime,
        extensions: list[tuple[x509.ExtensionType, bool]],
    ) -> IssuedCertificate:
        if (
            not isinstance(public_key, rsa.RSAPublicKey)
            or public_key.key_size != RSA_BITS
            or public_key.public_numbers().e != RSA_EXPONENT
        ):
            raise AuthorityError("JPKI certifies RSA-2048 keys with exponent 65537 only")
        serial = self._new_serial()
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(serial)
            .not_valid_before(issued_at)
            .not_valid_after(not_after)
        )
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        certificate = builder.sign(self._key, hashes.SHA256())
        record = IssuedCertificate(
            kind=self.kind,
            serial=serial,
            issuance_id=issuance,
            municipality_code=municipality_code,
            certificate=certificate,
            issued_at=issued_at,
        )
        self._issued[serial] = record
        return record

    def _common_tail(self, locality: Locality, public_key: rsa.RSAPublicKey) -> list[tuple[x509.ExtensionType, bool]]:
        """issuerAltName, CRLDP, AKI, SKI: the same on both end-entity profiles."""
        return [
            (x509.IssuerAlternativeName([x509.DirectoryName(service_name())]), False),
            (
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            [x509.DirectoryName(crl_partition_name(self.kind, locality))],
                            None,
                            None,
                            None,
                        )
                    ]
                ),
                False,
            ),
            (
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                    self.certificate.extensions.get_extension_for_class(
                        x509.SubjectKeyIdentifier
                    ).value
                ),
                False,
            ),
            (x509.SubjectKeyIdentifier.from_public_key(public_key), False),
        ]


def _policy(oid: x509.ObjectIdentifier, cps_uri: str) -> x509.CertificatePolicies:
    return x509.CertificatePolicies([x509.PolicyInformation(oid, [cps_uri])])


def _moment(issued_at: datetime | None) -> datetime:
    moment = issued_at or datetime.now(UTC)
    if moment.tzinfo is None:
        raise AuthorityError("issuance times must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0)


class SigningCa(JpkiCa):
    """署名用認証局: issues signing certificates carrying the 基本4情報."""

    kind = CaKind.SIGN

    def issue(
        self,
        public_key: rsa.RSAPublicKey,
        personal_data: PersonalData,
        locality: Locality,
        municipality_code: str,
        card_expiry: date,
        auth_not_after: datetime,
        issued_at: datetime | None = None,
    ) -> IssuedCertificate:
        """A signing certificate (§1.2) ending at the earliest of the §1.2 limits."""
        moment = _moment(issued_at)
        not_after = end_entity_not_after(moment, personal_data.birth_date, card_expiry, auth_not_after)
        issuance = issuance_id(municipality_code, self.kind)
        return self._issue(
            subject=signing_subject(locality, issuance),
            issuance=issuance,
            municipality_code=municipality_code,
            public_key=public_key,
            not_after=not_after,
            issued_at=moment,
            extensions=[
                (_end_entity_key_usage(non_repudiation=True), True),
                (_policy(SIGN_POLICY_OID, SIGN_CPS_URI), True),
                (x509.SubjectAlternativeName(personal_data.other_names()), False),
                *self._common_tail(locality, public_key),
            ],
        )


class AuthenticationCa(JpkiCa):
    """利用者証明用認証局: issues user-authentication certificates (no personal data)."""

    kind = CaKind.AUTH

    def issue(
        self,
        public_key: rsa.RSAPublicKey,
        birth_date: date,
        locality: Locality,
        municipality_code: str,
        card_expiry: date,
        issued_at: datetime | None = None,
    ) -> IssuedCertificate:
        """A user-authentication certificate (§1.3); `birth_date` only sets its end."""
        moment = _moment(issued_at)
        not_after = end_entity_not_after(moment, birth_date, card_expiry)
        issuance = issuance_id(municipality_code, self.kind)
        return self._issue(
            subject=auth_subject(issuance),
            issuance=issuance,
            municipality_code=municipality_code,
            public_key=public_key,
            not_after=not_after,
            issued_at=moment,
            extensions=[
                (_end_entity_key_usage(non_repudiation=False), True),
                (_policy(AUTH_POLICY_OID, AUTH_CPS_URI), True),
                *self._common_tail(locality, public_key),
            ],
        )
