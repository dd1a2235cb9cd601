"""JPKI certificate profiles, field by field (jpki-system.md §1.1 roots, §1.2 signing, §1.3 auth)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from asn1crypto import core as asn1_core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtensionOID, NameOID

from mynacard.ca.authority import Authority
from mynacard.ca.errors import AuthorityError
from mynacard.ca.jpki_ca import IssuedCertificate
from mynacard.ca.jpki_names import CaKind, Locality
from mynacard.ca.personal_data import PersonalData

ISSUED_AT = datetime(2026, 1, 10, 3, 0, tzinfo=UTC)  # 12:00 JST
BIRTH = date(1980, 2, 17)
CARD_EXPIRY = date(2035, 2, 17)
LOCALITY = Locality("Tokyo-to", "Kiyose-shi")
PERSON = PersonalData("黒桐\u3000幹也", "1", BIRTH, "東京都清瀬市観布子南１２－７－２０２")


def _string_types(name: x509.Name) -> list[tuple[str, str, str]]:
    """(attribute, ASN.1 string type, value) in DER order, read with asn1crypto."""
    parsed = asn1_x509.Name.load(name.public_bytes())
    return [(atv["type"].native, atv["value"].name, atv["value"].native) for rdn in parsed.chosen for atv in rdn]


def _ext(cert: x509.Certificate, cls: type) -> x509.Extension:
    return cert.extensions.get_extension_for_class(cls)


def _issue_pair(authority: Authority, keys: list[rsa.RSAPrivateKey]) -> tuple[IssuedCertificate, IssuedCertificate]:
    auth = authority.auth_ca.issue(keys[0].public_key(), BIRTH, LOCALITY, "13221", CARD_EXPIRY, ISSUED_AT)
    sign = authority.sign_ca.issue(
        keys[1].public_key(), PERSON, LOCALITY, "13221", CARD_EXPIRY, auth.not_after, ISSUED_AT
    )
    return sign, auth


@pytest.fixture
def issued(authority: Authority, pool_keys: list[rsa.RSAPrivateKey]) -> tuple[IssuedCertificate, IssuedCertificate]:
    return _issue_pair(authority, pool_keys)


# -- roots --------------------------------------------------------------------------------------


@pytest.fixture(params=["committed", "generated"])
def roots(request: pytest.FixtureRequest, key_pool) -> dict[CaKind, x509.Certificate]:
    """Both the committed authority and one freshly generated must have the §1.1 profile."""
    if request.param == "committed":
        authority = request.getfixturevalue("authority")
    else:
        authority = Authority.generate(key_pool, datetime(2023, 7, 16, 0, 50, 27, tzinfo=UTC))
    return {CaKind.SIGN: authority.sign_ca.certificate, CaKind.AUTH: authority.auth_ca.certificate}


@pytest.mark.parametrize("kind", list(CaKind))
def test_root_name_shape_and_encoding(roots, kind: CaKind) -> None:
    """§1.1: C=JP (PrintableString), O and both OUs UTF8String; ours say JPKI-TEST and not J-LIS."""
    cert = roots[kind]
    assert cert.subject == cert.issuer
    assert _string_types(cert.subject) == [
        ("country_name", "printable_string", "JP"),
        ("organization_name", "utf8_string", "JPKI-TEST (mynacard)"),
        ("organizational_unit_name", "utf8_string", kind.value),
        ("organizational_unit_name", "utf8_string", "mynacard test authority - not J-LIS"),
    ]


@pytest.mark.parametrize("kind", list(CaKind))
def test_root_extensions(roots, kind: CaKind) -> None:
    """§1.1: keyUsage (critical) keyCertSign+cRLSign; SAN dirName C=JP,O=<service>; basicConstraints
    (critical) CA:TRUE no pathLen; CRLDP dirName = own DN; SKI; no AKI, no certificatePolicies."""
    cert = roots[kind]
    assert [e.oid for e in cert.extensions] == [
        ExtensionOID.KEY_USAGE,
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
        ExtensionOID.BASIC_CONSTRAINTS,
        ExtensionOID.CRL_DISTRIBUTION_POINTS,
        ExtensionOID.SUBJECT_KEY_IDENTIFIER,
    ]
    usage = _ext(cert, x509.KeyUsage)
    assert usage.critical
    assert usage.value.key_cert_sign and usage.value.crl_sign
    assert not (usage.value.digital_signature or usage.value.content_commitment or usage.value.key_encipherment)
    constraints = _ext(cert, x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length is None
    (san,) = _ext(cert, x509.SubjectAlternativeName).value
    assert _string_types(san.value)[0] == ("country_name", "printable_string", "JP")
    assert "(mynacard)" in san.value.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    (point,) = _ext(cert, x509.CRLDistributionPoints).value
    assert point.full_name == [x509.DirectoryName(cert.subject)]
    assert _ext(cert, x509.SubjectKeyIdentifier).value == x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
    cert.verify_directly_issued_by(cert)


@pytest.mark.parametrize("kind", list(CaKind))
def test_root_validity_and_key(roots, kind: CaKind) -> None:
    """§1.1: RSA-2048 e=65537, sha256WithRSA, ten years ending 14:59:59Z (23:59:59 JST)."""
    cert = roots[kind]
    public = cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048 and public.public_numbers().e == 65537
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    end = cert.not_valid_after_utc
    assert (end.hour, end.minute, end.second) == (14, 59, 59)
    assert end.year - cert.not_valid_before_utc.year == 10
    assert cert.serial_number > 0


# -- signing certificate ------------------------------------------------------------------------


def test_signing_subject_is_residence_not_name(issued) -> None:
    """§1.2: subject C=JP, L=<prefecture>, L=<city>, CN=<opaque issuance id>."""
    sign, _ = issued
    types = _string_types(sign.certificate.subject)
    assert types[:3] == [
        ("country_name", "printable_string", "JP"),
        ("locality_name", "utf8_string", "Tokyo-to"),
        ("locality_name", "utf8_string", "Kiyose-shi"),
    ]
    assert types[3][0] == "common_name" and types[3][2] == sign.issuance_id
    assert "13221" in sign.issuance_id and "黒桐" not in sign.issuance_id


def test_signing_extensions_and_criticality(issued, authority: Authority) -> None:
    """§1.2: keyUsage critical digitalSignature+nonRepudiation; certificatePolicies CRITICAL with
    1.2.392.200149.8.5.1.0.20 and a CPS URI; SAN; issuerAltName; CRLDP; AKI; SKI."""
    cert = issued[0].certificate
    assert [(e.oid, e.critical) for e in cert.extensions] == [
        (ExtensionOID.KEY_USAGE, True),
        (ExtensionOID.CERTIFICATE_POLICIES, True),
        (ExtensionOID.SUBJECT_ALTERNATIVE_NAME, False),
        (ExtensionOID.ISSUER_ALTERNATIVE_NAME, False),
        (ExtensionOID.CRL_DISTRIBUTION_POINTS, False),
        (ExtensionOID.AUTHORITY_KEY_IDENTIFIER, False),
        (ExtensionOID.SUBJECT_KEY_IDENTIFIER, False),
    ]
    usage = _ext(cert, x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment
    assert not (usage.key_encipherment or usage.key_cert_sign or usage.crl_sign or usage.key_agreement)
    (policy,) = _ext(cert, x509.CertificatePolicies).value
    assert policy.policy_identifier.dotted_string == "1.2.392.200149.8.5.1.0.20"
    assert policy.policy_qualifiers == ["http://jpki.mynacard.test/cps/sign"]
    (issuer_alt,) = _ext(cert, x509.IssuerAlternativeName).value
    assert issuer_alt == x509.DirectoryName(authority.sign_ca.certificate.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value[0].value)
    (point,) = _ext(cert, x509.CRLDistributionPoints).value
    assert _string_types(point.full_name[0].value) == [
        ("country_name", "printable_string", "JP"),
        ("organization_name", "utf8_string", "JPKI-TEST (mynacard)"),
        ("organizational_unit_name", "utf8_string", "JPKI for digital signature"),
        ("organizational_unit_name", "utf8_string", "CRL Distribution Points"),
        ("organizational_unit_name", "utf8_string", "Tokyo-to"),
        ("common_name", "utf8_string", "Kiyose-shi CRLDP"),
    ]
    root_ski = _ext(authority.sign_ca.certificate, x509.SubjectKeyIdentifier).value
    assert _ext(cert, x509.AuthorityKeyIdentifier).value.key_identifier == root_ski.digest
    assert _ext(cert, x509.SubjectKeyIdentifier).value == x509.SubjectKeyIdentifier.from_public_key(cert.public_key())


def test_signing_san_other_names_decoded(issued) -> None:
    """§1.2: six otherNames 1.2.392.200149.8.5.5.1–.6, each `[0] EXPLICIT UTF8String`: name with
    U+3000, its map of '0's, sex 1/2/3, birth EYYYYMMDD (era digit + Gregorian), address, map."""
    cert = issued[0].certificate
    san_der = _ext(cert, x509.SubjectAlternativeName).value.public_bytes()
    names = asn1_x509.GeneralNames.load(san_der)
    decoded = {}
    for general_name in names:
        assert general_name.name == "other_name"
        other = general_name.chosen
        raw = other["value"].dump()
        assert raw[0] == 0xA0, "value must be [0] EXPLICIT"
        value = other["value"].parse()
        assert isinstance(value, asn1_core.UTF8String), "inner value must be a UTF8String"
        assert raw[2] == 0x0C
        decoded[other["type_id"].dotted] = value.native
    arc = "1.2.392.200149.8.5.5"
    assert decoded == {
        f"{arc}.1": "黒桐\u3000幹也",
        f"{arc}.2": "00000",
        f"{arc}.3": "1",
        f"{arc}.4": "319800217",
        f"{arc}.5": "東京都清瀬市観布子南１２－７－２０２",
        f"{arc}.6": "0" * 18,
    }


def test_signing_validity_rule(issued) -> None:
    """§1.2: earliest of 5th birthday after issuance, auth cert end, card expiry (23:59:59 JST).
    Issued 2026-01-10, DOB 02-17: birthdays 2026…2030, so 2030-02-17 14:59:59Z."""
    sign, auth = issued
    assert sign.certificate.not_valid_before_utc == ISSUED_AT
    assert sign.not_after == datetime(2030, 2, 17, 14, 59, 59, tzinfo=UTC)
    assert sign.not_after <= auth.not_after


def test_end_entities_chain_to_their_own_roots_only(issued, authority: Authority) -> None:
    """§2.4: signing and auth trust stores are separate; each certificate verifies only under its root."""
    sign, auth = issued
    sign.certificate.verify_directly_issued_by(authority.sign_ca.certificate)
    auth.certificate.verify_directly_issued_by(authority.auth_ca.certificate)
    with pytest.raises(ValueError):
        sign.certificate.verify_directly_issued_by(authority.auth_ca.certificate)


# -- user-authentication certificate ------------------------------------------------------------


def test_auth_profile(issued, authority: Authority) -> None:
    """§1.3: subject C=JP, CN only; keyUsage critical digitalSignature only; policy
    1.2.392.200149.8.5.1.3.30; NO subjectAltName; issuerAltName, CRLDP, AKI, SKI."""
    cert = issued[1].certificate
    assert [t[0] for t in _string_types(cert.subject)] == ["country_name", "common_name"]
    assert [(e.oid, e.critical) for e in cert.extensions] == [
        (ExtensionOID.KEY_USAGE, True),
        (ExtensionOID.CERTIFICATE_POLICIES, True),
        (ExtensionOID.ISSUER_ALTERNATIVE_NAME, False),
        (ExtensionOID.CRL_DISTRIBUTION_POINTS, False),
        (ExtensionOID.AUTHORITY_KEY_IDENTIFIER, False),
        (ExtensionOID.SUBJECT_KEY_IDENTIFIER, False),
    ]
    usage = _ext(cert, x509.KeyUsage).value
    assert usage.digital_signature and not usage.content_commitment
    (policy,) = _ext(cert, x509.CertificatePolicies).value
    assert policy.policy_identifier.dotted_string == "1.2.392.200149.8.5.1.3.30"
    with pytest.raises(x509.ExtensionNotFound):
        _ext(cert, x509.SubjectAlternativeName)
    (point,) = _ext(cert, x509.CRLDistributionPoints).value
    assert "JPKI for user authentication" in point.full_name[0].value.rfc4514_string()
    assert cert.issuer == authority.auth_ca.certificate.subject


def test_serials_are_positive_unique_and_registered(authority: Authority, pool_keys) -> None:
    """§1.4: the serial is the 発行番号; the CA keeps a register keyed by it (revocation comes later)."""
    certs = [_issue_pair(authority, pool_keys) for _ in range(3)]
    serials = [c.serial for pair in certs for c in pair]
    assert all(s > 0 for s in serials)
    assert len({c.serial for c, _ in certs}) == 3
    assert set(authority.sign_ca.issued) == {c.serial for c, _ in certs}
    assert authority.auth_ca.issued[certs[0][1].serial].certificate == certs[0][1].certificate
    with pytest.raises(TypeError):
        authority.sign_ca.issued[1] = certs[0][0]  # type: ignore[index]


def test_weak_or_foreign_keys_are_refused(authority: Authority) -> None:
    """§1.2: RSA-2048 (at least 2048 bits by law, exactly 2048 on the card)."""
    small = rsa.generate_private_key(65537, 1024)
    with pytest.raises(AuthorityError, match="RSA-2048"):
        authority.auth_ca.issue(small.public_key(), BIRTH, LOCALITY, "13221", CARD_EXPIRY, ISSUED_AT)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(AuthorityError, match="RSA-2048"):
        authority.auth_ca.issue(ec_key.public_key(), BIRTH, LOCALITY, "13221", CARD_EXPIRY, ISSUED_AT)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "address", "message"),
    [
        ("黒桐幹也", "東京都清瀬市", "U\\+3000"),
        ("𠮷田\u3000太郎", "東京都清瀬市", "outside JIS"),
        ("吉田\u3000太郎", "", "address"),
    ],
)
def test_personal_data_is_checked(name: str, address: str, message: str) -> None:
    """§1.2: name with U+3000; characters needing a 代替文字 are refused (we cannot pick one)."""
    with pytest.raises(AuthorityError, match=message):
        PersonalData(name, "1", BIRTH, address)


def test_ca_refuses_a_key_that_is_not_its_own(authority: Authority, pool_keys) -> None:
    with pytest.raises(AuthorityError, match="does not match"):
        type(authority.sign_ca)(authority.sign_ca.certificate, pool_keys[0])


def test_der_round_trip(issued) -> None:
    sign, _ = issued
    assert x509.load_der_x509_certificate(sign.der) == sign.certificate
    assert sign.certificate.public_bytes(serialization.Encoding.DER) == sign.der
