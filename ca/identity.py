"""Which CA keys the service signs with, and where they live in the data directory.

Two origins:
- `test-authority` (the default): the committed mynacard test authority (`ca/authority.py`),
  INSECURE public test keys, so cards chain to the roots every host already pins. Needs no
  passphrase; labelled as such in `mynacard serve`'s output and in `GET /ca/v1/cas`.
- `deployment`: a CA pair made by `mynacard ca init` for one deployment: new keys, stored as
  encrypted PKCS#8 (scrypt + AES-256-CBC, cryptography's best available) under a passphrase from
  `MYNACARD_CA_PASSPHRASE` or a prompt. Its roots must then be given to verifiers explicitly.

Either way each CA gets a delegated OCSP signer (RFC 6960 §4.2.2.2: id-kp-OCSPSigning, with
id-pkix-ocsp-nocheck), so the CA key signs only certificates and CRLs, never a per-request
answer. The signer is re-certified when it has under `RESPONDER_RENEW_BEFORE` left (at start-up,
and by `CaRuntime.renew_responders` while serving).

Layout of `DATA/ca/`: `identity.json`; per CA id (`sign`, `auth`): `<id>-ca.pem`,
`<id>-ca.key.pem` (deployment only), `<id>-ocsp.pem`, `<id>-ocsp.key.pem`. Key files are 0600
and written atomically (temporary file, fsync, rename).
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mynacard.ca import keys
from mynacard.ca.authority import load_test_authority
from mynacard.ca.errors import AuthorityError
from mynacard.ca.jpki_ca import AuthenticationCa, JpkiCa, SigningCa, StatusUrls, build_root_certificate, random_serial
from mynacard.ca.jpki_names import CaKind
from mynacard.ca.service import Responder, ServedCa
from mynacard.files import write_atomically

TEST_AUTHORITY = "test-authority"
DEPLOYMENT = "deployment"
RESPONDER_LIFETIME = timedelta(days=90)
RESPONDER_RENEW_BEFORE = timedelta(days=30)
KINDS = {"sign": CaKind.SIGN, "auth": CaKind.AUTH}
CA_CLASSES: dict[str, type[SigningCa] | type[AuthenticationCa]] = {"sign": SigningCa, "auth": AuthenticationCa}
#: Where the passphrase of a deployment CA comes from when no prompt is possible.
PASSPHRASE_ENV = "MYNACARD_CA_PASSPHRASE"

PassphraseSource = Callable[[], bytes]


def ask_passphrase() -> bytes:
    """`MYNACARD_CA_PASSPHRASE`, else a prompt without echo when there is a terminal."""
    value = os.environ.get(PASSPHRASE_ENV)
    if not value and sys.stdin.isatty():
        value = getpass.getpass("passphrase of the CA keys: ")
    if not value:
        raise AuthorityError(f"this CA's keys are encrypted: set {PASSPHRASE_ENV} or run in a terminal to be asked")
    return value.encode("utf-8")


def _key_pem(key: rsa.RSAPrivateKey, passphrase: bytes | None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def _load_key(path: Path, passphrase: bytes | None) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=passphrase)
    except FileNotFoundError:
        raise AuthorityError(f"the key file {path} is missing") from None
    except (ValueError, TypeError):
        raise AuthorityError(f"cannot decrypt {path.name}: wrong passphrase or damaged file") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise AuthorityError(f"{path.name} is not an RSA key")
    return key


def _cert_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def responder_certificate(
    ca_certificate: x509.Certificate, ca_key: rsa.RSAPrivateKey, key: rsa.RSAPrivateKey, now: datetime
) -> x509.Certificate:
    """A delegated OCSP signer for the CA (RFC 6960 §4.2.2.2; nocheck per §4.2.2.2.1)."""
    ca_ski = ca_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    unit = ca_certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value
    subject = x509.Name(
        [
            *[attribute for attribute in ca_certificate.subject if attribute.oid != NameOID.ORGANIZATIONAL_UNIT_NAME],
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, str(unit)),
            x509.NameAttribute(NameOID.COMMON_NAME, "OCSP Responder"),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(random_serial())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(min(now + RESPONDER_LIFETIME, ca_certificate.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
        .add_extension(x509.OCSPNoCheck(), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    """By signature, not name: the test authority and a deployment CA share their DN."""
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


class CaDirectory:
    """`DATA/ca/`: the served CAs' certificates, keys and OCSP signers."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def manifest_path(self) -> Path:
        return self.path / "identity.json"

    def origin(self) -> str:
        """`deployment` when `ca init` made one here, else the test authority."""
        if not self.manifest_path.exists():
            return TEST_AUTHORITY
        origin = json.loads(self.manifest_path.read_text(encoding="utf-8")).get("origin")
        if origin not in (TEST_AUTHORITY, DEPLOYMENT):
            raise AuthorityError(f"{self.manifest_path} names an unknown CA origin")
        return str(origin)

    def init_deployment(self, passphrase: bytes, key_source: keys.KeySource | None = None,
                        now: datetime | None = None) -> dict[str, x509.Certificate]:
        """Create a new signing + auth CA pair here (refuses to overwrite an existing one)."""
        if self.origin() == DEPLOYMENT:
            raise AuthorityError(f"{self.path} already holds a deployment CA; back it up and use a new data directory")
        if len(passphrase) < 8:
            raise AuthorityError("the CA passphrase must be at least 8 characters")
        key_source = key_source or keys.generate_rsa_key
        now = (now or datetime.now(UTC)).replace(microsecond=0)
        roots = {}
        for ca_id, kind in KINDS.items():
            key = key_source()
            root = build_root_certificate(kind, key, now)
            write_atomically(self.path / f"{ca_id}-ca.key.pem", _key_pem(key, passphrase), 0o600)
            write_atomically(self.path / f"{ca_id}-ca.pem", _cert_pem(root))
            for stale in (f"{ca_id}-ocsp.pem", f"{ca_id}-ocsp.key.pem"):
                (self.path / stale).unlink(missing_ok=True)
            roots[ca_id] = root
        manifest = {"origin": DEPLOYMENT, "created_at": now.isoformat(), "encryption": "PKCS#8, passphrase"}
        write_atomically(self.manifest_path, (json.dumps(manifest, indent=2) + "\n").encode())
        return roots

    def load(
        self,
        status_urls: Callable[[str], StatusUrls],
        passphrase: PassphraseSource = ask_passphrase,
        key_source: keys.KeySource | None = None,
        now: datetime | None = None,
    ) -> dict[str, ServedCa]:
        """The two CAs, ready to serve; makes or renews their OCSP signers as needed."""
        now = now or datetime.now(UTC)
        origin = self.origin()
        secret = passphrase() if origin == DEPLOYMENT else None
        if origin == TEST_AUTHORITY:
            authority = load_test_authority()
            pairs: dict[str, tuple[x509.Certificate, rsa.RSAPrivateKey]] = {
                "sign": (authority.sign_ca.certificate, authority.sign_ca.private_key),
                "auth": (authority.auth_ca.certificate, authority.auth_ca.private_key),
            }
        else:
            pairs = {
                ca_id: (
                    x509.load_pem_x509_certificate((self.path / f"{ca_id}-ca.pem").read_bytes()),
                    _load_key(self.path / f"{ca_id}-ca.key.pem", secret),
                )
                for ca_id in KINDS
            }
        served = {}
        for ca_id, (certificate, key) in pairs.items():
            ca: JpkiCa = CA_CLASSES[ca_id](certificate, key, status_urls=status_urls(ca_id), keep_register=False)
            served[ca_id] = ServedCa(ca_id, ca, self._responder(ca_id, certificate, key, secret, key_source, now))
        return served

    def _responder(
        self,
        ca_id: str,
        ca_certificate: x509.Certificate,
        ca_key: rsa.RSAPrivateKey,
        secret: bytes | None,
        key_source: keys.KeySource | None,
        now: datetime,
    ) -> Responder:
        cert_path, key_path = self.path / f"{ca_id}-ocsp.pem", self.path / f"{ca_id}-ocsp.key.pem"
        if key_path.exists():
            key = _load_key(key_path, secret)
        else:
            key = (key_source or keys.generate_rsa_key)()
            write_atomically(key_path, _key_pem(key, secret), 0o600)
        if cert_path.exists():
            certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
            if (
                _issued_by(certificate, ca_certificate)
                and certificate.public_key() == key.public_key()
                and certificate.not_valid_after_utc - now > RESPONDER_RENEW_BEFORE
            ):
                return Responder(certificate, key)
        return self.recertify(ca_id, ca_certificate, ca_key, key, now)

    def responder_certificate(self, ca_id: str) -> x509.Certificate | None:
        """The OCSP signer certificate of `ca_id` as last written here (None: none yet)."""
        try:
            return x509.load_pem_x509_certificate((self.path / f"{ca_id}-ocsp.pem").read_bytes())
        except FileNotFoundError:
            return None

    def recertify(
        self, ca_id: str, ca_certificate: x509.Certificate, ca_key: rsa.RSAPrivateKey, key: rsa.RSAPrivateKey,
        now: datetime,
    ) -> Responder:
        """A new certificate for the OCSP signer's existing key, written next to it."""
        certificate = responder_certificate(ca_certificate, ca_key, key, now)
        write_atomically(self.path / f"{ca_id}-ocsp.pem", _cert_pem(certificate))
        return Responder(certificate, key)
