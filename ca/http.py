"""The CA service over HTTP (FastAPI), mounted at `/ca` by `mynacard serve`.

Public: `GET /v1/cas`, the CRLs and OCSP. Everything else needs `Authorization: Bearer <token>`
with a role: `ca-admin` (everything), `ca-issuer` (issue, revoke, hold, release, fetch, list),
`ca-auditor` (fetch, list). Errors are `{"error", "detail"}` (service/errors.py); a refused
request changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Depends, FastAPI, Query, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from mynacard.ca.backup import export_archive
from mynacard.ca.errors import AuthorityError
from mynacard.ca.jpki_names import Locality
from mynacard.ca.personal_data import PersonalData
from mynacard.ca.runtime import CaRuntime
from mynacard.ca.service import csr_public_key, load_public_key
from mynacard.ca.status_http import OcspApp, install_crl_route
from mynacard.ca.store import STATUSES, CertificateRecord, Conflict, NotFound
from mynacard.service.auth import SERVE_TOKENS, Caller, require_role
from mynacard.service.config import ServiceConfig
from mynacard.service.errors import ApiError, install_error_handlers
from mynacard.service.fast_paths import declare

ADMIN, ISSUER, AUDITOR = "ca-admin", "ca-issuer", "ca-auditor"
CaId = Literal["sign", "auth"]


class Strict(BaseModel):
    """Request bodies: an unknown field is an error (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid")


class LocalityIn(Strict):
    prefecture: str = Field(min_length=1, max_length=64, description="romanised, e.g. Tokyo")
    city: str = Field(min_length=1, max_length=64, description="romanised, e.g. Kiyose-shi")


class PersonIn(Strict):
    name: str = Field(min_length=3, max_length=100, description="family and given name separated by U+3000")
    sex: Literal["1", "2", "3"]
    birth_date: date
    address: str = Field(min_length=1, max_length=200)


class _IssueCommon(Strict):
    public_key_pem: str | None = Field(None, max_length=10_000)
    csr_pem: str | None = Field(None, max_length=20_000)
    locality: LocalityIn
    municipality_code: str = Field(pattern=r"^[0-9]{5,6}$")
    card_expiry: date
    resident_id: str | None = Field(None, max_length=100)
    card_serial: str | None = Field(None, max_length=32)


class IssueSign(_IssueCommon):
    person: PersonIn
    auth_not_after: AwareDatetime | None = None


class IssueAuth(_IssueCommon):
    birth_date: date


class StatusChange(Strict):
    reason: str | None = Field(None, max_length=32, description="RFC 5280 CRLReason name (revoke only)")
    cause: str | None = Field(None, max_length=500, description="why, for the audit trail (e.g. 'register event 42')")
    invalidity_date: AwareDatetime | None = None


class TokenIn(Strict):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._>-]+$")
    role: Literal["ca-admin", "ca-issuer", "ca-auditor"]


class TokenOut(BaseModel):
    name: str
    role: str
    token: str


class RevocationOut(BaseModel):
    time: datetime
    reason: str
    cause: str | None
    invalidity_date: datetime | None


class CertificateOut(BaseModel):
    ca: str
    serial: str
    subject: str
    issuance_id: str
    municipality_code: str
    not_before: datetime
    not_after: datetime
    issued_at: datetime
    status: str
    resident_id: str | None
    card_serial: str | None
    certificate_pem: str
    revocation: RevocationOut | None


class CaOut(BaseModel):
    id: str
    origin: str
    certificate_pem: str
    ocsp_url: str
    crl_url: str
    ocsp_responder_pem: str


def certificate_out(record: CertificateRecord) -> CertificateOut:
    pem = x509.load_der_x509_certificate(record.der).public_bytes(serialization.Encoding.PEM).decode()
    revocation = record.revocation
    return CertificateOut(
        ca=record.ca,
        serial=record.serial_hex,
        subject=record.subject,
        issuance_id=record.issuance_id,
        municipality_code=record.municipality_code,
        not_before=record.not_before,
        not_after=record.not_after,
        issued_at=record.issued_at,
        status=record.status,
        resident_id=record.resident_id,
        card_serial=record.card_serial,
        certificate_pem=pem,
        revocation=RevocationOut(**vars(revocation)) if revocation else None,
    )


