"""Detached CMS (PKCS#7) signatures made by the card's signing key, and their verification.

The card signs whatever DigestInfo it is given (`80 2A 00 80`, CI §6.2), so the host builds the
CMS structure (RFC 5652) itself: SignedData with no encapsulated content (detached), the signing
certificate, SHA-256, and signed attributes contentType, messageDigest, signingTime and
ESS signingCertificateV2 (what CAdES-BES asks for, so the signature names its certificate and
cannot be re-attributed to another one with the same key). The card signs the DigestInfo of the
DER SET of those attributes. The result is what `openssl cms -verify` and every CMS library accept.

Verification checks the signature, then the signer's certificate against the pinned *signing*
roots only (an auth certificate can never make a valid document signature), then revocation when
configured — failing closed.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from asn1crypto import algos, cms, core, pem, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mynacard.codec.digest_info import digest_info
from mynacard.host.revocation import RevocationConfig, RevocationResult, check_revocation
from mynacard.host.trust import TrustStore
from mynacard.host.verify import VerifiedCertificate, now, verify_certificate

#: A function that returns the card's PKCS#1 v1.5 signature over a DER DigestInfo.
DigestInfoSigner = Callable[[bytes], bytes]

_HASHES: dict[str, tuple[Callable[[bytes], hashlib._Hash], hashes.HashAlgorithm]] = {
    "sha256": (hashlib.sha256, hashes.SHA256()),
    "sha384": (hashlib.sha384, hashes.SHA384()),
    "sha512": (hashlib.sha512, hashes.SHA512()),
}
_RSA_SIGNATURE_ALGORITHMS = {"rsassa_pkcs1v15", "sha256_rsa", "sha384_rsa", "sha512_rsa"}


class SignatureInvalid(Exception):
    """The CMS signature is malformed, does not match the file, or its signer is not trusted."""


def _signing_time(at: datetime.datetime) -> cms.Time:
    # RFC 5652 §11.3: UTCTime for 1950–2049, GeneralizedTime otherwise.
    at = at.astimezone(datetime.UTC).replace(microsecond=0)
    key = "utc_time" if 1950 <= at.year < 2050 else "generalized_time"
    return cms.Time({key: at})


def sign_detached(
    data: bytes,
    certificate: x509.Certificate,
    sign: DigestInfoSigner,
    *,
    signing_time: datetime.datetime | None = None,
) -> bytes:
    """A DER ContentInfo holding a detached SignedData over `data`, signed through `sign`.

    The signature returned by `sign` is checked against `certificate` before anything is
    returned, so a card that signed with another key (or a wrong certificate) is caught here.
    """
    cert_der = certificate.public_bytes(serialization.Encoding.DER)
    cert_asn1 = asn1_x509.Certificate.load(cert_der)
    signed_attrs = cms.CMSAttributes([
        cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
        cms.CMSAttribute({"type": "signing_time", "values": [_signing_time(signing_time or now())]}),
        cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(data).digest()]}),
        cms.CMSAttribute({
            "type": "signing_certificate_v2",
            "values": [tsp.SigningCertificateV2({
                "certs": [tsp.ESSCertIDv2({
                    "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                    "cert_hash": hashlib.sha256(cert_der).digest(),
                    "issuer_serial": tsp.IssuerSerial({
                        "issuer": [asn1_x509.GeneralName({"directory_name": cert_asn1.issuer})],
                        "serial_number": cert_asn1.serial_number,
                    }),
                })],
            })],
        }),
    ])
    to_be_signed = signed_attrs.dump()  # DER SET OF: what the signature covers (RFC 5652 §5.4)
    signature = sign(digest_info("sha256", hashlib.sha256(to_be_signed).digest()))
    _check_rsa(certificate.public_key(), signature, to_be_signed, hashes.SHA256(),
               "the card's signature does not verify with its signing certificate; "
               "the certificate on the card does not belong to its signing key")

    signer = cms.SignerInfo({
        "version": "v1",
        "sid": cms.SignerIdentifier({
            "issuer_and_serial_number": cms.IssuerAndSerialNumber({
                "issuer": cert_asn1.issuer,
                "serial_number": cert_asn1.serial_number,
            }),
        }),
        "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
        "signed_attrs": signed_attrs,
        "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "rsassa_pkcs1v15"}),
        "signature": signature,
    })
    signed_data = cms.SignedData({
        "version": "v1",
        "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
        "encap_content_info": {"content_type": "data"},
        "certificates": [cert_asn1],
        "signer_infos": [signer],
    })
    return cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()


def _check_rsa(key: object, signature: bytes, message: bytes, algorithm: hashes.HashAlgorithm, problem: str) -> None:
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureInvalid("the signer's certificate does not hold an RSA key")
    try:
        key.verify(signature, message, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        raise SignatureInvalid(problem) from None


@dataclass(frozen=True)
class SignatureVerification:
    signer: VerifiedCertificate
    digest_algorithm: str
    signing_time: datetime.datetime | None
    revocation: list[RevocationResult]


def load_cms(signature: bytes) -> cms.SignedData:
    """The SignedData of a DER (or PEM) CMS/PKCS#7 file."""
    if signature.lstrip().startswith(b"-----BEGIN"):
        _, _, signature = pem.unarmor(signature.strip())
    try:
        info = cms.ContentInfo.load(signature)
        if info["content_type"].native != "signed_data":
            raise SignatureInvalid("the signature file is a CMS structure but not SignedData")
        signed_data = info["content"]
        _ = signed_data.native  # asn1crypto parses lazily: make malformed input fail here
        return signed_data
    except (ValueError, TypeError, KeyError) as exc:
        raise SignatureInvalid("the signature file is not a DER or PEM CMS/PKCS#7 signature") from exc


