"""Life events on the register, each one database transaction (jpki-system.md §5, §2.1).

An event writes, all together or not at all: the new 住民票 version (never an overwrite), the
event row with its date and cause, the resident's new state, an access record, and one outbox
row per certificate the §5 table (`effects.py`) revokes. The outbox worker (`outbox.py`) then
carries the revocations to the CA service; the event never waits for the CA, and a CA that is
down delays a revocation without losing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mynacard.register_stub import numbers
from mynacard.register_stub.access import record_access
from mynacard.register_stub.effects import (
    AFTER_PLANNED_MOVE_OUT_DAYS,
    CONTINUATION_DAYS,
    EFFECTS,
    MOVE_IN_NOTICE_DAYS,
    Effect,
)
from mynacard.register_stub.errors_api import Conflict, Invalid, NotFound
from mynacard.register_stub.models import (
    Card,
    Certificate,
    Event,
    Household,
    Resident,
    ResidentVersion,
    Revocation,
)
from mynacard.register_stub.schemas import (
    HEAD,
    Birth,
    Continuation,
    Correction,
    Death,
    Emigration,
    Entry,
    HouseholdChange,
    ItemsUpdate,
    MoveIn,
    MoveOut,
    MoveWithin,
    NameChange,
    RecordEvent,
    check_address,
)
from mynacard.service.auth import Caller

ACTIVE, MOVING_OUT, DELETED = "active", "moving-out", "deleted"
CA_IDS = ("sign", "auth")


@dataclass(frozen=True)
class Recorded:
    """What an event produced: the event row, the resident's code and, for a new record, its number."""

    event: Event
    resident_code: str
    my_number: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _resident_for_update(session: Session, code: str) -> Resident:
    resident = session.execute(
        select(Resident).where(Resident.resident_code == code).with_for_update()
    ).scalar_one_or_none()
    if resident is None:
        raise NotFound("no resident has this 住民票コード")
    return resident


def current_version(session: Session, resident: Resident) -> ResidentVersion:
    version = session.get(ResidentVersion, (resident.resident_code, resident.current_version))
    if version is None:  # the schema's foreign keys make this impossible
        raise RuntimeError("a resident's current version is missing")
    return version


def _household(session: Session, household_id: int | None, municipality_code: str) -> int:
    if household_id is None:
        household = Household(municipality_code=municipality_code, created_at=_now())
        session.add(household)
        session.flush()
        return household.id
    existing = session.get(Household, household_id)
    if existing is None:
        raise NotFound(f"household {household_id} does not exist")
    if existing.municipality_code != municipality_code:
        raise Conflict(f"household {household_id} belongs to another municipality")
    return existing.id


def new_event(
    session: Session, caller: Caller, code: str, kind: str, event_date: date, cause: str, summary: dict[str, Any]
) -> Event:
    event = Event(
        resident_code=code,
        kind=kind,
        event_date=event_date,
        cause=cause,
        recorded_at=_now(),
        recorded_by=caller.name,
        summary=summary,
    )
    session.add(event)
    session.flush()
    return event


def _add_version(session: Session, resident: Resident, event: Event, **changes: object) -> ResidentVersion:
    """Copy the current version with `changes` as the next version; the old one stays."""
    old = current_version(session, resident)
    values = {column.key: getattr(old, column.key) for column in ResidentVersion.__table__.columns}
    values.update(changes)
    values.update(
        version=resident.current_version + 1, event_id=event.id, recorded_at=event.recorded_at,
        valid_from=event.event_date,
    )
    version = ResidentVersion(**values)
    session.add(version)
    resident.current_version = version.version
    event.version = version.version
    return version


def queue_revocations(session: Session, event: Event, code: str, effect: Effect) -> list[Revocation]:
    """Outbox rows for every certificate of the resident the effect revokes (not yet revoked)."""
    queued = []
    for ca in CA_IDS:
        reason = effect.sign if ca == "sign" else effect.auth
        if reason is None:
            continue
        certificates = session.execute(
            select(Certificate).where(
                Certificate.resident_code == code, Certificate.ca == ca, Certificate.status != "revoked"
            )
        ).scalars()
        for certificate in certificates:
            certificate.status = "revoked"
            queued.append(queue_action(session, event, ca, certificate.serial, "revoke", reason))
    return queued


def queue_action(session: Session, event: Event, ca: str, serial: str, action: str, reason: str | None) -> Revocation:
    now = _now()
    row = Revocation(
        event_id=event.id, ca=ca, serial=serial, action=action, reason=reason, status="pending",
        attempts=0, next_attempt_at=now, created_at=now,
    )
    session.add(row)
    return row


