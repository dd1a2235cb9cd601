"""Names, OIDs and URIs of our JPKI test CAs (jpki-system.md §1.1–§1.3).

The shapes follow the real CAs; every value says it is a mynacard test and not J-LIS:

    real:  C=JP, O=JPKI,                 OU=JPKI for digital signature, OU=Japan Agency for …
    ours:  C=JP, O=JPKI-TEST (mynacard), OU=JPKI for digital signature, OU=mynacard test authority - not J-LIS

C is a PrintableString; O and OU are UTF8String, exactly as in the real roots.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

ORGANISATION = "JPKI-TEST (mynacard)"
AUTHORITY_UNIT = "mynacard test authority - not J-LIS"
#: Stands where the real certificates name 公的個人認証サービス (root SAN, end-entity issuerAltName).
SERVICE_ORGANISATION = "公的個人認証サービス テスト環境 (mynacard)"

#: Signing-certificate policy of the JPKI test environment, with a CPS-URI qualifier
#: (jpki-system.md §1.2: production uses …8.5.1.1.20, JPKI-TEST …8.5.1.0.20).
SIGN_POLICY_OID = x509.ObjectIdentifier("1.2.392.200149.8.5.1.0.20")
#: User-authentication policy. UNCONFIRMED: jpki-system.md §1.3 takes it from the OID table of
#: kjur's jsrsasign addon; no card has been seen to carry it.
AUTH_POLICY_OID = x509.ObjectIdentifier("1.2.392.200149.8.5.1.3.30")

#: `.test` is reserved (RFC 2606), so these can never resolve to anybody's real CPS.
SIGN_CPS_URI = "http://jpki.mynacard.test/cps/sign"
AUTH_CPS_URI = "http://jpki.mynacard.test/cps/auth"


class CaKind(enum.Enum):
    """Which of the two JPKI CAs; the value is the OU the real CA uses."""

    SIGN = "JPKI for digital signature"
    AUTH = "JPKI for user authentication"


@dataclass(frozen=True)
class Locality:
    """Where the holder lives, romanised as on the real certificates (a test card says
    `Kiyose-shi`): the signing subject's two L attributes and the CRLDP partition."""

    prefecture: str
    city: str


# cryptography encodes countryName as PrintableString and every other attribute used here as
# UTF8String by default, which is exactly the real CAs' encoding; tests check the DER.
def _attr(oid: x509.ObjectIdentifier, value: str) -> x509.NameAttribute[str]:
    return x509.NameAttribute(oid, value)


def ca_name(kind: CaKind) -> x509.Name:
    """Subject = issuer of the root (jpki-system.md §1.1)."""
    return x509.Name(
        [
            _attr(NameOID.COUNTRY_NAME, "JP"),
            _attr(NameOID.ORGANIZATION_NAME, ORGANISATION),
            _attr(NameOID.ORGANIZATIONAL_UNIT_NAME, kind.value),
            _attr(NameOID.ORGANIZATIONAL_UNIT_NAME, AUTHORITY_UNIT),
        ]
    )


def service_name() -> x509.Name:
    """`C=JP, O=<service>`: the root's subjectAltName and the end entities' issuerAltName."""
    return x509.Name(
        [
            _attr(NameOID.COUNTRY_NAME, "JP"),
            _attr(NameOID.ORGANIZATION_NAME, SERVICE_ORGANISATION),
        ]
    )


def crl_partition_name(kind: CaKind, locality: Locality) -> x509.Name:
    """The end entity's CRLDP dirName, partitioned by municipality (jpki-system.md §1.2):
    `C=JP, O=…, OU=<CA>, OU=CRL Distribution Points, OU=<prefecture>, CN=<city> CRLDP`."""
    return x509.Name(
        [
            _attr(NameOID.COUNTRY_NAME, "JP"),
            _attr(NameOID.ORGANIZATION_NAME, ORGANISATION),
            _attr(NameOID.ORGANIZATIONAL_UNIT_NAME, kind.value),
            _attr(NameOID.ORGANIZATIONAL_UNIT_NAME, "CRL Distribution Points"),
            _attr(NameOID.ORGANIZATIONAL_UNIT_NAME, locality.prefecture),
            _attr(NameOID.COMMON_NAME, f"{locality.city} CRLDP"),
        ]
    )


def signing_subject(locality: Locality, issuance_id: str) -> x509.Name:
    """`C=JP, L=<prefecture>, L=<city>, CN=<opaque issuance id>`: residence, never the name."""
    return x509.Name(
        [
            _attr(NameOID.COUNTRY_NAME, "JP"),
            _attr(NameOID.LOCALITY_NAME, locality.prefecture),
            _attr(NameOID.LOCALITY_NAME, locality.city),
            _attr(NameOID.COMMON_NAME, issuance_id),
        ]
    )


def auth_subject(issuance_id: str) -> x509.Name:
    """`C=JP, CN=<opaque id>`: no locality on the user-authentication certificate (§1.3)."""
    return x509.Name(
        [
            _attr(NameOID.COUNTRY_NAME, "JP"),
            _attr(NameOID.COMMON_NAME, issuance_id),
        ]
    )