def parse_serial(text: str) -> int:
    try:
        serial = int(text, 16)
    except ValueError:
        raise ApiError(400, "invalid-serial", "The serial must be hexadecimal (as the API returns it).") from None
    if not 0 < serial < 2**63:
        raise ApiError(404, "not-found", "No certificate has that serial.")
    return serial


def _authority_error(exc: AuthorityError) -> ApiError:
    if isinstance(exc, NotFound):
        return ApiError(404, "not-found", str(exc))
    if isinstance(exc, Conflict):
        return ApiError(409, "conflict", str(exc))
    return ApiError(422, "refused", str(exc))


def _public_key(body: _IssueCommon) -> rsa.RSAPublicKey:

    if (body.public_key_pem is None) == (body.csr_pem is None):
        raise ApiError(422, "invalid-request", "Give exactly one of public_key_pem and csr_pem.")
    return load_public_key(body.public_key_pem) if body.public_key_pem else csr_public_key(body.csr_pem or "")


def build_router(runtime: CaRuntime, role: Callable[..., Callable[..., Caller]]) -> APIRouter:
    router = APIRouter()
    issuers = Depends(role(ADMIN, ISSUER))
    readers = Depends(role(ADMIN, ISSUER, AUDITOR))
    service = runtime.service

    @router.get("/v1/cas", response_model=list[CaOut], summary="The served CAs (public)")
    def cas() -> list[CaOut]:
        return [
            CaOut(
                id=ca_id,
                origin=runtime.origin,
                certificate_pem=served.certificate.public_bytes(serialization.Encoding.PEM).decode(),
                ocsp_url=runtime.status_urls(ca_id).ocsp_url,
                crl_url=runtime.status_urls(ca_id).crl_url,
                ocsp_responder_pem=served.responder.certificate.public_bytes(serialization.Encoding.PEM).decode(),
            )
            for ca_id, served in service.cas.items()
        ]

    @router.post("/v1/sign/certificates", status_code=201, response_model=CertificateOut,
                 summary="Issue a signing certificate (署名用)")
    def issue_sign(body: IssueSign, caller: Caller = issuers) -> CertificateOut:
        try:
            key = _public_key(body)
            person = PersonalData(body.person.name, body.person.sex, body.person.birth_date, body.person.address)
            record = service.issue_sign(
                key, person, Locality(body.locality.prefecture, body.locality.city), body.municipality_code,
                body.card_expiry, auth_not_after=body.auth_not_after, resident_id=body.resident_id,
                card_serial=body.card_serial, actor=caller.name,
            )
        except AuthorityError as exc:
            raise _authority_error(exc) from None
        return certificate_out(record)

    @router.post("/v1/auth/certificates", status_code=201, response_model=CertificateOut,
                 summary="Issue a user-authentication certificate (利用者証明用)")
    def issue_auth(body: IssueAuth, caller: Caller = issuers) -> CertificateOut:
        try:
            record = service.issue_auth(
                _public_key(body), body.birth_date, Locality(body.locality.prefecture, body.locality.city),
                body.municipality_code, body.card_expiry, resident_id=body.resident_id,
                card_serial=body.card_serial, actor=caller.name,
            )
        except AuthorityError as exc:
            raise _authority_error(exc) from None
        return certificate_out(record)

    @router.get("/v1/{ca}/certificates/{serial}", response_model=CertificateOut, summary="Fetch one certificate")
    def get(ca: CaId, serial: str, _caller: Caller = readers) -> CertificateOut:
        try:
            return certificate_out(service.store.get(ca, parse_serial(serial)))
        except AuthorityError as exc:
            raise _authority_error(exc) from None

    @router.get("/v1/{ca}/certificates/{serial}/events", summary="The audit trail of one certificate")
    def events(ca: CaId, serial: str, _caller: Caller = readers) -> list[dict[str, object]]:
        number = parse_serial(serial)
        try:
            service.store.get(ca, number)
        except AuthorityError as exc:
            raise _authority_error(exc) from None
        return service.store.events(ca, number)

    @router.get("/v1/{ca}/certificates", response_model=list[CertificateOut], summary="List certificates")
    def list_(
        ca: CaId,
        resident_id: str | None = None,
        card_serial: str | None = None,
        status: Annotated[str | None, Query(description=f"one of {', '.join(STATUSES)}")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        after: Annotated[str | None, Query(description="serial (hex) to continue after")] = None,
        _caller: Caller = readers,
    ) -> list[CertificateOut]:
        if status is not None and status not in STATUSES:
            raise ApiError(422, "invalid-request", f"status must be one of {', '.join(STATUSES)}.")
        records = service.store.find(
            ca, resident_id=resident_id, card_serial=card_serial, status=status,
            after=parse_serial(after) if after else None, limit=limit,
        )
        return [certificate_out(r) for r in records]

    def change(action: str) -> Callable[..., CertificateOut]:
        def handler(ca: CaId, serial: str, body: StatusChange | None = None,
                    caller: Caller = issuers) -> CertificateOut:
            body = body or StatusChange.model_validate({})
            if action != "revoke" and body.reason is not None:
                raise ApiError(422, "invalid-request", f"'{action}' takes no reason.")
            try:
                record = service.change_status(
                    ca, parse_serial(serial), action, reason=body.reason, cause=body.cause,
                    invalidity_date=body.invalidity_date, actor=caller.name,
                )
            except AuthorityError as exc:
                raise _authority_error(exc) from None
            return certificate_out(record)

        return handler

    admins = Depends(role(ADMIN))

    @router.post("/v1/tokens", status_code=201, response_model=TokenOut,
                 summary="Make an API token for a caller (ca-admin only; the token is shown once)")
    def new_token(body: TokenIn, _caller: Caller = admins) -> TokenOut:
        if body.name in SERVE_TOKENS:
            raise ApiError(409, "conflict", f"'{body.name}' is a token `mynacard serve` manages; choose another name.")
        token = runtime.tokens.add(body.name, body.role)
        return TokenOut(name=body.name, role=body.role, token=token)

    @router.get("/v1/backup", summary="A consistent backup archive (tar.gz; ca-admin only)", response_class=Response,
                responses={200: {"content": {"application/gzip": {}}}})
    def backup(_caller: Caller = admins) -> Response:
        data = export_archive(runtime.engine, runtime.config.data_dir / "ca", runtime.origin)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return Response(data, media_type="application/gzip",
                        headers={"Content-Disposition": f'attachment; filename="mynacard-ca-{stamp}.tar.gz"'})

    @router.post("/v1/{ca}/crl", summary="Make a new CRL now (ca-admin only)", status_code=201)
    def new_crl(ca: CaId, _caller: Caller = admins) -> dict[str, object]:
        published = runtime.crls.generate(ca)
        return {"ca": ca, "number": published.number, "this_update": published.this_update.isoformat(),
                "next_update": published.next_update.isoformat(), "url": runtime.status_urls(ca).crl_url}

    summaries = {
        "revoke": "Revoke (final; idempotent: the first reason and time stay)",
        "hold": "Suspend (certificateHold, 一時停止)",
        "release": "Lift a suspension (only from hold)",
    }
    for action, summary in summaries.items():
        router.add_api_route(f"/v1/{{ca}}/certificates/{{serial}}/{action}", change(action), methods=["POST"],
                             response_model=CertificateOut, summary=summary, name=action)
    return router


def create_app(config: ServiceConfig, runtime: CaRuntime | None = None) -> FastAPI:
    """The CA app; `mynacard serve` mounts it at `/ca`."""
    runtime = runtime or CaRuntime.open(config)
    app = FastAPI(
        title="mynacard JPKI CA service",
        version="1",
        description="Issuance and revocation for the signing and user-authentication CAs, CRLs and OCSP.",
        openapi_url="/openapi.json",
    )
    install_error_handlers(app)
    app.state.runtime = runtime
    runtime.tokens.install(config.tokens, "ca")
    runtime.start_maintenance()

    def role(*roles: str) -> Callable[..., Caller]:
        return require_role(lambda: runtime.tokens, *roles)

    app.include_router(build_router(runtime, role))
    install_crl_route(app, runtime.crls)
    ocsp_app = OcspApp(runtime.ocsp)
    app.mount("/ocsp", ocsp_app)
    declare(app, "/ocsp", ocsp_app)
    return app