def end_cards(session: Session, code: str) -> None:
    for card in session.execute(select(Card).where(Card.resident_code == code, Card.status != "revoked")).scalars():
        card.status = "revoked"


# -- new records --------------------------------------------------------------------------------


def create_resident(
    session: Session, caller: Caller, key: bytes, code_key: bytes, event: Birth | Entry,
    pool_size: int = numbers.DEFAULT_POOL_SIZE,
) -> Recorded:
    """出生 or first entry from abroad: a code from the municipality's pool, a My Number derived
    from it, the first 住民票 version (§4.3's flow, in one transaction)."""
    items = event.resident
    try:
        check_address(items.address, event.municipality_code)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    if items.birth_date > event.event_date:
        raise Invalid("the birth date is after the event date")
    code = numbers.next_codes(session, code_key, event.municipality_code, 1, pool_size)[0]
    number = numbers.issue_numbers(session, key, [code])[code]
    household_id = _household(session, items.household_id, event.municipality_code)
    now = _now()
    session.add(Resident(
        resident_code=code, municipality_code=event.municipality_code,
        kind="foreign" if items.foreign else "japanese", status=ACTIVE, current_version=1, created_at=now,
    ))
    recorded = new_event(session, caller, code, event.kind, event.event_date, event.cause, {})
    foreign = items.foreign
    session.add(ResidentVersion(
        resident_code=code, version=1, event_id=recorded.id, recorded_at=now, valid_from=event.event_date,
        family_name=items.family_name, given_name=items.given_name, birth_date=items.birth_date, sex=items.sex,
        household_id=household_id, relationship=items.relationship, honseki=items.honseki, hittosha=items.hittosha,
        became_resident_on=event.event_date, address=items.address, address_set_on=event.event_date,
        notice_date=event.event_date, previous_address=event.previous_address if isinstance(event, Entry) else None,
        old_surname=items.old_surname, alias_name=items.alias_name,
        nationality=foreign.nationality if foreign else None,
        foreign_category=foreign.category if foreign else None,
        residence_status=foreign.residence_status if foreign else None,
        period_of_stay=foreign.period_of_stay if foreign else None,
        stay_expires_on=foreign.stay_expires_on if foreign else None,
        residence_card_number=foreign.residence_card_number if foreign else None,
        became_foreign_resident_on=foreign.became_foreign_resident_on if foreign else None,
        welfare=dict(items.welfare),
    ))
    recorded.version = 1
    record_access(session, caller, code, f"event:{event.kind}", event.cause, "all items (new record)")
    session.flush()
    return Recorded(recorded, code, number)


# -- events on an existing record ---------------------------------------------------------------


def record_event(session: Session, caller: Caller, code: str, event: RecordEvent) -> Recorded:
    """Apply one event to a resident's record and queue its revocations (one transaction: the
    caller commits)."""
    resident = _resident_for_update(session, code)
    if resident.status == DELETED:
        raise Conflict("the record has been deleted (death or emigration); no further event applies")
    recorded = new_event(session, caller, code, event.kind, event.event_date, event.cause, {})
    summary: dict[str, Any] = {}  # another object than the row's: a JSON value changed in place is not saved
    effect = _apply(session, resident, recorded, event, summary)
    recorded.summary = summary
    queue_revocations(session, recorded, code, effect)
    record_access(session, caller, code, f"event:{event.kind}", event.cause, ", ".join(summary.get("items", [])) or "state")
    session.flush()
    return Recorded(recorded, code)


def _pending_continuation_lapses(session: Session, resident: Resident, event: Event, summary: dict[str, Any]) -> Effect:
    """§2.1: moving again before the card's continuation makes the card lapse."""
    if resident.continuation_due == "continuation":
        summary["card_lapsed"] = "moved again before continuation"
        _clear_deadline(resident)
        end_cards(session, resident.resident_code)
        return EFFECTS["lapse"]
    return EFFECTS["birth"]


def _clear_deadline(resident: Resident) -> None:
    resident.continuation_deadline = None
    resident.continuation_due = None


def _merge(*effects: Effect) -> Effect:
    return Effect(
        sign=next((e.sign for e in effects if e.sign), None), auth=next((e.auth for e in effects if e.auth), None)
    )


def _move_within(session: Session, resident: Resident, event: Event, request: MoveWithin, summary: dict[str, Any]) -> Effect:
    if resident.status != ACTIVE:
        raise Conflict("the resident has filed a move-out; record the move-in instead")
    _check(request.address, resident.municipality_code)
    old = current_version(session, resident)
    lapse = _pending_continuation_lapses(session, resident, event, summary)
    _add_version(session, resident, event, address=request.address, address_set_on=request.event_date,
                 previous_address=old.address)
    summary["items"] = ["address"]
    return _merge(EFFECTS["move-within"], lapse)