def verify_detached(
    data: bytes,
    signature: bytes,
    store: TrustStore,
    *,
    at: datetime.datetime | None = None,
    revocation: RevocationConfig | None = None,
) -> list[SignatureVerification]:
    """Verify every signer of a detached CMS signature over `data`; raises SignatureInvalid."""
    signed_data = load_cms(signature)
    if signed_data["encap_content_info"]["content"].native is not None:
        raise SignatureInvalid("the signature embeds its content; a detached signature was expected")
    content_type = signed_data["encap_content_info"]["content_type"].dotted
    certificates = [
        x509.load_der_x509_certificate(c.chosen.dump())
        for c in (signed_data["certificates"] or [])
        if c.name == "certificate"
    ]
    signers = list(signed_data["signer_infos"])
    if not signers:
        raise SignatureInvalid("the signature file has no signer")
    return [
        _verify_signer(info, data, content_type, certificates, store, at or now(), revocation)
        for info in signers
    ]


def _verify_signer(
    info: cms.SignerInfo,
    data: bytes,
    content_type: str,
    certificates: list[x509.Certificate],
    store: TrustStore,
    at: datetime.datetime,
    revocation: RevocationConfig | None,
) -> SignatureVerification:
    certificate = _find_signer_certificate(info["sid"], certificates)
    algorithm = info["digest_algorithm"]["algorithm"].native
    if algorithm not in _HASHES:
        raise SignatureInvalid(f"digest algorithm {algorithm} is not accepted (SHA-256/384/512 are)")
    hash_function, hash_algorithm = _HASHES[algorithm]
    if info["signature_algorithm"]["algorithm"].native not in _RSA_SIGNATURE_ALGORITHMS:
        raise SignatureInvalid(f"signature algorithm {info['signature_algorithm']['algorithm'].native} is not RSA PKCS#1 v1.5")

    signing_time = None
    attrs = info["signed_attrs"]
    if attrs.native is None or len(attrs) == 0:
        message = data
    else:
        values = {attr["type"].native: attr["values"] for attr in attrs}
        if "message_digest" not in values or "content_type" not in values:
            raise SignatureInvalid("the signed attributes lack messageDigest or contentType (RFC 5652 §5.3)")
        if values["content_type"][0].dotted != content_type:
            raise SignatureInvalid("the signed contentType differs from the SignedData's content type")
        if values["message_digest"][0].native != hash_function(data).digest():
            raise SignatureInvalid("the file does not match the signature (message digest differs): it was changed "
                                   "after signing, or it is another file")
        if "signing_time" in values:
            signing_time = values["signing_time"][0].native
        if "signing_certificate_v2" in values:
            _check_ess_binding(values["signing_certificate_v2"][0], certificate)
        message = _as_der_set(attrs)
    _check_rsa(certificate.public_key(), info["signature"].native, message, hash_algorithm,
               "the signature value does not verify with the signer's certificate")

    verified = verify_certificate(certificate, store, at=at)
    revoked = []
    if revocation is not None and revocation.enabled:
        revoked = check_revocation(certificate, verified.issuer, revocation, at=at)
    return SignatureVerification(verified, algorithm, signing_time, revoked)


