"""The centre's HTTP API, exactly docs/kiosk.md "Centre API" (`mynacard serve` mounts it at
`/centre`), plus the verification endpoint and the clerks' restrictions.

- Kiosk calls need a token with the `kiosk` role (DATA/tokens.json's `kiosk`).
- `GET /v1/verify/{code}` is public: whoever holds the paper may check it, and learns the
  document type, date, municipality, status and the PDF's SHA-256 — nothing beyond the paper.
- `PUT`/`DELETE /v1/restrictions/{code}/{kind}` (register-admin, clerk): 支援措置 and 外字 stops.
- `GET /v1/transactions/{id}` (register-admin): status, fee and verification code of one
  transaction, for the operator reconciling a kiosk's report.

Session opening verifies as the register's portal login does (`portal.verify_login`): the
signature over the challenge, the chain to the PINNED auth root (the one the CA service in the
same data directory signs with: the test authority only when that is its identity), validity,
key usage, OCSP at the CA service. No good status answer, no session (503: try again later).
"""

import base64
import binascii
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import httpx
from cryptography import x509
from fastapi import APIRouter, Depends, FastAPI
from fastapi import Path as PathParam
from pydantic import Field

from mynacard.codec.resident_code import is_valid as is_resident_code
from mynacard.register_stub import portal
from mynacard.register_stub.access import record_access
from mynacard.register_stub.centre import eligibility, ledger, offers
from mynacard.register_stub.centre.models import Restriction
from mynacard.register_stub.centre.sessions import SessionTable
from mynacard.register_stub.centre.store import open_centre_store, prepare
from mynacard.register_stub.centre.window_documents import build_window_router
from mynacard.register_stub.models import Card, Certificate
from mynacard.register_stub.schemas import Strict, today_in_japan
from mynacard.register_stub.store import RegisterStore
from mynacard.service.auth import Caller, require_role
from mynacard.service.config import ServiceConfig
from mynacard.service.errors import ApiError, install_error_handlers

KIOSK = "kiosk"
STAFF = ("register-admin", "clerk")
KioskId = Annotated[str, Field(min_length=1, max_length=64)]


class ChallengeIn(Strict):
    kiosk_id: KioskId


class SessionIn(Strict):
    kiosk_id: KioskId
    challenge_id: str = Field(min_length=1, max_length=64)
    hash: str = Field(default="sha256", pattern="^sha256$")
    signature: str = Field(min_length=1, max_length=2000)
    certificate: str = Field(min_length=1, max_length=8000)


class TransactionIn(Strict):
    kiosk_id: KioskId
    session_id: str = Field(min_length=1, max_length=64)
    transaction_id: str = Field(min_length=1, max_length=64)
    document: str = Field(min_length=1, max_length=20)
    scope: str = Field(min_length=1, max_length=20)
    options: list[str] = Field(default_factory=list, max_length=10)
    copies: int


class SettleIn(Strict):
    kiosk_id: KioskId
    session_id: str = Field(min_length=1, max_length=64)
    amount: int


class CancelIn(Strict):
    kiosk_id: KioskId
    session_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=40)


class EndIn(Strict):
    kiosk_id: KioskId


def pinned_auth_root(data_dir: Path) -> x509.Certificate:
    """The auth CA the CA service of this data directory signs with (never one a client sends)."""
    from mynacard.ca.authority import load_test_authority
    from mynacard.ca.identity import TEST_AUTHORITY, CaDirectory

    folder = CaDirectory(data_dir / "ca")
    if folder.origin() == TEST_AUTHORITY:
        return load_test_authority().auth_ca.certificate
    return x509.load_pem_x509_certificate((folder.path / "auth-ca.pem").read_bytes())


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "bad_request", f"The {what} is not base64.") from None


def card_holder(store: RegisterStore, certificate: x509.Certificate) -> str:
    """The resident code of the card this auth certificate is on (register's issuance records).

    Unlike the portal's mapping, a deleted resident is not an error here: eligibility answers
    them with `deceased` or `moved_out`.
    """
    with store.reader() as session:
        row = session.get(Certificate, ("auth", f"{certificate.serial_number:X}"))
        card = session.get(Card, row.card_serial) if row is not None else None
    if row is None or card is None:
        raise ApiError(403, "unknown_certificate", "This card was not issued by the register; go to the municipal window.")
    if card.status != "active" or row.status != "good":
        raise ApiError(403, "card_not_active", "The card is suspended or no longer in use; go to the municipal window.")
    return row.resident_code


