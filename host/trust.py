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
- Fail closed: the test authority's private keys ship with mynacard, so anyone can make a card
  that chains to it. Only the J-LIS anchors are trusted unless the caller opts in explicitly
  (`trust_test_authority=True`; on the CLI `--trust-test-authority` or
  `MYNACARD_TRUST_TEST_AUTHORITY=1`). Anchors left out are kept as *withheld*, so a card that
  chains to one is reported as "chains to the test authority, not trusted" rather than as an
  unknown issuer.

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

from mynacard.errors import UserError


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


JLIS_ORIGIN = "jlis"
TEST_ORIGIN = "test"
#: How the test authority is named to people (its certificates say `O=JPKI-TEST (mynacard)`).
TEST_AUTHORITY = "the mynacard TEST authority (JPKI-TEST (mynacard))"
TRUST_TEST_OPTION = "--trust-test-authority"
TRUST_TEST_ENV = "MYNACARD_TRUST_TEST_AUTHORITY"


def authority_name(origin: str) -> str:
    """Who an anchor of `origin` belongs to, for messages."""
    return {JLIS_ORIGIN: "J-LIS", TEST_ORIGIN: TEST_AUTHORITY}.get(origin, f"the '{origin}' authority")


def untrusted_sentence(what: str, origin: str) -> str:
    """One sentence for a certificate that chains to an anchor withheld in this run."""
    if origin == TEST_ORIGIN:
        return (f"{what} chains to {TEST_AUTHORITY}, which is not trusted by default because its private "
                "keys are public: this is a test card, not a genuine My Number Card (to check a test card "
                f"on purpose, add {TRUST_TEST_OPTION} or set {TRUST_TEST_ENV}=1)")
    return f"{what} chains to {authority_name(origin)}, which is not trusted in this run"


class TrustError(UserError):
    """A trust anchor is missing or unusable, or no pinned root issued a certificate."""


class UntrustedAnchor(Exception):
    """A certificate or CV certificate verifies with an anchor mynacard knows but withholds in this
    run (the test authority without the opt-in). `origin` says whose anchor it is; subclasses
    (one per kind of certificate) set it."""

    origin: str = ""


@dataclass(frozen=True)
class PinnedRoot:
    """One root certificate shipped with mynacard."""

    certificate: x509.Certificate
    origin: str  # "jlis" or "test"
    label: str  # file stem, e.g. "sign-jlis-2023"

    @property
    def description(self) -> str:
        cert = self.certificate
        who = "J-LIS" if self.origin == JLIS_ORIGIN else "mynacard TEST authority (not J-LIS)"
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
    #: Roots recognised but not trusted in this run; only used to say why a certificate fails.
    withheld: tuple[PinnedRoot, ...] = ()

    def __post_init__(self) -> None:
        if not self.policy_arcs:
            object.__setattr__(self, "policy_arcs", ACCEPTED_POLICY_ARCS[self.purpose])

    def issuers_of(self, certificate: x509.Certificate) -> list[PinnedRoot]:
        """The pinned roots that really signed `certificate`: same DN, signature verifies.

        More than one when a root was re-issued with the same key; the caller then picks by
        validity. Empty when nothing in this store issued it.
        """
        return _signers(self.roots, certificate)

    def withheld_issuers_of(self, certificate: x509.Certificate) -> list[PinnedRoot]:
        """The withheld roots that really signed `certificate` (to name them in the refusal)."""
        return _signers(self.withheld, certificate)

    def same_name_roots(self, certificate: x509.Certificate) -> list[PinnedRoot]:
        return [r for r in self.roots if r.certificate.subject == certificate.issuer]

    def accepts_policy(self, oid: str) -> bool:
        return any(oid.startswith(arc) for arc in self.policy_arcs)


def _signers(roots: tuple[PinnedRoot, ...], certificate: x509.Certificate) -> list[PinnedRoot]:
    found = []
    for root in roots:
        if root.certificate.subject != certificate.issuer:
            continue
        try:
            certificate.verify_directly_issued_by(root.certificate)
        except (ValueError, TypeError, InvalidSignature):
            continue
        found.append(root)
    return found


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
    #: CV roots recognised but not trusted in this run (named in refusals, never used to accept).
    withheld_cv_roots: dict[bytes, CVRoot] = field(default_factory=dict)

    def store(self, purpose: Purpose) -> TrustStore:
        return self.signing if purpose is Purpose.SIGNING else self.auth

    @property
    def origins(self) -> set[str]:
        """Whose anchors are trusted, e.g. {"jlis"} by default."""
        return ({r.origin for r in self.signing.roots + self.auth.roots}
                | {r.origin for r in self.cv_roots.values()})

    @property
    def test_authority_trusted(self) -> bool:
        return TEST_ORIGIN in self.origins

    def restricted_to(self, origins: set[str]) -> Trust:
        """Only the anchors of `origins` are trusted; the others move to the withheld ones."""

        def keep(store: TrustStore) -> TrustStore:
            every = store.roots + store.withheld
            return TrustStore(store.purpose, tuple(r for r in every if r.origin in origins), store.policy_arcs,
                              tuple(r for r in every if r.origin not in origins))

        every_cv = {**self.withheld_cv_roots, **self.cv_roots}
        return Trust(keep(self.signing), keep(self.auth),
                     {k: v for k, v in every_cv.items() if v.origin in origins},
                     {k: v for k, v in every_cv.items() if v.origin not in origins})


def roots_directory() -> Path:
    """Where the pinned roots live inside the installed package."""
    return Path(str(resources.files("mynacard.host") / "roots"))


def load_trust(directory: Path | None = None, *, trust_test_authority: bool = False) -> Trust:
    """Read the roots of `directory` (default: the package's own). Raises TrustError if unusable.

    Only the J-LIS anchors are trusted unless `trust_test_authority` (see the module docstring);
    the others are kept as withheld."""
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
    every = Trust(stores[Purpose.SIGNING], stores[Purpose.AUTH], load_cv_roots(directory / CV_ROOTS_FILE))
    return every.restricted_to({JLIS_ORIGIN, TEST_ORIGIN} if trust_test_authority else {JLIS_ORIGIN})


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
def default_trust(*, trust_test_authority: bool = False) -> Trust:
    """The package's pinned roots, read once per process: J-LIS only unless `trust_test_authority`."""
    return load_trust(trust_test_authority=trust_test_authority)