def _check_ess_binding(attribute: tsp.SigningCertificateV2, certificate: x509.Certificate) -> None:
    """ESS signingCertificateV2 (RFC 5035): the signer named the hash of its certificate, so a
    different certificate with the same key cannot be passed off as the signer's."""
    cert_ids = attribute["certs"]
    if len(cert_ids) == 0:
        raise SignatureInvalid("the signingCertificateV2 attribute names no certificate")
    first = cert_ids[0]
    algorithm = first["hash_algorithm"]["algorithm"].native
    if algorithm not in _HASHES:
        raise SignatureInvalid(f"signingCertificateV2 uses {algorithm}, which is not accepted")
    der = certificate.public_bytes(serialization.Encoding.DER)
    if first["cert_hash"].native != _HASHES[algorithm][0](der).digest():
        raise SignatureInvalid("the signature names another certificate than the one it carries "
                               "(signingCertificateV2 hash differs)")


def _as_der_set(attrs: cms.CMSAttributes) -> bytes:
    """The signed attributes re-tagged as the universal SET they are signed as (RFC 5652 §5.4)."""
    contents = attrs.contents
    return bytes([0x31]) + _der_length(len(contents)) + contents


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


#: jpki-personalData otherNames of the signing certificate (jpki-system.md §1.2).
_PERSONAL_DATA = {"1.2.392.200149.8.5.5.1": "name", "1.2.392.200149.8.5.5.3": "sex",
                  "1.2.392.200149.8.5.5.4": "birth", "1.2.392.200149.8.5.5.5": "address"}


def signer_personal_data(certificate: x509.Certificate) -> dict[str, str]:
    """Name, address, birth date (YYYYMMDD) and sex from a JPKI signing certificate's SAN:
    who signed, which is what a verifier wants to know. Empty for certificates without them."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return {}
    found = {}
    for other in san.get_values_for_type(x509.OtherName):
        field = _PERSONAL_DATA.get(other.type_id.dotted_string)
        if field is None:
            continue
        try:
            value = core.load(other.value).native
        except ValueError:
            continue
        if isinstance(value, str):
            found[field] = value[1:] if field == "birth" and len(value) == 9 else value  # drop the era digit
    return found


def _find_signer_certificate(sid: cms.SignerIdentifier, certificates: list[x509.Certificate]) -> x509.Certificate:
    for cert in certificates:
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            issuer_der = cert.issuer.public_bytes()
            if cert.serial_number == wanted["serial_number"].native and issuer_der == wanted["issuer"].dump():
                return cert
        else:
            try:
                ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
            except x509.ExtensionNotFound:
                continue
            if ski == sid.chosen.native:
                return cert
    raise SignatureInvalid("the signature does not include its signer's certificate")
