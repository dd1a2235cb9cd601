"""The register's HTTP API (`mynacard serve` mounts it at `/register`; OpenAPI at /register/openapi.json).

Roles: `register-admin` (everything), `clerk` (records, events, cards, 方法2), `centre` (lookup
by My Number, loss reports), and `resident` (a portal session: their own record and access
records, nothing else). Every read or change of personal data writes an access record in the
same transaction; reads need a `purpose`. Every refusal is `{"error", "detail"}` with a 4xx
status and changes nothing.
"""


import base64
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from mynacard.ca.keys import KeySource
from mynacard.codec.resident_code import is_valid as is_resident_code
from mynacard.register_stub import cards, events, method2, outbox, portal, records
from mynacard.register_stub.access import record_access, records_about
from mynacard.register_stub.application_form import application_form
from mynacard.register_stub.errors_api import Invalid, NotFound, database_error_response
from mynacard.register_stub.fast_routes import FastRoutes
from mynacard.register_stub.lookup import LookupIn, LookupOut
from mynacard.register_stub.lookup import lookup as lookup_by_number
from mynacard.register_stub.models import Household, Resident, ResidentVersion, Revocation
from mynacard.register_stub.runtime import RegisterRuntime
from mynacard.register_stub.schemas import Cause, NewRecordEvent, RecordEvent, Strict, today_in_japan
from mynacard.register_stub.window_api import build_window_router
from mynacard.service.auth import Caller, bearer_token, require_role
from mynacard.service.config import ServiceConfig
from mynacard.service.errors import ApiError, install_error_handlers

ADMIN, CLERK, CENTRE, RESIDENT = "register-admin", "clerk", "centre", "resident"
Purpose = Annotated[str, Query(min_length=1, max_length=200, description="why the data is read (recorded)")]


class CreatedOut(BaseModel):
    resident_code: str
    my_number: str
    event: records.EventOut


class NumberOut(BaseModel):
    my_number: str
    event: records.EventOut


class CauseIn(Strict):
    cause: Cause


class CardIssuedOut(BaseModel):
    card_serial: str
    sign_serial: str | None = Field(description="None: no signing certificate (holder under 15)")
    auth_serial: str
    expires_on: date
    security_code: str
    image: dict[str, str] = Field(description="the card image's files (card.json, files/…, keys/…), base64")


class MemberOut(BaseModel):
    resident_code: str
    family_name: str
    given_name: str
    relationship: str


class HouseholdOut(BaseModel):
    id: int
    municipality_code: str
    members: list[MemberOut]


class DeliveryOut(BaseModel):
    delivered: int
    retrying: int
    failed: int


class LapsedOut(BaseModel):
    events: list[records.EventOut]


class ChallengeOut(BaseModel):
    challenge: str = Field(description="base64url, to be signed as is (SHA-256, PKCS#1 v1.5) by the auth key")
    expires_at: datetime


class LoginIn(Strict):
    challenge: str = Field(min_length=1, max_length=100)
    signature: str = Field(min_length=1, max_length=2000, description="base64")
    certificate: str = Field(min_length=1, max_length=8000, description="the auth certificate, DER in base64")


class LoginOut(BaseModel):
    session_token: str
    expires_at: datetime


def _code(code: str = Path(description="住民票コード, 11 digits")) -> str:
    if not is_resident_code(code):
        raise Invalid("the path does not name a 住民票コード (11 digits with a valid check digit)")
    return code


def _card_serial(serial: str = Path(description="card serial, 15 digits")) -> str:
    if len(serial) != 15 or not serial.isascii() or not serial.isdigit():
        raise Invalid("a card serial is 15 digits")
    return serial


Code = Annotated[str, Depends(_code)]
CardSerial = Annotated[str, Depends(_card_serial)]


