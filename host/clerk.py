"""The clerk's card check (個人番号の確認方法; jpki-system.md §7): is this card genuine, present,
and the applicant's?

The ministry's procedure has a clerk take the card, look at the face photo, confirm that the data
in the chip's card-face area matches the printed face, and confirm the My Number and the four
facts against the application. This module does every part a machine can do, each as a named
check that passed, failed or was skipped with a reason:

- the card face (券面事項確認AP) is read with 照合番号B (or A), its CV certificate chains to a
  pinned CV root, its J-LIS signature covers birth date, sex, card key, name/address images and
  photo, and the chip answers a fresh challenge with the card key the signed face names (so the
  data is genuine *and* comes from this chip, not a copy);
- 照合番号B, typed from the printed card, agrees with the chip's birth date and expiry year;
- the card-info AP (券面事項入力補助AP) gives the My Number and four facts as text, vouched for by
  its integrity record, and its own key answers a challenge;
- the chip's text equals the application after normalisation (normalize.py), originals kept;
- the auth certificate (readable without a PIN) chains to a pinned auth root, is valid now, and
  — when a responder or CRL is configured — is not revoked (fail closed);
- the photo is extracted for display (PNG).

What stays with the clerk's eyes: photo against the person, the chip's name/address images and
photo against the printed card. Everything compared is read from the record objects of records.py,
whose values and signed bytes come from one parse of what the card sent; cvc.py checks those
signed bytes, so nothing compared comes from a separately parsed copy.

Secrets are spent carefully: tries are read before each VERIFY (PinGuard), and a secret one AP
rejected is never tried on the other AP.
"""

from __future__ import annotations

import datetime
import enum
import json
import os
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509

from mynacard.codec import my_number
from mynacard.codec.cv import key_id_text
from mynacard.host import cvc
from mynacard.host.card import MyNumberCard
from mynacard.host.errors import CardError, PinBlocked, PinWrong
from mynacard.host.normalize import FIELDS, NormalizationError, compare_field, era_yymmdd
from mynacard.host.records import CardFace, CvCertificate, FourFacts, MyNumberRecord, RecordInvalid, RsaPublicKey
from mynacard.host.revocation import CertificateRevoked, RevocationConfig, RevocationUnknown, check_revocation
from mynacard.host.trust import (
    TEST_AUTHORITY,
    TEST_ORIGIN,
    TRUST_TEST_ENV,
    TRUST_TEST_OPTION,
    Trust,
    UntrustedAnchor,
    authority_name,
    default_trust,
)
from mynacard.host.verify import CertificateInvalid, verify_certificate

JST = datetime.timezone(datetime.timedelta(hours=9), "JST")
CHALLENGE_BYTES = 32

#: What can make a check fail; anything else is a bug and propagates.
_FAILURES = (CardError, RecordInvalid, CertificateInvalid, CertificateRevoked, RevocationUnknown,
             NormalizationError)

FIELD_TITLES = {"my_number": "My Number (個人番号)", "name": "name (氏名)", "address": "address (住所)",
                "birth": "birth date (生年月日)", "sex": "sex (性別)"}


class Status(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass
class Check:
    id: str
    title: str
    status: Status
    reason: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "status": self.status.value,
                "reason": self.reason, "details": self.details}


class ApplicationFormError(ValueError):
    """The application data cannot be used; the message names the field, never its value."""


@dataclass(frozen=True)
class ApplicationForm:
    """What the applicant wrote: the My Number and the four facts (any may be absent)."""

    my_number: str | None = None
    name: str | None = None
    address: str | None = None
    birth: str | None = None
    sex: str | None = None

    _ALIASES = {"birth_date": "birth", "date_of_birth": "birth", "個人番号": "my_number",
                "氏名": "name", "住所": "address", "生年月日": "birth", "性別": "sex"}
    _IGNORED = {"format", "version"}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ApplicationForm:
        values: dict[str, str] = {}
        for raw_key, value in data.items():
            if raw_key in cls._IGNORED:
                continue
            key = cls._ALIASES.get(raw_key, raw_key)
            if key not in FIELDS:
                raise ApplicationFormError(f"the application has an unknown field '{raw_key}' "
                                       f"(known: {', '.join(FIELDS)})")
            if value is None:
                continue
            if not isinstance(value, str | int):
                raise ApplicationFormError(f"the application field '{raw_key}' must be text")
            values[key] = str(value)
        return cls(**values)

    @classmethod
    def from_file(cls, path: Path) -> ApplicationForm:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ApplicationFormError(f"cannot read the application file {path} ({exc.strerror})") from exc
        except json.JSONDecodeError as exc:
            raise ApplicationFormError(f"the application file {path} is not JSON (line {exc.lineno})") from exc
        if not isinstance(data, dict):
            raise ApplicationFormError(f"the application file {path} must hold one JSON object")
        return cls.from_mapping(data)

    def given(self) -> dict[str, str]:
        return {f: getattr(self, f) for f in FIELDS if getattr(self, f) is not None}