def _move_out(session: Session, resident: Resident, event: Event, request: MoveOut, summary: dict[str, Any]) -> Effect:
    if resident.status != ACTIVE:
        raise Conflict("a move-out has already been filed for this resident")
    lapse = _pending_continuation_lapses(session, resident, event, summary)
    resident.status = MOVING_OUT
    resident.planned_move_out = request.planned_date
    resident.continuation_deadline = request.planned_date + timedelta(days=AFTER_PLANNED_MOVE_OUT_DAYS)
    resident.continuation_due = "move-in-notice"
    summary.update(items=["status"], planned_date=request.planned_date.isoformat(),
                   move_in_notice_due_by=resident.continuation_deadline.isoformat())
    return _merge(EFFECTS["move-out"], lapse)


def _move_in(session: Session, resident: Resident, event: Event, request: MoveIn, summary: dict[str, Any]) -> Effect:
    if resident.status != MOVING_OUT:
        raise Conflict("a move-in needs a move-out filed first (転出届)")
    _check(request.address, request.municipality_code)
    planned = resident.planned_move_out or request.moved_in_on
    late = (
        request.event_date > request.moved_in_on + timedelta(days=MOVE_IN_NOTICE_DAYS)
        or request.event_date > planned + timedelta(days=AFTER_PLANNED_MOVE_OUT_DAYS)
    )
    old = current_version(session, resident)
    household_id = _household(session, None, request.municipality_code)
    _add_version(session, resident, event, address=request.address, address_set_on=request.moved_in_on,
                 notice_date=request.event_date, previous_address=old.address, became_resident_on=request.moved_in_on,
                 household_id=household_id, relationship=HEAD)
    resident.status = ACTIVE
    resident.municipality_code = request.municipality_code
    resident.planned_move_out = None
    summary["items"] = ["address", "household", "municipality"]
    if late:
        _clear_deadline(resident)
        end_cards(session, resident.resident_code)
        summary["card_lapsed"] = "move-in notice after the §2.1 deadline"
        return EFFECTS["lapse"]
    resident.continuation_deadline = request.event_date + timedelta(days=CONTINUATION_DAYS)
    resident.continuation_due = "continuation"
    summary["continuation_due_by"] = resident.continuation_deadline.isoformat()
    return EFFECTS["move-in"]


def _continuation(session: Session, resident: Resident, event: Event, request: Continuation, summary: dict[str, Any]) -> Effect:
    if resident.continuation_due != "continuation" or resident.continuation_deadline is None:
        raise Conflict("no card continuation is due for this resident")
    if request.event_date > resident.continuation_deadline:
        raise Conflict("the continuation deadline has passed; the card has lapsed")
    _clear_deadline(resident)
    summary["items"] = ["card continuation"]
    return EFFECTS["continuation"]


def _name_change(session: Session, resident: Resident, event: Event, request: NameChange, summary: dict[str, Any]) -> Effect:
    old = current_version(session, resident)
    changes: dict[str, Any] = {}
    if request.family_name is not None:
        changes["family_name"] = request.family_name
    if request.given_name is not None:
        changes["given_name"] = request.given_name
    if request.old_surname is not None:
        changes["old_surname"] = request.old_surname or None
    if all(getattr(old, k) == v for k, v in changes.items()):
        raise Conflict("the name given is the name already recorded")
    _add_version(session, resident, event, **changes)
    summary["items"] = sorted(changes)
    return EFFECTS["name-change"]


def _correction(session: Session, resident: Resident, event: Event, request: Correction, summary: dict[str, Any]) -> Effect:
    old = current_version(session, resident)
    changes: dict[str, Any] = {}
    if request.sex is not None and request.sex != old.sex:
        changes["sex"] = request.sex
    if request.birth_date is not None and request.birth_date != old.birth_date:
        changes["birth_date"] = request.birth_date
    if not changes:
        raise Conflict("the values given are the ones already recorded")
    _add_version(session, resident, event, **changes)
    summary["items"] = sorted(changes)
    return EFFECTS["correction"]


def _death(session: Session, resident: Resident, event: Event, request: Death, summary: dict[str, Any]) -> Effect:
    resident.status, resident.deleted_reason = DELETED, "death"
    _clear_deadline(resident)
    end_cards(session, resident.resident_code)
    summary["items"] = ["status"]
    return EFFECTS["death"]


def _emigration(session: Session, resident: Resident, event: Event, request: Emigration, summary: dict[str, Any]) -> Effect:
    resident.status, resident.deleted_reason = DELETED, "emigration"
    _clear_deadline(resident)
    summary["items"] = ["status"]
    return EFFECTS["emigration"]


