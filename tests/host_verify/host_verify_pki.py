"""Test PKI for host verification: roots, end entities and 券面 records, built here from
jpki-system.md §1 and CI §7–§8 so the verifier is tested against the documents, not against
another package's reading of them. Keys are generated once per name per session (never per test).
"""

from __future__ import annotations

import datetime
import functools
import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import NoDigestInfo
from cryptography.x509.oid import NameOID

from mynacard.codec.digest_info import sha256_digest_info
from mynacard.codec.tlv import encode as tlv

UTC = datetime.UTC
NOW = datetime.datetime.now(UTC).replace(microsecond=0)
DAY = datetime.timedelta(days=1)
YEAR = datetime.timedelta(days=365)

SIGN_POLICY = "1.2.392.200149.8.5.1.0.20"
AUTH_POLICY = "1.2.392.200149.8.5.1.3.30"


@functools.cache
def key(name: str) -> rsa.RSAPrivateKey:
    """One RSA-2048 key per name for the whole session."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ca_name(unit: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "JPKI-TEST (host_verify tests)"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
    ])


SIGN_DN = ca_name("JPKI for digital signature")
AUTH_DN = ca_name("JPKI for user authentication")


def _key_usage(**bits: bool) -> x509.KeyUsage:
    names = ["digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"]
    return x509.KeyUsage(**{n: bits.get(n, False) for n in names})


def make_root(dn: x509.Name, key_name: str, *, not_before=NOW - 2 * YEAR, not_after=NOW + 8 * YEAR,
              serial: int = 1) -> x509.Certificate:
    k = key(key_name)
    return (
        x509.CertificateBuilder().subject_name(dn).issuer_name(dn).public_key(k.public_key())
        .serial_number(serial).not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(k.public_key()), critical=False)
        .sign(k, hashes.SHA256())
    )


def make_end_entity(
    issuer: x509.Certificate,
    issuer_key: str,
    subject_key: str,
    *,
    signing: bool,
    serial: int,
    not_before=NOW - DAY,
    not_after=NOW + 4 * YEAR,
    key_usage: x509.KeyUsage | None = None,
    policy: str | None = None,
    extra: tuple[tuple[x509.ExtensionType, bool], ...] = (),
    crl_dp: str | None = None,
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                         x509.NameAttribute(NameOID.COMMON_NAME, f"HOSTVERIFY{serial}")])
    if key_usage is None:
        key_usage = _key_usage(digital_signature=True, content_commitment=signing)
    policy = policy or (SIGN_POLICY if signing else AUTH_POLICY)
    builder = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer.subject)
        .public_key(key(subject_key).public_key()).serial_number(serial)
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(key_usage, critical=True)
        .add_extension(x509.CertificatePolicies([x509.PolicyInformation(x509.ObjectIdentifier(policy), None)]),
                       critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key(issuer_key).public_key()),
                       critical=False)
    )
    if crl_dp:
        builder = builder.add_extension(x509.CRLDistributionPoints([
            x509.DistributionPoint([x509.UniformResourceIdentifier(crl_dp)], None, None, None)]),
            critical=False)
    for ext, critical in extra:
        builder = builder.add_extension(ext, critical=critical)
    return builder.sign(key(issuer_key), hashes.SHA256())


@dataclass(frozen=True)
class Pki:
    """Two generations of each root sharing one DN, and one end entity of each purpose."""

    sign_root_old: x509.Certificate  # key "sign-root-1"
    sign_root_new: x509.Certificate  # key "sign-root-2", same DN
    auth_root_old: x509.Certificate
    auth_root_new: x509.Certificate
    sign_cert: x509.Certificate  # issued by sign_root_new, key "sign-ee"
    auth_cert: x509.Certificate  # issued by auth_root_old, key "auth-ee"


def build_pki() -> Pki:
    sign_old = make_root(SIGN_DN, "sign-root-1", not_before=NOW - 9 * YEAR, not_after=NOW + YEAR, serial=1)
    sign_new = make_root(SIGN_DN, "sign-root-2", serial=2)
    auth_old = make_root(AUTH_DN, "auth-root-1", not_before=NOW - 9 * YEAR, not_after=NOW + YEAR, serial=1)
    auth_new = make_root(AUTH_DN, "auth-root-2", serial=2)
    return Pki(
        sign_old, sign_new, auth_old, auth_new,
        make_end_entity(sign_new, "sign-root-2", "sign-ee", signing=True, serial=0x5101),
        make_end_entity(auth_old, "auth-root-1", "auth-ee", signing=False, serial=0xA101),
    )


# --- 券面 records (CI §7–§8) -------------------------------------------------------------------


def card_key_encoding(public_key: rsa.RSAPublicKey) -> bytes:
    n = public_key.public_numbers()
    return tlv(0x90, n.e.to_bytes(3, "big")) + tlv(0x91, n.n.to_bytes(256, "big"))


def key_id(number: str, group: str = "001") -> bytes:
    return number.encode() + b"\x08\x05" + group.encode() + b"\x00" * 4


CV_ROOT_ID = key_id("9100001")
TEXT_ISSUER_ID = key_id("9100033")
VISUAL_ISSUER_ID = key_id("9100023")


def sign_sha256(key_name: str, data: bytes) -> bytes:
    return key(key_name).sign(data, padding.PKCS1v15(), hashes.SHA256())


def cv_certificate(issuer_id: bytes, issuer_key: str, subject_id: bytes, subject_key: str) -> bytes:
    body = issuer_id + subject_id + card_key_encoding(key(subject_key).public_key())
    return tlv(0x7F21, tlv(0x5F4E, body) + tlv(0x5F37, sign_sha256(issuer_key, body)))


def with_offset_table(outer_tag: int, table_tag: int, fields: list[bytes]) -> bytes:
    """`outer { table, fields… }` with the u16 offsets of the fields from the start of the file."""
    table_len = len(tlv(table_tag, bytes(2 * len(fields))))
    body_len = table_len + sum(len(f) for f in fields)
    offset = len(tlv(outer_tag, bytes(body_len))) - body_len + table_len
    offsets = b""
    for f in fields:
        offsets += offset.to_bytes(2, "big")
        offset += len(f)
    return tlv(outer_tag, tlv(table_tag, offsets) + b"".join(fields))


@dataclass
class TextAp:
    ef0001: bytes  # 17 physical bytes
    ef0002: bytes
    ef0003: bytes
    ef0004: bytes
    ef0007: bytes


def text_ap(my_number: str, name: str, address: str, birth: str, sex: str) -> TextAp:
    ef1 = tlv(0xFF10, my_number.encode()) + b"\xff\xff"
    fields = [tlv(0xDF22, name.encode()), tlv(0xDF23, address.encode()),
              tlv(0xDF24, birth.encode()), tlv(0xDF25, sex.encode())]
    ef2 = with_offset_table(0xFF20, 0xDF21, fields)
    digests = tlv(0xDF31, hashlib.sha256(ef1).digest()) + tlv(0xDF32, hashlib.sha256(b"".join(fields)).digest())
    ef3 = tlv(0xFF30, digests + tlv(0xDF33, sign_sha256("text-issuer", digests)))
    ap_key = tlv(0xDF51, card_key_encoding(key("text-ap").public_key()))
    ef7 = tlv(0xFF50, ap_key + tlv(0xDF52, sign_sha256("text-issuer", ap_key)))
    return TextAp(ef1, ef2, ef3, cv_certificate(CV_ROOT_ID, "cv-root", TEXT_ISSUER_ID, "text-issuer"), ef7)


@dataclass
class VisualAp:
    ef0001: bytes
    ef0002: bytes
    ef0004: bytes
    ef0005: bytes


def visual_ap(birth: str, sex: str, photo: bytes, name_png: bytes, address_png: bytes,
              expiry: str = "20350217", my_number_png: bytes = b"\x89PNG\r\n\x1a\nMYNUMBER") -> VisualAp:
    card_pub = card_key_encoding(key("card").public_key())
    part1 = tlv(0xDF22, birth.encode()) + tlv(0xDF23, sex.encode()) + tlv(0xDF24, card_pub)
    part2 = tlv(0xDF25, name_png) + tlv(0xDF26, address_png)
    part3 = tlv(0xDF27, photo)
    digest_info = sha256_digest_info(b"".join(hashlib.sha256(p).digest() for p in (part1, part2, part3)))
    signature = key("visual-issuer").sign(digest_info, padding.PKCS1v15(), NoDigestInfo())
    fields = [tlv(0xDF22, birth.encode()), tlv(0xDF23, sex.encode()), tlv(0xDF24, card_pub),
              tlv(0xDF25, name_png), tlv(0xDF26, address_png), tlv(0xDF27, photo),
              tlv(0xDF28, signature), tlv(0xDF29, expiry.encode()), tlv(0xDF2A, b"\x89PNGcode")]
    ef2 = with_offset_table(0xFF20, 0xDF21, fields) + b"\xff" * 32
    age = tlv(0xDF11, birth.encode()) + tlv(0xDF12, card_pub)
    ef1 = tlv(0xFF10, age + tlv(0xDF13, sign_sha256("visual-issuer", age)))
    image = tlv(0xDF41, my_number_png) + tlv(0xDF42, card_pub)
    ef5 = tlv(0xFF40, image + tlv(0xDF43, sign_sha256("visual-issuer", image)))
    return VisualAp(ef1, ef2, cv_certificate(CV_ROOT_ID, "cv-root", VISUAL_ISSUER_ID, "visual-issuer"), ef5)
