"""Reading the register: a resident's 住民票 (current or any version), household members, events.

The output shapes of the HTTP API. The My Number is included only where the caller may see it
(`with_number`); the 住民票コード always is, since it is the record's key for the register's own
callers (it never goes to the CA, the kiosk or printed copies, jpki-system.md §4.2).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from mynacard.register_stub import numbers
from mynacard.register_stub.errors_api import NotFound
from mynacard.register_stub.events import current_version
from mynacard.register_stub.models import AccessRecord, Card, Certificate, Event, Resident, ResidentVersion, Revocation


class ForeignOut(BaseModel):
    nationality: str | None
    category: str | None
    residence_status: str | None
    period_of_stay: str | None
    stay_expires_on: date | None
    residence_card_number: str | None
    became_foreign_resident_on: date | None


class VersionOut(BaseModel):
    version: int
    valid_from: date
    recorded_at: datetime
    event_id: int | None
    family_name: str
    given_name: str
    birth_date: date
    sex: str
    household_id: int
    relationship: str
    honseki: str | None
    hittosha: str | None
    became_resident_on: date
    address: str
    address_set_on: date | None
    notice_date: date | None
    previous_address: str | None
    old_surname: str | None
    alias_name: str | None
    foreign: ForeignOut | None
    welfare: dict[str, Any]


class RecordOut(BaseModel):
    resident_code: str
    municipality_code: str
    kind: str
    status: str
    deleted_reason: str | None
    continuation_due: str | None
    continuation_deadline: date | None
    my_number: str | None
    current: VersionOut


class RevocationOut(BaseModel):
    id: int
    event_id: int
    ca: str
    serial: str
    action: str
    reason: str | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None


class EventOut(BaseModel):
    id: int
    resident_code: str
    kind: str
    event_date: date
    cause: str
    recorded_at: datetime
    recorded_by: str
    version: int | None
    summary: dict[str, Any]
    revocations: list[RevocationOut]


class PlannedRevocation(BaseModel):
    ca: str
    serial: str
    action: str
    reason: str | None


class PreviewOut(BaseModel):
    """An event's effect before it is recorded: the same rows recording it would queue."""

    kind: str
    summary: dict[str, Any]
    revocations: list[PlannedRevocation]


class CardOut(BaseModel):
    card_serial: str
    status: str
    issued_at: datetime
    expires_on: date
    replaces: str | None
    certificates: dict[str, dict[str, str]]


class AccessOut(BaseModel):
    id: int
    at: datetime
    actor: str
    role: str
    action: str
    purpose: str
    items: str
    outcome: str


def version_out(row: ResidentVersion) -> VersionOut:
    foreign = None
    if row.nationality is not None:
        foreign = ForeignOut(
            nationality=row.nationality, category=row.foreign_category, residence_status=row.residence_status,
            period_of_stay=row.period_of_stay, stay_expires_on=row.stay_expires_on,
            residence_card_number=row.residence_card_number, became_foreign_resident_on=row.became_foreign_resident_on,
        )
    return VersionOut(
        version=row.version, valid_from=row.valid_from, recorded_at=row.recorded_at, event_id=row.event_id,
        family_name=row.family_name, given_name=row.given_name, birth_date=row.birth_date, sex=row.sex,
        household_id=row.household_id, relationship=row.relationship, honseki=row.honseki, hittosha=row.hittosha,
        became_resident_on=row.became_resident_on, address=row.address, address_set_on=row.address_set_on,
        notice_date=row.notice_date, previous_address=row.previous_address, old_surname=row.old_surname,
        alias_name=row.alias_name, foreign=foreign, welfare=dict(row.welfare or {}),
    )


def resident(session: Session, code: str) -> Resident:
    row = session.get(Resident, code)
    if row is None:
        raise NotFound("no resident has this 住民票コード")
    return row


def record_out(session: Session, code: str, *, with_number: bool) -> RecordOut:
    row = resident(session, code)
    return RecordOut(
        resident_code=row.resident_code, municipality_code=row.municipality_code, kind=row.kind, status=row.status,
        deleted_reason=row.deleted_reason, continuation_due=row.continuation_due,
        continuation_deadline=row.continuation_deadline,
        my_number=numbers.current_number(session, code) if with_number else None,
        current=version_out(current_version(session, row)),
    )


def history(session: Session, code: str) -> list[VersionOut]:
    resident(session, code)
    rows = session.execute(
        select(ResidentVersion).where(ResidentVersion.resident_code == code).order_by(ResidentVersion.version)
    ).scalars()
    return [version_out(row) for row in rows]


def revocation_out(row: Revocation) -> RevocationOut:
    return RevocationOut(
        id=row.id, event_id=row.event_id, ca=row.ca, serial=row.serial, action=row.action, reason=row.reason,
        status=row.status, attempts=row.attempts, next_attempt_at=row.next_attempt_at, last_error=row.last_error,
        delivered_at=row.delivered_at,
    )


def event_out(session: Session, row: Event) -> EventOut:
    revocations = session.execute(
        select(Revocation).where(Revocation.event_id == row.id).order_by(Revocation.id)
    ).scalars()
    return EventOut(
        id=row.id, resident_code=row.resident_code, kind=row.kind, event_date=row.event_date, cause=row.cause,
        recorded_at=row.recorded_at, recorded_by=row.recorded_by, version=row.version, summary=dict(row.summary or {}),
        revocations=[revocation_out(r) for r in revocations],
    )


def preview_out(session: Session, row: Event) -> PreviewOut:
    out = event_out(session, row)
    return PreviewOut(kind=out.kind, summary=out.summary, revocations=[
        PlannedRevocation(ca=r.ca, serial=r.serial, action=r.action, reason=r.reason) for r in out.revocations
    ])


def event(session: Session, event_id: int) -> EventOut:
    row = session.get(Event, event_id)
    if row is None:
        raise NotFound(f"event {event_id} does not exist")
    return event_out(session, row)


def events_of(session: Session, code: str) -> list[EventOut]:
    resident(session, code)
    rows = session.execute(select(Event).where(Event.resident_code == code).order_by(Event.id)).scalars()
    return [event_out(session, row) for row in rows]


def cards_of(session: Session, code: str) -> list[CardOut]:
    resident(session, code)
    out = []
    for card in session.execute(select(Card).where(Card.resident_code == code).order_by(Card.issued_at)).scalars():
        certificates = session.execute(select(Certificate).where(Certificate.card_serial == card.card_serial)).scalars()
        out.append(CardOut(
            card_serial=card.card_serial, status=card.status, issued_at=card.issued_at, expires_on=card.expires_on,
            replaces=card.replaces,
            certificates={c.ca: {"serial": c.serial, "status": c.status} for c in certificates},
        ))
    return out


def access_out(row: AccessRecord) -> AccessOut:
    return AccessOut(id=row.id, at=row.at, actor=row.actor, role=row.role, action=row.action, purpose=row.purpose,
                     items=row.items, outcome=row.outcome)


def card_owner(session: Session, card_serial: str) -> str:
    card = session.get(Card, card_serial)
    if card is None:
        raise NotFound("no card has this serial")
    return card.resident_code
