"""Card issuance for a resident, loss (一時停止) and recovery, reissue (jpki-system.md §3, §2.1).

An application produces a complete card image in the card model's format (`personalise`): keys
generated for the card, the JPKI certificates issued by the CA service (`ServiceIssuer` through
`CaClient`), the card-face records signed by the test authority's CV keys. The register keeps
only the card serial and the certificate serials (発行番号) against the resident; the image, with
the card's private keys, goes to the caller and is not stored.

The CA is called outside the database transaction. If recording fails after the CA issued
certificates, those certificates are revoked again (`cessationOfOperation`), so no certificate
exists that the register does not know.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from mynacard.ca.client import CaClient, CaServiceError
from mynacard.ca.issuer import ServiceIssuer
from mynacard.ca.jpki_ca import IssuedCertificate
from mynacard.ca.jpki_names import Locality
from mynacard.ca.keys import KeySource
from mynacard.ca.personal_data import PersonalData
from mynacard.register_stub import numbers
from mynacard.register_stub.access import record_access
from mynacard.register_stub.effects import EFFECTS, ENDED
from mynacard.register_stub.errors import IssuanceError
from mynacard.register_stub.errors_api import Conflict, Invalid, NotFound, Upstream
from mynacard.register_stub.events import ACTIVE, current_version, new_event, queue_action
from mynacard.register_stub.models import Card, Certificate, Event, Resident
from mynacard.register_stub.person import CardDetails, CardPins, Person
from mynacard.register_stub.personalise import personalise, random_card_serial
from mynacard.register_stub.schemas import Strict, today_in_japan
from mynacard.register_stub.store import RegisterStore
from mynacard.service.auth import Caller

ADULT_AGE = 18
ADULT_YEARS, MINOR_YEARS = 10, 5
#: No signing certificate below this age (jpki-system.md §1.2); the auth certificate has no limit.
SIGNING_AGE = 15


class Pins(Strict):
    """The four secrets the applicant sets at the window (jpki-system.md §1.6)."""

    auth_pin: str = Field(pattern=r"^[0-9]{4}$")
    sign_password: str = Field(pattern=r"^[A-Z0-9]{6,16}$")
    text_pin: str = Field(pattern=r"^[0-9]{4}$")
    juki_pin: str = Field(pattern=r"^[0-9]{4}$")

    def __repr__(self) -> str:
        return "Pins(…)"


class CardApplication(Strict):
    """交付申請: the card's own facts; everything else comes from the 住民票."""

    pins: Pins
    card_expiry: date | None = Field(default=None, description="default: the 10th birthday from now (5th under 18)")
    security_code: str | None = Field(default=None, pattern=r"^[0-9]{4}$", description="default: random")
    city_roman: str | None = Field(default=None, max_length=60, description="romanised city, e.g. Kiyose-shi")
    photo_base64: str | None = Field(default=None, max_length=2_000_000)


@dataclass(frozen=True)
class IssuedCard:
    card_serial: str
    sign_serial: str | None  # None: not issued (under 15)
    auth_serial: str
    expires_on: date
    security_code: str
    image_files: dict[str, bytes] = field(repr=False)


class _RecordingIssuer:
    """Passes issuance to the CA service and remembers what it issued (to undo on failure)."""

    def __init__(self, inner: ServiceIssuer) -> None:
        self.inner = inner
        self.issued: list[IssuedCertificate] = []

    @property
    def sign_ca_certificate(self) -> x509.Certificate:
        return self.inner.sign_ca_certificate

    @property
    def auth_ca_certificate(self) -> x509.Certificate:
        return self.inner.auth_ca_certificate

    def issue_auth(
        self, public_key: rsa.RSAPublicKey, birth_date: date, locality: Locality, municipality_code: str,
        card_expiry: date, issued_at: datetime, card_serial: str,
    ) -> IssuedCertificate:
        issued = self.inner.issue_auth(public_key, birth_date, locality, municipality_code, card_expiry, issued_at,
                                       card_serial)
        self.issued.append(issued)
        return issued

    def issue_sign(
        self, public_key: rsa.RSAPublicKey, personal_data: PersonalData, locality: Locality, municipality_code: str,
        card_expiry: date, auth_not_after: datetime, issued_at: datetime, card_serial: str,
    ) -> IssuedCertificate:
        issued = self.inner.issue_sign(public_key, personal_data, locality, municipality_code, card_expiry,
                                       auth_not_after, issued_at, card_serial)
        self.issued.append(issued)
        return issued

    def undo(self, client: CaClient, cause: str) -> None:
        for certificate in self.issued:
            try:
                client.revoke(certificate.kind.value, f"{certificate.serial:X}", ENDED, cause)
            except CaServiceError:
                pass  # the certificate stays visible in the CA's list under this card serial