def create_app(config: ServiceConfig, store: RegisterStore | None = None, *, http: httpx.Client | None = None) -> FastAPI:
    store = prepare(store, config) if store is not None else open_centre_store(config)
    app = FastAPI(title="mynacard issuance centre (証明書交付センター)", version="1",
                  description="The kiosks' centre: card authentication, eligibility, certificates as PDF, "
                  "transactions bound to their session and resident, and verification of printed codes.",
                  openapi_url="/openapi.json")
    install_error_handlers(app)
    app.include_router(build_router(config, store, http or httpx.Client(timeout=10.0)))
    app.include_router(build_window_router(store, require_role(lambda: store.token_reader, *STAFF),
                                           f"{config.service_url('centre')}/v1/verify"))
    return app


def build_router(config: ServiceConfig, store: RegisterStore, http: httpx.Client) -> APIRouter:
    router = APIRouter(prefix="/v1")
    sessions = SessionTable(store)
    auth_root = pinned_auth_root(config.data_dir)
    ocsp_url = f"{config.service_url('ca')}/ocsp/auth"
    verify_base = f"{config.service_url('centre')}/v1/verify"
    Kiosk = Annotated[Caller, Depends(require_role(lambda: store.token_reader, KIOSK))]  # noqa: N806 - a type alias
    Staff = Annotated[Caller, Depends(require_role(lambda: store.token_reader, *STAFF))]  # noqa: N806 - a type alias
    Admin = Annotated[Caller, Depends(require_role(lambda: store.token_reader, STAFF[0]))]  # noqa: N806 - a type alias

    def kiosk_caller(caller: Caller, kiosk_id: str) -> Caller:
        return Caller(f"{caller.name}:{kiosk_id}", KIOSK)

    @router.post("/challenges", tags=["kiosk"], summary="A single-use challenge for the card's auth key")
    def challenge(body: ChallengeIn, caller: Kiosk) -> dict[str, object]:
        challenge_id, value = sessions.new_challenge(f"{caller.name}:{body.kiosk_id}")
        return {"challenge_id": challenge_id, "challenge": value}

    @router.post("/sessions", tags=["kiosk"], summary="Open a session with the signed challenge")
    def open_session(body: SessionIn, caller: Kiosk) -> dict[str, object]:
        kiosk = kiosk_caller(caller, body.kiosk_id)
        data = sessions.take_challenge(kiosk.name, body.challenge_id)
        signature, der = _b64(body.signature, "signature"), _b64(body.certificate, "certificate")
        try:
            certificate = portal.verify_login(data, signature, der, auth_root, ocsp_url, http)
        except portal.StatusUnavailable as exc:
            raise ApiError(503, "status_unavailable", exc.detail) from None
        except portal.LoginRefused as exc:
            code = "certificate_revoked" if "revoked" in exc.detail else "signature_invalid"
            raise ApiError(401, code, exc.detail) from None
        resident_code = card_holder(store, certificate)
        with store.transaction() as session:
            facts = eligibility.facts(session, resident_code, today_in_japan())
            record_access(session, kiosk, resident_code, "centre-session", ledger.PURPOSE, "four facts, status",
                          facts.refusal or "ok")
            opened = sessions.open(kiosk.name, resident_code, f"{certificate.serial_number:X}", within=session)
        place = offers.municipality(facts.record.municipality_code)
        return {"session_id": opened.session_id,
                "eligibility": {"eligible": facts.refusal is None, "reason": facts.refusal},
                "documents": offers.offers(place, facts.foreign)}

    @router.delete("/sessions/{session_id}", tags=["kiosk"], summary="End a session")
    def end_session(session_id: str, body: EndIn, caller: Kiosk) -> dict[str, object]:
        sessions.end(kiosk_caller(caller, body.kiosk_id).name, session_id)
        return {"status": "ended"}

    @router.post("/transactions", tags=["kiosk"], summary="The document for this transaction, and only it")
    def request_document(body: TransactionIn, caller: Kiosk) -> dict[str, object]:
        kiosk = kiosk_caller(caller, body.kiosk_id)
        opened = sessions.get(kiosk.name, body.session_id)
        request = ledger.Request(body.kiosk_id, body.session_id, body.transaction_id, body.document, body.scope,
                                 tuple(dict.fromkeys(body.options)), body.copies)
        with store.reader() as snapshot:  # the PDF is rendered here, outside the write lock (ledger.Draft)
            seen = eligibility.facts(snapshot, opened.resident_code, today_in_japan())
            drafted = ledger.draft(snapshot, seen, request, verify_base) if seen.refusal is None else None
        with store.transaction() as session:
            facts = eligibility.facts(session, opened.resident_code, today_in_japan())
            if facts.refusal is None:
                issued = ledger.issue(session, kiosk, facts, request, verify_base, drafted=drafted)
            else:  # recorded, and committed before the refusal is answered
                record_access(session, kiosk, opened.resident_code, "centre-issue", ledger.PURPOSE, "status",
                              facts.refusal)
        if facts.refusal is not None:
            raise ApiError(403, facts.refusal, "The resident cannot be issued certificates at a kiosk; go to the "
                           "municipal window.")
        return {"transaction_id": issued.transaction_id, "pdf": base64.b64encode(issued.pdf).decode("ascii"),
                "sha256": issued.sha256, "verification_code": issued.verification_code, "pages": issued.pages,
                "fee": issued.fee}

    @router.post("/transactions/{transaction_id}/settle", tags=["kiosk"], summary="Paid: the kiosk may print")
    def settle(transaction_id: str, body: SettleIn, caller: Kiosk) -> dict[str, object]:
        with store.transaction() as session:
            ledger.settle(session, transaction_id, body.kiosk_id, body.session_id, body.amount)
        return {"status": "settled"}

    @router.post("/transactions/{transaction_id}/cancel", tags=["kiosk"], summary="Not printed: void it")
    def cancel(transaction_id: str, body: CancelIn, caller: Kiosk) -> dict[str, object]:
        with store.transaction() as session:
            ledger.cancel(session, transaction_id, body.kiosk_id, body.session_id, body.reason)
        return {"status": "cancelled"}

    @router.get("/transactions/{transaction_id}", tags=["operations"],
                summary="An issued transaction as operators see it (no personal data)")
    def transaction(transaction_id: str, caller: Admin) -> dict[str, object]:
        with store.reader() as session:
            return ledger.operator_view(session, transaction_id)

    @router.get("/verify/{code}", tags=["verification"], summary="Check a printed verification code (public)")
    def verify(code: Annotated[str, PathParam(pattern=r"^[A-Z0-9]{4}(-[A-Z0-9]{4}){3}$")]) -> dict[str, object]:
        with store.reader() as session:
            return ledger.verification(session, code)

    def _restriction(code: str, kind: str) -> None:
        if not is_resident_code(code):
            raise ApiError(400, "bad_request", "The path does not name a 住民票コード.")
        if kind not in eligibility.RESTRICTIONS:
            raise ApiError(400, "bad_request", f"A restriction is one of {', '.join(eligibility.RESTRICTIONS)}.")

    @router.put("/restrictions/{code}/{kind}", tags=["restrictions"], summary="Stop kiosk issuance (支援措置, 外字)")
    def restrict(code: str, kind: str, caller: Staff) -> dict[str, object]:
        _restriction(code, kind)
        with store.transaction() as session:
            eligibility.facts(session, code, today_in_japan())  # 404 for an unknown resident
            if session.get(Restriction, (code, kind)) is None:
                session.add(Restriction(resident_code=code, kind=kind, recorded_at=datetime.now(UTC),
                                        recorded_by=caller.name))
            record_access(session, caller, code, f"centre-restrict-{kind}", ledger.PURPOSE, "restriction")
        return {"resident_code": code, "restriction": kind, "status": "set"}

    @router.delete("/restrictions/{code}/{kind}", tags=["restrictions"], summary="Lift a stop")
    def lift(code: str, kind: str, caller: Staff) -> dict[str, object]:
        _restriction(code, kind)
        with store.transaction() as session:
            row = session.get(Restriction, (code, kind))
            if row is not None:
                session.delete(row)
            record_access(session, caller, code, f"centre-lift-{kind}", ledger.PURPOSE, "restriction")
        return {"resident_code": code, "restriction": kind, "status": "lifted"}

    return router