def _household_change(
    session: Session, resident: Resident, event: Event, request: HouseholdChange, summary: dict[str, Any]
) -> Effect:
    household_id = _household(session, request.household_id, resident.municipality_code)
    old = current_version(session, resident)
    if request.household_id is not None and request.relationship == HEAD:
        raise Invalid("an existing household already has its head; give the relationship (妻, 子, …)")
    if (old.household_id, old.relationship) == (household_id, request.relationship):
        raise Conflict("the resident is already in this household with this relationship")
    _add_version(session, resident, event, household_id=household_id, relationship=request.relationship)
    summary["items"] = ["household", "relationship"]
    return EFFECTS["household-change"]


#: ItemsUpdate fields that belong to foreign residents only.
FOREIGN_ONLY = ("alias_name", "residence_status", "period_of_stay", "stay_expires_on", "residence_card_number")


def _items_update(session: Session, resident: Resident, event: Event, request: ItemsUpdate,
                  summary: dict[str, Any]) -> Effect:
    given = request.model_fields_set - {"kind", "event_date", "cause"}
    foreign = resident.kind == "foreign"
    if not foreign and given & set(FOREIGN_ONLY):
        raise Invalid("通称 and the status of residence are recorded for foreign residents only")
    if foreign and given & {"honseki", "hittosha"}:
        raise Invalid("a foreign resident has no 本籍 or 筆頭者")
    old = current_version(session, resident)
    changes: dict[str, object] = {}
    for name in sorted(given):
        value = getattr(request, name)
        if name == "welfare":
            value = {**(old.welfare or {}), **value}
        elif value == "":
            value = None
        if getattr(old, name) != value:
            changes[name] = value
    if not changes:
        raise Conflict("the values given are the ones already recorded")
    _add_version(session, resident, event, **changes)
    summary["items"] = sorted(changes)
    return EFFECTS["items-update"]


def _check(address: str, municipality_code: str) -> None:
    try:
        check_address(address, municipality_code)
    except ValueError as exc:
        raise Invalid(str(exc)) from None


def _apply(session: Session, resident: Resident, recorded: Event, event: RecordEvent,
           summary: dict[str, Any]) -> Effect:
    """The event's own rule: changes the record and says which certificates go."""
    match event:
        case MoveWithin():
            return _move_within(session, resident, recorded, event, summary)
        case MoveOut():
            return _move_out(session, resident, recorded, event, summary)
        case MoveIn():
            return _move_in(session, resident, recorded, event, summary)
        case Continuation():
            return _continuation(session, resident, recorded, event, summary)
        case NameChange():
            return _name_change(session, resident, recorded, event, summary)
        case Correction():
            return _correction(session, resident, recorded, event, summary)
        case Death():
            return _death(session, resident, recorded, event, summary)
        case Emigration():
            return _emigration(session, resident, recorded, event, summary)
        case HouseholdChange():
            return _household_change(session, resident, recorded, event, summary)
        case ItemsUpdate():
            return _items_update(session, resident, recorded, event, summary)


# -- deadlines and numbers ----------------------------------------------------------------------


def lapse_overdue(session: Session, caller: Caller, today: date) -> list[Recorded]:
    """Residents whose §2.1 deadline passed: their card lapses (both certificates revoked)."""
    overdue = session.execute(
        select(Resident).where(Resident.continuation_deadline < today, Resident.status != DELETED).with_for_update()
    ).scalars().all()
    done = []
    for resident in overdue:
        due = resident.continuation_due or "continuation"
        event = new_event(session, caller, resident.resident_code, "lapse", today,
                           f"deadline for the {due} passed", {"items": ["card"], "missed": due})
        _clear_deadline(resident)
        end_cards(session, resident.resident_code)
        queue_revocations(session, event, resident.resident_code, EFFECTS["lapse"])
        record_access(session, caller, resident.resident_code, "event:lapse", event.cause, "card")
        done.append(Recorded(event, resident.resident_code))
    session.flush()
    return done


def replace_my_number(session: Session, caller: Caller, key: bytes, code: str, cause: str, today: date) -> Recorded:
    """A leaked number (漏えいして不正に用いられるおそれ) is retired and a new one issued."""
    resident = _resident_for_update(session, code)
    if resident.status == DELETED:
        raise Conflict("the record has been deleted; its number is not replaced")
    event = new_event(session, caller, code, "number-replacement", today, cause, {"items": ["my_number"]})
    number = numbers.replace_number(session, key, code, "leaked")
    queue_revocations(session, event, code, EFFECTS["number-replacement"])
    record_access(session, caller, code, "event:number-replacement", cause, "my_number")
    session.flush()
    return Recorded(event, code, number)