def age_on(birth_date: date, today: date) -> int:
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def default_expiry(birth_date: date, today: date) -> date:
    """The card's 有効期限: the holder's birthday after 10 years (5 years under 18)."""
    years = ADULT_YEARS if age_on(birth_date, today) >= ADULT_AGE else MINOR_YEARS
    year = today.year + years
    try:
        return birth_date.replace(year=year)
    except ValueError:  # born on 29 February
        return date(year, 3, 1)


def resident_pseudonym(key: bytes, code: str) -> str:
    """What the CA records as `resident_id`: keyed, so the CA never learns the 住民票コード."""
    return hashlib.blake2b(code.encode("ascii"), key=key, digest_size=12, person=b"ca-resident").hexdigest()


def person_of(session: Session, resident: Resident, city_roman: str | None) -> Person:
    """The card's person from the current 住民票 version and the current My Number."""
    version = current_version(session, resident)
    number = numbers.current_number(session, resident.resident_code)
    if number is None:
        raise Conflict("the resident holds no current My Number")
    try:
        return Person(
            family_name=version.family_name, given_name=version.given_name, address=version.address,
            birth_date=version.birth_date, sex=version.sex, my_number=number,
            municipality_code=resident.municipality_code, city_roman=city_roman,
        )
    except IssuanceError as exc:
        raise Invalid(str(exc)) from None


def _active_resident(session: Session, code: str) -> Resident:
    resident = session.get(Resident, code)
    if resident is None:
        raise NotFound("no resident has this 住民票コード")
    if resident.status != ACTIVE:
        raise Conflict("cards are issued to active residents only (not after a move-out, death or emigration)")
    return resident