@dataclass(frozen=True)
class ClerkSecrets:
    """The secrets the clerk has; repr never shows them."""

    code_b: str | None = field(default=None, repr=False)
    code_a: str | None = field(default=None, repr=False)
    text_pin: str | None = field(default=None, repr=False)


def mask_my_number(number: str) -> str:
    """`********9018`: enough to tell numbers apart at the counter, not enough to use one."""
    return "*" * max(0, len(number) - 4) + number[-4:]


@dataclass
class ClerkReport:
    card: str
    checked_at: datetime.datetime
    checks: list[Check]
    #: What the chip holds, parsed from signature-checked bytes (personal data: handle with care).
    chip: dict[str, str]
    application: ApplicationForm
    photo_png: bytes | None = None
    #: Whose anchors the card's certificates chained to (in this run's trust).
    trust_origins: set[str] = field(default_factory=set)
    #: Whose withheld anchors a certificate chained to (e.g. {"test"} without the opt-in).
    untrusted_origins: set[str] = field(default_factory=set)
    test_authority_trusted: bool = False
    #: The chip's name and address images (PNG) from the card face, for display beside the photo.
    face_images: dict[str, bytes] = field(default_factory=dict)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status is Status.FAILED]

    @property
    def passed(self) -> bool:
        return not self.failed

    @property
    def trust_notice(self) -> str | None:
        """The one sentence about trust that heads every report, or None for a plain J-LIS check."""
        if TEST_ORIGIN in self.untrusted_origins:
            return (f"UNTRUSTED: this card chains to {TEST_AUTHORITY}, whose private keys are public, so it is "
                    "not a genuine My Number Card and fails this check (to check a test card on purpose, "
                    f"add {TRUST_TEST_OPTION} or set {TRUST_TEST_ENV}=1).")
        if self.untrusted_origins:
            return (f"UNTRUSTED: this card chains to {', '.join(map(authority_name, sorted(self.untrusted_origins)))}, "
                    "which is not trusted in this run.")
        if self.test_authority_trusted:
            card = ("this card chains to it, so it is a test card, not a genuine My Number Card"
                    if TEST_ORIGIN in self.trust_origins else "a forged card made with its public keys would pass")
            return (f"TEST AUTHORITY TRUSTED: {TEST_AUTHORITY} is trusted in this run ({TRUST_TEST_OPTION}); "
                    f"{card}.")
        return None

    def check(self, check_id: str) -> Check:
        for c in self.checks:
            if c.id == check_id:
                return c
        raise KeyError(check_id)

    def as_dict(self, *, show_my_number: bool = False, photo_path: str | None = None) -> dict[str, Any]:
        chip = dict(self.chip)
        application = self.application.given()
        if not show_my_number:
            for data in (chip, application):
                if "my_number" in data:
                    data["my_number"] = mask_my_number(data["my_number"])
        return {
            "format": "mynacard-clerk-check",
            "version": 1,
            "notice": self.trust_notice,
            "test_authority_trusted": self.test_authority_trusted,
            "result": "passed" if self.passed else "failed",
            "checked_at": self.checked_at.isoformat(),
            "card": self.card,
            "trust": sorted(self.trust_origins),
            "untrusted": sorted(self.untrusted_origins),
            "failed": [c.id for c in self.failed],
            "checks": [c.as_dict() for c in self.checks],
            "chip": chip,
            "application": application,
            "photo": photo_path,
        }

    def render(self, *, show_my_number: bool = False, photo_path: str | None = None) -> str:
        """The readable terminal report (My Number masked unless asked)."""
        mark = {Status.PASSED: "PASS", Status.FAILED: "FAIL", Status.SKIPPED: "skip"}
        lines = [f"Clerk check of the card in {self.card} — "
                 f"{self.checked_at.astimezone(JST):%Y-%m-%d %H:%M} JST", ""]
        if self.trust_notice:
            lines += [self.trust_notice, ""]
        width = max(_columns(c.title) for c in self.checks) if self.checks else 0
        for c in self.checks:
            padding = " " * (width - _columns(c.title))
            lines.append(f"  {mark[c.status]}  {c.title}{padding}  {c.reason}")
        shown = dict(self.chip)
        if "my_number" in shown and not show_my_number:
            shown["my_number"] = mask_my_number(shown["my_number"])
        if shown:
            lines += ["", "Chip data (trust it only as far as the signature checks above passed):"]
            for key, value in shown.items():
                lines.append(f"  {key.ljust(10)} {value}")
        lines += ["", "For the clerk to do by eye (個人番号の確認方法 ③④):",
                  "  compare the face photo " + (f"({photo_path}) " if photo_path else "")
                  + "with the person and with the printed card;",
                  "  compare the chip's name/address images (`mynacard card face`) with the printed card."]
        if self.passed:
            lines += ["", f"Result: PASSED ({len(self.checks)} checks, "
                          f"{sum(c.status is Status.SKIPPED for c in self.checks)} skipped)"]
        else:
            lines += ["", f"Result: FAILED — {', '.join(c.id for c in self.failed)}"]
        return "\n".join(lines)