def create_app(config: ServiceConfig, runtime: RegisterRuntime | None = None, *, key_source: KeySource | None = None) -> FastAPI:
    """The register app; `mynacard serve` mounts it at `/register`."""
    if runtime is None:
        runtime = RegisterRuntime.open(config, key_source=key_source)
    app = FastAPI(
        title="mynacard resident register",
        version="1",
        description="住民基本台帳 stub: residents and households, 住民票コード and My Numbers, life events that "
        "revoke JPKI certificates through the CA service, card issuance, 方法2 queries, access records, "
        "portal login with the card's auth certificate.",
        openapi_url="/openapi.json",
    )
    install_error_handlers(app)
    app.add_exception_handler(SQLAlchemyError, _database_error)
    app.state.runtime = runtime
    app.state.metric_sources = [outbox.depth_metrics(runtime.store)]
    app.include_router(build_router(runtime))
    FastRoutes(runtime.store, {"/v1/lookup": (ADMIN, CLERK, CENTRE), "/v1/method2": (ADMIN, CLERK)}).declare(app)
    app.include_router(build_window_router(
        runtime, lambda *roles: require_role(lambda: runtime.store.token_reader, *roles), ADMIN, (ADMIN, CLERK)))
    return app


def build_router(rt: RegisterRuntime) -> APIRouter:
    router = APIRouter(prefix="/v1")

    def role(*roles: str) -> Callable[[Request], Caller]:
        return require_role(lambda: rt.store.token_reader, *roles)

    Staff = Annotated[Caller, Depends(role(ADMIN, CLERK))]  # noqa: N806 - a type alias
    Admin = Annotated[Caller, Depends(role(ADMIN))]  # noqa: N806 - a type alias
    Anyone = Annotated[Caller, Depends(role(ADMIN, CLERK, CENTRE))]  # noqa: N806 - a type alias

    def transaction() -> Iterator[Session]:
        with rt.store.transaction() as session:
            yield session

    def resident_caller(request: Request) -> tuple[Caller, str]:
        token = bearer_token(request)
        if token is None:
            raise ApiError(401, "unauthenticated", "Log in with the card first (POST /v1/portal/login).",
                           {"WWW-Authenticate": "Bearer"})
        with rt.store.reader() as session:
            code = portal.session_resident(session, token)
        if code is None:
            raise ApiError(401, "unauthenticated", "The portal session is unknown or has expired; log in again.",
                           {"WWW-Authenticate": "Bearer"})
        return Caller("本人 (portal)", RESIDENT), code

    # scope="function": the transaction commits before the response is sent, so an answer is never
    # given for a read whose access record was not stored
    Db = Annotated[Session, Depends(transaction, scope="function")]  # noqa: N806 - a type alias
    Me = Annotated[tuple[Caller, str], Depends(resident_caller)]  # noqa: N806 - a type alias

    # -- residents and events ------------------------------------------------------------------

    @router.post("/residents", status_code=201, response_model=CreatedOut, tags=["residents"],
                 summary="A new record: birth or first entry from abroad")
    def create(event: Annotated[NewRecordEvent, Body()], caller: Staff) -> CreatedOut:
        with rt.store.transaction() as session:
            done = events.create_resident(session, caller, rt.number_key, rt.code_key, event)
            out = records.event_out(session, done.event)
        assert done.my_number is not None
        return CreatedOut(resident_code=done.resident_code, my_number=done.my_number, event=out)

    @router.post("/residents/preview", response_model=records.PreviewOut, tags=["residents"],
                 summary="What a birth or first entry would record (no certificate exists yet), without recording it")
    def preview_new(event: Annotated[NewRecordEvent, Body()], caller: Staff) -> records.PreviewOut:
        with rt.store.rehearsal() as session:  # the very code that records it, rolled back: refusals included
            done = events.create_resident(session, caller, rt.number_key, rt.code_key, event)
            out = records.preview_out(session, done.event)
        return out

    @router.get("/residents/{code}", response_model=records.RecordOut, tags=["residents"],
                summary="The current 住民票 (all items, the My Number included)")
    def read(code: Code, purpose: Purpose, caller: Staff, session: Db) -> records.RecordOut:
        out = records.record_out(session, code, with_number=True)
        record_access(session, caller, code, "read-record", purpose, "all items, my_number")
        return out

    @router.get("/residents/{code}/versions", response_model=list[records.VersionOut], tags=["residents"],
                summary="Every version of the record, oldest first")
    def versions(code: Code, purpose: Purpose, caller: Staff, session: Db) -> list[records.VersionOut]:
        out = records.history(session, code)
        record_access(session, caller, code, "read-history", purpose, "all items, all versions")
        return out

    @router.post("/residents/{code}/events", status_code=201, response_model=records.EventOut, tags=["events"],
                 summary="Record a life event (one transaction, revocations queued with it)")
    def record(code: Code, event: Annotated[RecordEvent, Body()], caller: Staff) -> records.EventOut:
        with rt.store.transaction() as session:
            done = events.record_event(session, caller, code, event)
            out = records.event_out(session, done.event)
        rt.wake_worker()
        return out

    @router.post("/residents/{code}/events/preview", response_model=records.PreviewOut, tags=["events"],
                 summary="What an event would do (its revocations, by §5) without recording it")
    def preview(code: Code, event: Annotated[RecordEvent, Body()], caller: Staff) -> records.PreviewOut:
        with rt.store.rehearsal() as session:  # the very code that records it, rolled back
            done = events.record_event(session, caller, code, event)
            out = records.preview_out(session, done.event)
        with rt.store.transaction() as session:
            record_access(session, caller, code, f"preview:{event.kind}", event.cause, "certificates")
        return out

    @router.get("/residents/{code}/events", response_model=list[records.EventOut], tags=["events"])
    def list_events(code: Code, purpose: Purpose, caller: Staff, session: Db) -> list[records.EventOut]:
        out = records.events_of(session, code)
        record_access(session, caller, code, "read-events", purpose, "events")
        return out

    @router.get("/events/{event_id}", response_model=records.EventOut, tags=["events"],
                summary="An event and the revocations it caused")
    def one_event(event_id: int, purpose: Purpose, caller: Staff, session: Db) -> records.EventOut:
        out = records.event(session, event_id)
        record_access(session, caller, out.resident_code, "read-event", purpose, "event")
        return out

    @router.post("/residents/{code}/my-number/replace", response_model=NumberOut, tags=["numbers"],
                 summary="Replace a leaked My Number (the old one is retired, never reissued)")
    def replace(code: Code, body: CauseIn, caller: Admin) -> NumberOut:
        with rt.store.transaction() as session:
            done = events.replace_my_number(session, caller, rt.number_key, code, body.cause, today_in_japan())
            out = records.event_out(session, done.event)
        rt.wake_worker()
        assert done.my_number is not None
        return NumberOut(my_number=done.my_number, event=out)

    @router.post("/lookup", response_model=LookupOut, tags=["numbers"],
                 summary="Which record holds this My Number (POST, so the number stays out of URLs)")
    def lookup(body: LookupIn, caller: Anyone) -> LookupOut:
        return lookup_by_number(rt.store, caller, body)

    @router.post("/method2", response_model=method2.Method2Answer, tags=["method2"], response_model_exclude_none=True,
                 summary="方法2: My Number + four facts → match / no-match / which items differ")
    def method2_query(body: method2.Method2Query, caller: Staff) -> method2.Method2Answer:
        return method2.query(rt.store, caller, body)

    @router.get("/residents/{code}/application-form", tags=["cards"],
                summary="The application form (My Number + four facts) `mynacard card check` compares a card with")
    def form(code: Code, purpose: Purpose, caller: Staff, session: Db, city_roman: str | None = None) -> dict[str, object]:
        resident = records.resident(session, code)
        out = application_form(cards.person_of(session, resident, city_roman or _any_city(resident.municipality_code)))
        record_access(session, caller, code, "read-application-form", purpose, "four facts, my_number")
        return out

    @router.get("/households/{household_id}", response_model=HouseholdOut, tags=["residents"])
    def household(household_id: int, purpose: Purpose, caller: Staff, session: Db) -> HouseholdOut:
        row = session.get(Household, household_id)
        if row is None:
            raise NotFound(f"household {household_id} does not exist")
        members = []
        current = session.execute(
            select(Resident, ResidentVersion)
            .join(ResidentVersion, (ResidentVersion.resident_code == Resident.resident_code)
                  & (ResidentVersion.version == Resident.current_version))
            .where(ResidentVersion.household_id == household_id, Resident.status != "deleted")
        ).all()
        for resident, version in current:
            members.append(MemberOut(resident_code=resident.resident_code, family_name=version.family_name,
                                     given_name=version.given_name, relationship=version.relationship))
            record_access(session, caller, resident.resident_code, "read-household", purpose, "name, relationship")
        return HouseholdOut(id=row.id, municipality_code=row.municipality_code, members=members)

    @router.get("/residents/{code}/access-records", response_model=list[records.AccessOut], tags=["access records"])
    def access_records(code: Code, purpose: Purpose, caller: Admin, session: Db,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[records.AccessOut]:
        records.resident(session, code)
        out = [records.access_out(r) for r in records_about(session, code, limit)]
        record_access(session, caller, code, "read-access-records", purpose, "access records")
        return out

    # -- cards ---------------------------------------------------------------------------------

    def _issued(card: cards.IssuedCard) -> CardIssuedOut:
        return CardIssuedOut(
            card_serial=card.card_serial, sign_serial=card.sign_serial, auth_serial=card.auth_serial,
            expires_on=card.expires_on, security_code=card.security_code,
            image={path: base64.b64encode(data).decode("ascii") for path, data in card.image_files.items()},
        )

    @router.post("/residents/{code}/cards", status_code=201, response_model=CardIssuedOut, tags=["cards"],
                 summary="Issue a card: keys made for it, certificates from the CA service")
    def issue(code: Code, application: cards.CardApplication, caller: Staff) -> CardIssuedOut:
        card = cards.issue_card(rt.store, caller, code, application, rt.ca_client(), rt.number_key, rt.key_source)
        return _issued(card)

    @router.get("/residents/{code}/cards", response_model=list[records.CardOut], tags=["cards"])
    def list_cards(code: Code, purpose: Purpose, caller: Staff, session: Db) -> list[records.CardOut]:
        out = records.cards_of(session, code)
        record_access(session, caller, code, "read-cards", purpose, "cards")
        return out

    def hold_or_release(serial: str, cause: str, caller: Caller, *, lost: bool) -> records.EventOut:
        with rt.store.transaction() as session:
            event_id = cards.hold_or_release(session, caller, serial, cause, lost=lost)
            out = records.event(session, event_id)
        rt.wake_worker()
        return out

    @router.post("/cards/{serial}/lost", response_model=records.EventOut, tags=["cards"],
                 summary="Loss report: the card's certificates are suspended (certificateHold)")
    def lost(serial: CardSerial, body: CauseIn, caller: Anyone) -> records.EventOut:
        return hold_or_release(serial, body.cause, caller, lost=True)

    @router.post("/cards/{serial}/found", response_model=records.EventOut, tags=["cards"],
                 summary="The card was found: the suspension is lifted")
    def found(serial: CardSerial, body: CauseIn, caller: Staff) -> records.EventOut:
        return hold_or_release(serial, body.cause, caller, lost=False)

    @router.post("/cards/{serial}/reissue", status_code=201, response_model=CardIssuedOut, tags=["cards"],
                 summary="A new card replacing this one (whose certificates are revoked, superseded)")
    def reissue(serial: CardSerial, application: cards.CardApplication, caller: Staff) -> CardIssuedOut:
        with rt.store.reader() as session:
            owner = records.card_owner(session, serial)
        card = cards.issue_card(rt.store, caller, owner, application, rt.ca_client(), rt.number_key, rt.key_source,
                                replaces=serial)
        rt.wake_worker()
        return _issued(card)

    # -- outbox and deadlines ------------------------------------------------------------------

    @router.get("/outbox", response_model=list[records.RevocationOut], tags=["outbox"],
                summary="Revocations, holds and releases for the CA service, with their delivery state")
    def list_outbox(caller: Admin, session: Db,
                    status: Literal["pending", "delivered", "failed"] | None = None,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[records.RevocationOut]:
        query = select(Revocation)
        if status is not None:
            query = query.where(Revocation.status == status)
        rows = session.execute(query.order_by(Revocation.id.desc()).limit(limit)).scalars()
        return [records.revocation_out(r) for r in rows]

    @router.post("/outbox/deliver", response_model=DeliveryOut, tags=["outbox"], summary="Deliver what is due now")
    def deliver(caller: Admin) -> DeliveryOut:
        result = outbox.deliver_due(rt.store, rt.ca_client())
        return DeliveryOut(delivered=result.delivered, retrying=result.retrying, failed=result.failed)

    @router.post("/outbox/{row_id}/retry", response_model=records.RevocationOut, tags=["outbox"])
    def retry(row_id: int, caller: Admin) -> records.RevocationOut:
        row = outbox.retry(rt.store, row_id)
        rt.wake_worker()
        return records.revocation_out(row)

    @router.post("/deadlines/sweep", response_model=LapsedOut, tags=["events"],
                 summary="Cards whose §2.1 move deadline passed lapse (both certificates revoked)")
    def sweep(caller: Admin) -> LapsedOut:
        with rt.store.transaction() as session:
            done = events.lapse_overdue(session, caller, today_in_japan())
            out = [records.event_out(session, d.event) for d in done]
        rt.wake_worker()
        return LapsedOut(events=out)

    # -- portal --------------------------------------------------------------------------------

    @router.post("/portal/challenge", response_model=ChallengeOut, tags=["portal"],
                 summary="A single-use challenge for the card's auth key to sign")
    def challenge(session: Db) -> ChallengeOut:
        value, expires = portal.new_challenge(session)
        return ChallengeOut(challenge=value, expires_at=expires)

    @router.post("/portal/login", response_model=LoginOut, tags=["portal"],
                 summary="Log in with the signed challenge and the auth certificate")
    def login(body: LoginIn) -> LoginOut:
        auth_ca, ocsp_url = rt.auth_ca()
        with rt.store.transaction() as session:
            data = portal.consume_challenge(session, body.challenge)
        signature = portal.decode_base64(body.signature, "signature")
        der = portal.decode_base64(body.certificate, "certificate")
        certificate = portal.verify_login(data, signature, der, auth_ca, ocsp_url, rt.http)
        with rt.store.transaction() as session:
            code, serial = portal.resident_of(session, certificate)
            token, expires = portal.open_session(session, code, serial)
            record_access(session, Caller("本人 (portal)", RESIDENT), code, "portal-login", "マイナポータル login",
                          "auth certificate")
        return LoginOut(session_token=token, expires_at=expires)

    @router.get("/portal/me", response_model=records.RecordOut, tags=["portal"], summary="My own record")
    def me(who: Me, session: Db) -> records.RecordOut:
        caller, code = who
        out = records.record_out(session, code, with_number=True)
        record_access(session, caller, code, "read-record", "本人による確認", "all items, my_number")
        return out

    @router.get("/portal/me/access-records", response_model=list[records.AccessOut], tags=["portal"],
                summary="Who read or changed my data (アクセス記録)")
    def my_access(who: Me, session: Db,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[records.AccessOut]:
        caller, code = who
        out = [records.access_out(r) for r in records_about(session, code, limit)]
        record_access(session, caller, code, "read-access-records", "本人による確認", "access records")
        return out

    return router


async def _database_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SQLAlchemyError)
    return database_error_response(exc)


def _any_city(municipality_code: str) -> str | None:
    """The application form needs no romanised city; any placeholder satisfies `Person`."""
    from mynacard.register_stub.municipalities import CITIES

    return None if municipality_code in CITIES else "-"