def issue_card(
    store: RegisterStore,
    caller: Caller,
    code: str,
    application: CardApplication,
    client: CaClient,
    key: bytes,
    key_source: KeySource | None = None,
    replaces: str | None = None,
) -> IssuedCard:
    """Issue a card (a new one, or a reissue replacing `replaces`); see the module docstring."""
    with store.reader() as session:
        resident = _active_resident(session, code)
        existing = session.execute(
            select(Card).where(Card.resident_code == code, Card.status != "revoked")
        ).scalars().all()
        if replaces is None and existing:
            raise Conflict("the resident already holds a card; report it lost or ask for a reissue")
        if replaces is not None and replaces not in {card.card_serial for card in existing}:
            raise Conflict("the card to replace is not the resident's current card")
        person = person_of(session, resident, application.city_roman)
        version_birth = person.birth_date
    today = today_in_japan()
    expiry = application.card_expiry or default_expiry(version_birth, today)
    photo = _photo(application.photo_base64)
    try:
        details = CardDetails(
            card_expiry=expiry, security_code=application.security_code or f"{secrets.randbelow(10_000):04d}",
            photo=photo, card_serial=random_card_serial(),
        )
        pins = CardPins(application.pins.auth_pin, application.pins.sign_password, application.pins.text_pin,
                        application.pins.juki_pin)
    except IssuanceError as exc:
        raise Invalid(str(exc)) from None
    try:
        issuer = _RecordingIssuer(ServiceIssuer(client, resident_pseudonym(key, code)))
    except CaServiceError as exc:
        raise Upstream(exc.detail) from None
    try:
        card = personalise(person, details, pins, issuer=issuer, key_source=key_source,
                           signing_certificate=age_on(version_birth, today) >= SIGNING_AGE)
    except CaServiceError as exc:
        issuer.undo(client, "card issuance aborted")
        raise Upstream(exc.detail) from None
    except IssuanceError as exc:
        issuer.undo(client, "card issuance aborted")
        raise Invalid(str(exc)) from None
    sign_serial = f"{card.sign_certificate.serial:X}" if card.sign_certificate else None
    auth_serial = f"{card.auth_certificate.serial:X}"
    try:
        with store.transaction() as session:
            now = datetime.now(UTC)
            session.add(Card(card_serial=card.card_serial, resident_code=code, status="active", issued_at=now,
                             expires_on=expiry, replaces=replaces))
            session.flush()
            kind = "card-issue"
            if replaces is not None:
                old = session.get(Card, replaces)
                if old is None or old.status == "revoked":
                    raise Conflict("the card to replace is no longer current")
                old.status = "revoked"
                event = new_event(session, caller, code, "card-reissue", today, "card reissued",
                                  {"items": ["card"], "replaces": replaces})
                _revoke_card(session, event, replaces)
                kind = "card-reissue"
            else:
                event = new_event(session, caller, code, kind, today, "card issued", {"items": ["card"]})
            event.summary = {**event.summary, "card_serial": card.card_serial}
            for ca, serial in (("sign", sign_serial), ("auth", auth_serial)):
                if serial is None:
                    continue
                session.add(Certificate(ca=ca, serial=serial, card_serial=card.card_serial, resident_code=code,
                                        status="good", issued_at=now))
            record_access(session, caller, code, f"event:{kind}", "交付申請", "four facts, my_number (card image)")
    except Exception:
        issuer.undo(client, "card issuance not recorded")
        raise
    return IssuedCard(card.card_serial, sign_serial, auth_serial, expiry, details.security_code,
                      card.image.to_files())


def _revoke_card(session: Session, event: Event, card_serial: str) -> None:
    reasons = EFFECTS["card-reissue"]
    for certificate in session.execute(
        select(Certificate).where(Certificate.card_serial == card_serial, Certificate.status != "revoked")
    ).scalars():
        certificate.status = "revoked"
        reason = reasons.sign if certificate.ca == "sign" else reasons.auth
        queue_action(session, event, certificate.ca, certificate.serial, "revoke", reason)


def _photo(encoded: str | None) -> bytes | None:
    if encoded is None:
        return None
    try:
        return base64.b64decode(encoded, validate=True)
    except ValueError:
        raise Invalid("photo_base64 is not base64") from None


def hold_or_release(session: Session, caller: Caller, card_serial: str, cause: str, *, lost: bool) -> int:
    """紛失届 (`lost`): the card is held and its good certificates suspended (certificateHold);
    the card found: the suspension is lifted. Returns the event's id."""
    card = session.execute(select(Card).where(Card.card_serial == card_serial).with_for_update()).scalar_one_or_none()
    if card is None:
        raise NotFound("no card has this serial")
    wanted, new_status = ("active", "held") if lost else ("held", "active")
    if card.status != wanted:
        raise Conflict("the card is not in use (revoked)" if card.status == "revoked" else
                       ("the card is already reported lost" if lost else "the card is not reported lost"))
    card.status = new_status
    kind = "card-lost" if lost else "card-found"
    event = new_event(session, caller, card.resident_code, kind, today_in_japan(), cause,
                      {"items": ["card"], "card_serial": card_serial})
    from_status, to_status, action = ("good", "hold", "hold") if lost else ("hold", "good", "release")
    for certificate in session.execute(
        select(Certificate).where(Certificate.card_serial == card_serial, Certificate.status == from_status)
    ).scalars():
        certificate.status = to_status
        queue_action(session, event, certificate.ca, certificate.serial, action, None)
    record_access(session, caller, card.resident_code, f"event:{kind}", cause, "card")
    session.flush()
    return event.id