class _Skip(Exception):
    """A check that cannot run; the message says why."""


class _Step:
    def __init__(self) -> None:
        self.reason = "ok"
        self.details: dict[str, Any] = {}

    def pass_(self, reason: str, **details: object) -> None:
        self.reason = reason
        self.details.update(details)


class _ClerkCheck:
    """One run of the check against one card; each `_visual`/`_text`/… method is a phase."""

    def __init__(self, card: MyNumberCard, application: ApplicationForm, secrets: ClerkSecrets,
                 trust: Trust, revocation: RevocationConfig | None, at: datetime.datetime,
                 challenge: Callable[[int], bytes]) -> None:
        self.card = card
        self.application = application
        self.secrets = secrets
        self.trust = trust
        self.revocation = revocation
        self.at = at
        self.challenge = challenge
        self.checks: list[Check] = []
        self.chip: dict[str, str] = {}
        self.trust_origins: set[str] = set()
        self.untrusted_origins: set[str] = set()
        self.rejected: set[str] = set()  # "A"/"B" once an AP said the value is wrong
        self.photo_png: bytes | None = None
        self.face: CardFace | None = None
        self.face_trusted = False
        self.facts: FourFacts | None = None
        self.my_number: str | None = None

    @contextmanager
    def step(self, check_id: str, title: str) -> Iterator[_Step]:
        step = _Step()
        try:
            yield step
        except _Skip as exc:
            self.checks.append(Check(check_id, title, Status.SKIPPED, str(exc)))
        except _FAILURES as exc:
            if isinstance(exc, PinWrong | PinBlocked) and step.details.get("secret") in ("A", "B"):
                self.rejected.add(step.details["secret"])
            reason = exc.sentence if isinstance(exc, CardError) else str(exc)
            if isinstance(exc, UntrustedAnchor):  # the notice heading the report says it in full
                self.untrusted_origins.add(exc.origin)
                reason = f"chains to {authority_name(exc.origin)}, not trusted in this run (see the notice above)"
            self.checks.append(Check(check_id, title, Status.FAILED, reason, step.details))
        else:
            self.checks.append(Check(check_id, title, Status.PASSED, step.reason, step.details))

    def run(self) -> ClerkReport:
        self._visual()
        self._text()
        self._application()
        self._certificates()
        images = {"name": self.face.name_png, "address": self.face.address_png} if self.face else {}
        return ClerkReport(self.card.name, self.at, self.checks, self.chip, self.application,
                           self.photo_png, self.trust_origins, self.untrusted_origins,
                           self.trust.test_authority_trusted, images)

    # --- 券面事項確認AP ---------------------------------------------------------------------------

    def _cv_issuer_key(self, step: _Step, cert: CvCertificate, what: str) -> RsaPublicKey:
        root = cvc.verify_cv_certificate(cert, self.trust.cv_roots, what, self.trust.withheld_cv_roots)
        self.trust_origins.add(root.origin)
        step.pass_(f"issued by pinned CV root {key_id_text(root.key_id)} ({_origin(root.origin)}) "
                   f"to record key {key_id_text(cert.subject_key_id)}",
                   root=key_id_text(root.key_id), origin=root.origin,
                   record_key=key_id_text(cert.subject_key_id))
        return cert.public_key

    def _visual(self) -> None:
        visual = self.card.visual
        issuer = None
        with self.step("signatures.visual_cv", "CV certificate of the card-face AP (EF 0004)") as s:
            issuer = self._cv_issuer_key(s, visual.cv_certificate(), "the card-face AP's CV certificate")

        secret = "B" if self.secrets.code_b else "A" if self.secrets.code_a else None
        title = f"card face read (券面事項確認AP) with 照合番号{secret or 'B/A'}"
        with self.step("card.face_read", title) as s:
            if secret is None:
                raise _Skip("needs 照合番号B (MYNACARD_CODE_B) or 照合番号A (MYNACARD_CODE_A)")
            s.details["secret"] = secret
            if self.secrets.code_b:
                visual.verify_code_b(self.secrets.code_b)
            elif self.secrets.code_a:
                visual.verify_code_a(self.secrets.code_a)
            self.face = visual.card_face()
            self.chip.update(birth=self.face.birth_date, sex=self.face.sex, expiry=self.face.expiry)
            s.pass_(f"{len(self.face.raw)} bytes read after 照合番号{secret}")
        face = self.face

        with self.step("signatures.card_face", "J-LIS signature over the card face (DF28)") as s:
            if face is None:
                raise _Skip("the card face was not read")
            if issuer is None:
                raise _Skip("no trusted record key: the CV certificate check failed")
            cvc.verify_card_face(face, issuer)
            self.face_trusted = True
            s.pass_("covers birth date, sex, card key, name and address images and photo")

        with self.step("presence.visual", "chip answers a fresh challenge with the signed card key") as s:
            if not self.face_trusted:
                raise _Skip("the card key is not trusted: the card-face signature was not verified")
            challenge = self.challenge(CHALLENGE_BYTES)
            cvc.verify_presence(face.public_key, challenge, visual.card_signature(challenge), "the card-face AP")
            s.pass_("80 2A 00 00 over a random challenge verifies with the key in DF24")

        with self.step("face.code_b_consistent", "照合番号B agrees with the chip's birth date and expiry") as s:
            if secret != "B" or face is None:
                raise _Skip("the card face was not read with 照合番号B")
            self._check_code_b(s, face)

        with self.step("face.not_expired", "card not expired (有効期限, DF29)") as s:
            if face is None or not face.expiry:
                raise _Skip("the card face (with its expiry) was not read")
            self._check_expiry(s, face.expiry)

        with self.step("face.photo", "face photo extracted for display") as s:
            if face is None:
                raise _Skip("the card face was not read")
            self.photo_png = face.photo_png()
            s.pass_(f"JPEG 2000 photo ({len(face.photo_jp2)} bytes) converted to PNG"
                    + ("" if self.face_trusted else " — NOT covered by a verified signature"))

        with self.step("signatures.age_record", "age record (EF 0001) signed, same card key") as s:
            self._age_record(s, issuer, secret)

        with self.step("signatures.my_number_image", "My Number image (EF 0005) signed, same card key") as s:
            if secret != "A":
                raise _Skip("readable with 照合番号A only")
            if issuer is None or face is None:
                raise _Skip("no trusted record key or no card face")
            image = visual.my_number_image()
            cvc.verify_record(image, issuer)
            if image.public_key != face.public_key:
                raise RecordInvalid("the My Number image names another card key than the card face")
            s.pass_(f"PNG of {len(image.png)} bytes, signed")

    def _check_code_b(self, s: _Step, face: CardFace) -> None:
        code_b = _digits(self.secrets.code_b)
        expected_birth = era_yymmdd(face.birth_date)
        if code_b[:6] != expected_birth:
            raise RecordInvalid("the birth date in 照合番号B differs from the chip's (DF22): "
                                "the printed card and the chip disagree")
        if face.expiry and code_b[6:10] != face.expiry[:4]:
            raise RecordInvalid("the expiry year in 照合番号B differs from the chip's (DF29): "
                                "the printed card and the chip disagree")
        s.pass_("birth date (era YYMMDD) and expiry year printed on the card match the chip")

    def _check_expiry(self, s: _Step, expiry: str) -> None:
        try:
            last_day = datetime.datetime.strptime(expiry, "%Y%m%d").date()
        except ValueError:
            raise RecordInvalid(f"the expiry date in the card face (DF29) is not a date: {expiry!r}") from None
        today = self.at.astimezone(JST).date()
        if today > last_day:
            raise RecordInvalid(f"the card expired on {last_day:%Y-%m-%d}")
        s.pass_(f"valid until {last_day:%Y-%m-%d}", expiry=expiry)

    def _age_record(self, s: _Step, issuer: RsaPublicKey | None, secret: str | None) -> None:
        """The birth-date key is derived from 照合番号B (its first six digits, CI §8, §12) only
        after the card accepted B and the chip's birth date agrees, so no try is risked."""
        face = self.face
        if face is None or issuer is None or secret != "B":
            raise _Skip("needs the card face read with 照合番号B and a trusted record key")
        birth_key = era_yymmdd(face.birth_date)
        if _digits(self.secrets.code_b)[:6] != birth_key:
            raise _Skip("照合番号B and the chip's birth date disagree; the birth-date key is not tried")
        self.card.visual.verify_birth_key(birth_key)
        age = self.card.visual.age_record()
        cvc.verify_record(age, issuer)
        if age.public_key != face.public_key:
            raise RecordInvalid("the age record names another card key than the card face")
        if age.birth_date != face.birth_date:
            raise RecordInvalid("the age record's birth date differs from the card face's")
        s.pass_("signed; birth date and card key equal the card face's")

    # --- 券面事項入力補助AP -------------------------------------------------------------------------

    def _text(self) -> None:
        text = self.card.text
        issuer = None
        with self.step("signatures.text_cv", "CV certificate of the card-info AP (EF 0004)") as s:
            issuer = self._cv_issuer_key(s, text.cv_certificate(), "the card-info AP's CV certificate")

        my_number: MyNumberRecord | None = None
        opened = False
        with self.step("text.read", "chip text read (券面事項入力補助AP)") as s:
            read = []
            if self.secrets.text_pin:
                text.verify_pin(self.secrets.text_pin)
                read, opened = ["My Number", "four facts"], True
                my_number = text.my_number_record()
                self.facts = text.four_facts()
            else:
                if self.secrets.code_b and "B" not in self.rejected:
                    s.details["secret"] = "B"
                    text.verify_code_b(self.secrets.code_b)
                    opened = True
                    self.facts = text.four_facts()
                    read.append("four facts (照合番号B)")
                if self.secrets.code_a and "A" not in self.rejected:
                    s.details["secret"] = "A"
                    text.verify_code_a(self.secrets.code_a)
                    opened = True
                    my_number = text.my_number_record()
                    read.append("My Number (照合番号A)")
            if not read:
                raise _Skip("needs the card-info PIN (MYNACARD_TEXT_PIN), 照合番号B or 照合番号A "
                            "(a code the card-face AP rejected is not tried again)")
            if my_number is not None:
                self.my_number = my_number.number
                self.chip["my_number"] = self.my_number
            if self.facts is not None:
                self.chip.update(name=self.facts.name, address=self.facts.address,
                                 birth=self.facts.birth_date, sex=self.facts.sex)
            s.details.pop("secret", None)
            s.pass_(", ".join(read))

        with self.step("signatures.text_integrity", "integrity record (EF 0003) covers the text read") as s:
            if not opened:
                raise _Skip("the card-info AP was not opened")
            if issuer is None:
                raise _Skip("no trusted record key: the CV certificate check failed")
            result = cvc.verify_text_integrity(text.integrity_record(), issuer,
                                               my_number=my_number, four_facts=self.facts)
            covered = [n for n, ok in (("My Number", result.my_number_file),
                                       ("four facts", result.attributes_file)) if ok]
            s.pass_(f"signed; digests match the {' and '.join(covered)}" if covered else "signed")

        with self.step("presence.text", "card-info AP key (EF 0007) answers a fresh challenge") as s:
            if not opened or issuer is None:
                raise _Skip("needs the card-info AP opened and a trusted record key")
            ap_key = text.ap_key_record()
            cvc.verify_record(ap_key, issuer)
            challenge = self.challenge(CHALLENGE_BYTES)
            cvc.verify_presence(ap_key.public_key, challenge, text.ap_signature(challenge), "the card-info AP")
            s.pass_("EF 0007 key signed by the record key; 80 2A 00 00 verifies with it")

        with self.step("chip.text_matches_face", "birth date and sex agree between card face and card-info AP") as s:
            if self.face is None or self.facts is None:
                raise _Skip("needs both the card face and the four facts")
            if (self.facts.birth_date, self.facts.sex) != (self.face.birth_date, self.face.sex):
                raise RecordInvalid("the card-info AP and the card face disagree on birth date or sex")
            s.pass_("equal")

    # --- the application ----------------------------------------------------------------------------

    def _application(self) -> None:
        given = self.application.given()
        chip: dict[str, str | None] = {"my_number": self.my_number}
        if self.face is not None and self.face_trusted:  # birth and sex are on the signed face too
            chip.update(birth=self.face.birth_date, sex=self.face.sex)
        if self.facts is not None:
            chip.update(name=self.facts.name, address=self.facts.address, birth=self.facts.birth_date,
                        sex=self.facts.sex)
        for name in FIELDS:
            with self.step(f"application.{name}", f"application {FIELD_TITLES[name]} equals the chip") as s:
                if name not in given:
                    raise _Skip("not in the application")
                on_chip = chip.get(name)
                if on_chip is None:
                    needs = "照合番号A or the card-info PIN" if name == "my_number" else "照合番号B or the card-info PIN"
                    raise _Skip(f"not read from the chip (needs {needs})")
                if name == "my_number":
                    self._compare_my_number(s, given[name], on_chip)
                    continue
                result = compare_field(name, given[name], on_chip)
                s.details.update(application=result.application, chip=result.chip,
                                 application_normalized=result.application_key,
                                 chip_normalized=result.chip_key)
                if not result.equal:
                    raise RecordInvalid(result.problem or f"differs from the chip: application "
                                        f"{result.application!r}, chip {result.chip!r}")
                s.pass_("equal" if result.application == result.chip else "equal after normalisation")

    def _compare_my_number(self, s: _Step, given: str, chip: str) -> None:
        result = compare_field("my_number", given, chip)
        if result.application_key is None:
            raise RecordInvalid("the application's My Number is not 12 digits")
        if not my_number.is_valid(result.application_key):
            raise RecordInvalid("the application's My Number has a wrong check digit (a typo?)")
        if not result.equal:
            raise RecordInvalid("the application's My Number differs from the chip's")
        s.pass_("equal" if result.application == result.chip else "equal after normalisation",
                application=mask_my_number(result.application_key), chip=mask_my_number(chip))

    # --- JPKI certificates --------------------------------------------------------------------------

    def _certificates(self) -> None:
        verified = None
        with self.step("certificates.auth", "auth certificate (利用者証明用) valid, pinned auth root") as s:
            der = self.card.jpki.auth_certificate()
            try:
                certificate = x509.load_der_x509_certificate(der)
            except ValueError:
                raise RecordInvalid("the auth certificate (JPKI EF 000A) is not a DER certificate") from None
            verified = verify_certificate(certificate, self.trust.auth, at=self.at)
            self.trust_origins.add(verified.root.origin)
            s.pass_(f"serial {certificate.serial_number:X}, valid until "
                    f"{certificate.not_valid_after_utc.astimezone(JST):%Y-%m-%d}, root {verified.root.label} "
                    f"({_origin(verified.root.origin)})",
                    serial=f"{certificate.serial_number:X}", root=verified.root.label)

        with self.step("certificates.auth_revocation", "auth certificate not revoked") as s:
            if self.revocation is None or not self.revocation.enabled:
                raise _Skip("no OCSP responder or CRL given (--ocsp URL / --crl FILE)")
            if verified is None:
                raise _Skip("the auth certificate did not verify")
            results = check_revocation(verified.certificate, verified.issuer, self.revocation, at=self.at)
            s.pass_("good per " + " and ".join(f"{r.method.upper()} {r.source}" for r in results))


def _digits(code: str | None) -> str:
    """The ASCII digits of a code as typed (full-width digits, spaces and hyphens allowed)."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", code or "") if "0" <= ch <= "9")


def _columns(text: str) -> int:
    """Terminal columns: wide (CJK) characters take two, so the report's columns line up."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _origin(origin: str) -> str:
    return "TEST authority, not J-LIS" if origin == TEST_ORIGIN else authority_name(origin)


def run_clerk_check(
    card: MyNumberCard,
    application: ApplicationForm,
    secrets: ClerkSecrets,
    *,
    trust: Trust | None = None,
    revocation: RevocationConfig | None = None,
    at: datetime.datetime | None = None,
    challenge: Callable[[int], bytes] = os.urandom,
) -> ClerkReport:
    """Run every check against `card` (see the module docstring); never raises for a bad card.

    `trust` defaults to the J-LIS anchors only: a card of the mynacard test authority fails unless
    the caller passes `default_trust(trust_test_authority=True)`."""
    at = at or datetime.datetime.now(datetime.UTC)
    return _ClerkCheck(card, application, secrets, trust or default_trust(), revocation, at, challenge).run()
