"""Pinned trust anchors: the J-LIS roots and the project's test roots, as package data.

Why pinned and why apart (jpki-system.md §1.1, §2.4):
- Every card carries a copy of its issuing CA certificate (JPKI EF 0002/000B). A forger controls
  that copy, so it is never a trust anchor; only the roots shipped here are.
- The signing CA and the user-authentication CA are different roots with different meanings
  (a signature with legal effect vs. "the holder of this card"). A certificate is only ever
  checked against the store of its purpose, so an auth certificate can never pass as a signing one.
- Root generations overlap and share one DN, so an issuer is found by name *and then confirmed by
  signature*; a name match alone picks the wrong generation half the time.
- The 券面 APs' card-verifiable certificates (CI §7.3) chain to CV root keys named by a 16-byte key
  ID. J-LIS does not publish its production CV keys, so only the test authority's are pinned.

Files in `roots/` (one flat folder so they ship as package data):
  sign-<origin>-<label>.pem   signing-CA root certificates
  auth-<origin>-<label>.pem   user-authentication-CA root certificates
  cv-roots.json               CV root public keys: [{"key_id", "origin", "label", "public_key"}]
`origin` is `jlis` (production) or `test` (this project's test authority, not J-LIS).
"""

from __future__ import annotations

import enum
import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


class Purpose(enum.Enum):
    """What a certificate is trusted for; each purpose has its own roots."""

    SIGNING = "signing"
    AUTH = "auth"

    @property
    def label(self) -> str:
        return {"signing": "signing (署名用)", "auth": "user authentication (利用者証明用)"}[self.value]


#: certificatePolicies each purpose accepts (jpki-system.md §1.2, §1.3): the production policy
#: arcs of the two CAs, and the JPKI-TEST signing arc `.8.5.1.0` seen on real test cards.
#: A certificate of the right issuer with a policy outside these is not a JPKI certificate.
ACCEPTED_POLICY_ARCS: dict[Purpose, tuple[str, ...]] = {
    Purpose.SIGNING: ("1.2.392.200149.8.5.1.1.", "1.2.392.200149.8.5.1.0."),
    Purpose.AUTH: ("1.2.392.200149.8.5.1.3.",),
}

_FILE_PREFIX = {Purpose.SIGNING: "sign-", Purpose.AUTH: "auth-"}
CV_ROOTS_FILE = "cv-roots.json"


class TrustError(Exception):
    """A trust anchor is missing or unusable, or no pinned root issued a certificate."""


@dataclass(frozen=True)
class PinnedRoot:
    """One root certificate shipped with mynacard."""

    certificate: x509.Certificate
    origin: str  # "jlis" or "test"
    label: str  # file stem, e.g. "sign-jlis-2023"

    @property
    def description(self) -> str:
        cert = self.certificate
        who = "J-LIS" if self.origin == "jlis" else "mynacard TEST authority (not J-LIS)"
        return (
            f"{self.label} ({who}, serial {cert.serial_number:X}, valid "
            f"{cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d})"
        )


@dataclass(frozen=True)
class TrustStore:
    """The roots of one purpose. Construct directly in tests; `default_trust()` in code."""

    purpose: Purpose
    roots: tuple[PinnedRoot, ...]
    policy_arcs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.policy_arcs:
            object.__setattr__(self, "policy_arcs", ACCEPTED_POLICY_ARCS[self.purpose])

    def issuers_of(self, certificate: x509.Certificate) -> list[PinnedRoot]:
        """The pinned roots that really signed `certificate`: same DN, signature verifies.

        More than one when a root was re-issued with the same key; the caller then picks by
        validity. Empty when nothing in this store issued it.
        """
        found = []
        for root in self.roots:
            if root.certificate.subject != certificate.issuer:
                continue
            try:
                certificate.verify_directly_issued_by(root.certificate)
            except (ValueError, TypeError, InvalidSignature):
                continue
            found.append(root)
        return found

    def same_name_roots(self, certificate: x509.Certificate) -> list[PinnedRoot]:
        return [r for r in self.roots if r.certificate.subject == certificate.issuer]

    def accepts_policy(self, oid: str) -> bool:
        return any(oid.startswith(arc) for arc in self.policy_arcs)


@dataclass(frozen=True)
class CVRoot:
    """A card-verifiable-certificate root key (CI §7.3), named by its 16-byte key ID."""

    key_id: bytes
    public_key: rsa.RSAPublicKey
    origin: str
    label: str


@dataclass(frozen=True)
class Trust:
    """Everything host verification trusts."""

    signing: TrustStore
    auth: TrustStore
    cv_roots: dict[bytes, CVRoot] = field(default_factory=dict)

    def store(self, purpose: Purpose) -> TrustStore:
        return self.signing if purpose is Purpose.SIGNING else self.auth

    def restricted_to(self, origins: set[str]) -> Trust:
        """Only the anchors of `origins` (e.g. {"jlis"}: refuse test cards)."""

        def keep(store: TrustStore) -> TrustStore:
            return TrustStore(store.purpose, tuple(r for r in store.roots if r.origin in origins),
                              store.policy_arcs)

        return Trust(keep(self.signing), keep(self.auth),
                     {k: v for k, v in self.cv_roots.items() if v.origin in origins})


def roots_directory() -> Path:
    """Where the pinned roots live inside the installed package."""
    return Path(str(resources.files("mynacard.host") / "roots"))


def load_trust(directory: Path | None = None) -> Trust:
    """Read the roots of `directory` (default: the package's own). Raises TrustError if unusable."""
    directory = directory or roots_directory()
    if not directory.is_dir():
        raise TrustError(f"the pinned roots folder {directory} is missing; reinstall mynacard")
    stores = {}
    for purpose, prefix in _FILE_PREFIX.items():
        roots = []
        for path in sorted(directory.glob(f"{prefix}*.pem")):
            try:
                cert = x509.load_pem_x509_certificate(path.read_bytes())
            except ValueError as exc:
                raise TrustError(f"pinned root {path.name} is not a PEM certificate") from exc
            origin = path.stem.split("-")[1] if path.stem.count("-") >= 2 else "unknown"
            roots.append(PinnedRoot(cert, origin, path.stem))
        stores[purpose] = TrustStore(purpose, tuple(roots))
    return Trust(stores[Purpose.SIGNING], stores[Purpose.AUTH], load_cv_roots(directory / CV_ROOTS_FILE))


def load_cv_roots(path: Path) -> dict[bytes, CVRoot]:
    """Read `cv-roots.json`; an absent file means no CV roots are pinned."""
    if not path.exists():
        return {}
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["roots"]
        roots = {}
        for entry in entries:
            key = serialization.load_pem_public_key(entry["public_key"].encode("ascii"))
            if not isinstance(key, rsa.RSAPublicKey):
                raise ValueError("not an RSA key")
            key_id = bytes.fromhex(entry["key_id"])
            if len(key_id) != 16:
                raise ValueError("a key ID is 16 bytes")
            roots[key_id] = CVRoot(key_id, key, entry.get("origin", "unknown"), entry.get("label", ""))
        return roots
    except (KeyError, ValueError, TypeError) as exc:
        raise TrustError(f"{path.name} is not a valid list of CV root keys ({exc})") from exc


@functools.cache
def default_trust() -> Trust:
    """The package's pinned roots, read once per process."""
    return load_trust()
