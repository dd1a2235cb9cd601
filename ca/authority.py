"""The project's one test authority: every key a card chains to, generated once, committed.

`tools/make_test_authority.py` generates it into `test_authority/` (package data). Every card
made by `mynacard card new` on any machine then chains to the same public roots, which the host
bundles. The private keys are INSECURE TEST KEYS: public, in the repository, for tests only.

Card-verifiable hierarchy (key IDs `NNNNNNN/001`, card-interface.md §7.3, §10):

    9000020 MF root ──00F8──► 9000021 MF intermediate ──7F21──► the card's 共通AP key (per card)
    9000023 券面事項確認AP root ──EF 0004──► 9000024 record key: signs visual EF 0001/0002/0005
    9000033 券面事項入力補助AP root ──EF 0004──► 9000034 record key: signs text EF 0003/0007

Real cards certify a municipality-specific record key in EF 0004; here one record key per AP
serves every municipality, since the authority is generated once. The three roots are the trust
anchors a verifier needs (public PEMs next to the keys).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.ca import keys
from mynacard.ca.cv import CvCertificate, CvKey, KeyId
from mynacard.ca.errors import AuthorityError
from mynacard.ca.jpki_ca import AuthenticationCa, SigningCa, build_root_certificate
from mynacard.ca.jpki_names import CaKind
from mynacard.ca.keys import KeySource

FORMAT = "mynacard-test-authority"
VERSION = 1
PACKAGE_DIRECTORY = Path(__file__).with_name("test_authority")
INSECURE_PREFIX = "INSECURE-TEST-KEY-"

#: name -> (key ID number, whether it is a trust anchor whose public key is published)
CV_KEYS: dict[str, tuple[str, bool]] = {
    "mf-root": ("9000020", True),
    "mf-intermediate": ("9000021", False),
    "visual-root": ("9000023", True),
    "visual-records": ("9000024", False),
    "text-root": ("9000033", True),
    "text-records": ("9000034", False),
}
JPKI_CAS = {"sign": CaKind.SIGN, "auth": CaKind.AUTH}


@dataclass(frozen=True)
class CvHierarchy:
    """The card-verifiable keys and the certificates between them."""

    mf_root: CvKey
    mf_intermediate: CvKey
    visual_root: CvKey
    visual_records: CvKey
    text_root: CvKey
    text_records: CvKey

    def mf_upper_certificate(self) -> CvCertificate:
        """MF object `00F8`: the MF root certifies the intermediate (CI §10)."""
        return self.mf_root.certify(self.mf_intermediate.key_id, self.mf_intermediate.public_key)

    def visual_certificate(self) -> CvCertificate:
        """券面事項確認AP EF 0004: its root certifies the key that signs its records (CI §8)."""
        return self.visual_root.certify(self.visual_records.key_id, self.visual_records.public_key)

    def text_certificate(self) -> CvCertificate:
        """券面事項入力補助AP EF 0004 (CI §7.1)."""
        return self.text_root.certify(self.text_records.key_id, self.text_records.public_key)

    def anchors(self) -> dict[KeyId, rsa.RSAPublicKey]:
        """Trust anchors a verifier looks up by 証明者鍵ID."""
        return {k.key_id: k.public_key for k in (self.mf_root, self.visual_root, self.text_root)}

    def items(self) -> Iterator[tuple[str, CvKey]]:
        for name in CV_KEYS:
            yield name, getattr(self, name.replace("-", "_"))


@dataclass
class Authority:
    """Both JPKI CAs and the CV hierarchy."""

    sign_ca: SigningCa
    auth_ca: AuthenticationCa
    cv: CvHierarchy
    generated_at: datetime

    @classmethod
    def generate(cls, key_source: KeySource | None = None, now: datetime | None = None) -> Authority:
        """A brand-new authority (eight RSA-2048 keys). Only `make_test_authority.py` needs this.

        `key_source` defaults to `mynacard.ca.keys.generate_rsa_key`, looked up at call time.
        """
        key_source = key_source or keys.generate_rsa_key
        now = (now or datetime.now(UTC)).replace(microsecond=0)
        cas = {}
        for kind in CaKind:
            key = key_source()
            cas[kind] = (build_root_certificate(kind, key, now), key)
        cv = CvHierarchy(
            **{
                name.replace("-", "_"): CvKey(KeyId.make(number), key_source())
                for name, (number, _) in CV_KEYS.items()
            }
        )
        return cls(SigningCa(*cas[CaKind.SIGN]), AuthenticationCa(*cas[CaKind.AUTH]), cv, now)

    def write(self, directory: Path) -> None:
        """Write keys (PKCS#8 PEM, marked insecure), public roots (PEM) and `authority.json`."""
        directory.mkdir(parents=True, exist_ok=True)
        jpki: dict[str, dict[str, str]] = {}
        for name, ca in (("sign", self.sign_ca), ("auth", self.auth_ca)):
            entry = {"certificate": f"jpki-{name}-ca.pem", "key": f"{INSECURE_PREFIX}jpki-{name}-ca.pem"}
            _write_private_key(directory / entry["key"], ca.private_key)
            (directory / entry["certificate"]).write_bytes(ca.certificate.public_bytes(serialization.Encoding.PEM))
            jpki[name] = entry
        cv: dict[str, dict[str, str]] = {}
        for name, cv_key in self.cv.items():
            number, anchor = CV_KEYS[name]
            entry = {"key_id": bytes(cv_key.key_id).hex().upper(), "key": f"{INSECURE_PREFIX}cv-{name}-{number}.pem"}
            _write_private_key(directory / entry["key"], cv_key.private_key)
            if anchor:
                entry["public_key"] = f"cv-{name}-{number}.pub.pem"
                (directory / entry["public_key"]).write_bytes(
                    cv_key.public_key.public_bytes(
                        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                    )
                )
            cv[name] = entry
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "generated_at": self.generated_at.isoformat(),
            "warning": "INSECURE TEST KEYS: public, for mynacard tests only; never trust them",
            "jpki": jpki,
            "cv": cv,
        }
        (directory / "authority.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> Authority:
        """Read an authority written by `write` (fresh, empty issued-certificate registers)."""
        manifest, keys, certificates = _read(directory.resolve())
        cv = CvHierarchy(
            **{
                name.replace("-", "_"): CvKey(KeyId(bytes.fromhex(entry["key_id"])), keys[entry["key"]])
                for name, entry in manifest["cv"].items()
            }
        )
        jpki = manifest["jpki"]
        return cls(
            SigningCa(certificates[jpki["sign"]["certificate"]], keys[jpki["sign"]["key"]]),
            AuthenticationCa(certificates[jpki["auth"]["certificate"]], keys[jpki["auth"]["key"]]),
            cv,
            datetime.fromisoformat(manifest["generated_at"]),
        )


def _write_private_key(path: Path, key: rsa.RSAPrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    os.chmod(path, 0o600)


@cache
def _read(directory: Path) -> tuple[dict[str, Any], dict[str, rsa.RSAPrivateKey], dict[str, x509.Certificate]]:
    """Parse the files once per process; `Authority.load` builds fresh CA objects around them."""
    manifest_path = directory / "authority.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AuthorityError(
            f"no test authority in {directory}; run tools/make_test_authority.py"
        ) from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise AuthorityError(f"{manifest_path} is not a version-{VERSION} mynacard test authority")
    key_files = [e["key"] for e in manifest["jpki"].values()] + [e["key"] for e in manifest["cv"].values()]
    keys = {}
    # Our own committed files: skipping the RSA consistency check saves ~0.4 s per process.
    for name in key_files:
        key = serialization.load_pem_private_key(
            (directory / name).read_bytes(), password=None, unsafe_skip_rsa_key_validation=True
        )
        if not isinstance(key, rsa.RSAPrivateKey):
            raise AuthorityError(f"{directory / name} is not an RSA key")
        keys[name] = key
    certificates = {
        e["certificate"]: x509.load_pem_x509_certificate((directory / e["certificate"]).read_bytes())
        for e in manifest["jpki"].values()
    }
    return manifest, keys, certificates


def load_test_authority() -> Authority:
    """The committed project authority (package data under `ca/test_authority/`)."""
    return Authority.load(PACKAGE_DIRECTORY)
