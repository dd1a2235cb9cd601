"""What the register offers the clerk's window (window/): who a token belongs to, named clerk
tokens, and an access record for a window action the register does not see itself.

Named clerk tokens give the audit its clerk: `mynacard register clerk add NAME` (an
administrator) makes a token of role `clerk` stored under NAME, and every access record written
with it names that clerk (access.py). `POST /v1/window/audit` records actions decided at the
window — "photo matches the person: yes/no" after a 方法1 check, a card check's verdict — in the
same access-record table, with item names and outcomes only, never values.
"""


from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from mynacard.codec.resident_code import is_valid as is_resident_code
from mynacard.register_stub import records
from mynacard.register_stub.access import record_access, records_about
from mynacard.register_stub.errors_api import Invalid
from mynacard.register_stub.runtime import RegisterRuntime
from mynacard.register_stub.schemas import Strict
from mynacard.service.auth import Caller

CLERK_ROLE = "clerk"
#: Token names `mynacard serve` owns (service/auth.py SERVE_TOKENS); a clerk may not take one.
RESERVED = frozenset({"register-admin", "clerk", "centre", "register->ca", "ca-admin", "kiosk"})


class WhoAmIOut(BaseModel):
    name: str
    role: str


class ClerkIn(Strict):
    name: str = Field(min_length=1, max_length=100, description="the clerk's name, as the access records show it")


class ClerkOut(BaseModel):
    name: str
    role: str
    token: str = Field(description="shown once; the register keeps only its SHA-256 digest")


class AuditIn(Strict):
    action: str = Field(pattern=r"^window-[a-z0-9-]{1,60}$", description="e.g. window-card-check")
    purpose: str = Field(min_length=1, max_length=200)
    items: str = Field(min_length=1, max_length=300, description="item names and the clerk's findings, never values")
    outcome: str = Field(default="ok", min_length=1, max_length=60)
    resident_code: str | None = Field(default=None, pattern=r"^[0-9]{11}$")


class AuditOut(BaseModel):
    recorded: bool


def build_window_router(rt: RegisterRuntime, role: Callable[..., Callable[[Request], Caller]],
                        admin: str, staff: tuple[str, ...]) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["window"])
    Staff = Annotated[Caller, Depends(role(*staff))]  # noqa: N806 - a type alias
    Admin = Annotated[Caller, Depends(role(admin))]  # noqa: N806 - a type alias

    @router.get("/whoami", response_model=WhoAmIOut, summary="The calling token's name and role (window login)")
    def whoami(caller: Staff) -> WhoAmIOut:
        return WhoAmIOut(name=caller.name, role=caller.role)

    @router.post("/clerks", status_code=201, response_model=ClerkOut,
                 summary="Make (or replace) a named clerk token; the token is shown once")
    def add_clerk(body: ClerkIn, caller: Admin) -> ClerkOut:
        name = body.name.strip()
        if not name or name in RESERVED:
            raise Invalid(f"'{name}' cannot be a clerk's name: it is empty or a service token's name")
        token = rt.store.tokens.add(name, CLERK_ROLE)
        with rt.store.transaction() as session:
            record_access(session, caller, None, "add-clerk", "clerk token issued", f"clerk {name}")
        return ClerkOut(name=name, role=CLERK_ROLE, token=token)

    @router.post("/window/audit", response_model=AuditOut, summary="Record a window action in the access records")
    def audit(body: AuditIn, caller: Staff) -> AuditOut:
        if body.resident_code is not None and not is_resident_code(body.resident_code):
            raise Invalid("the 住民票コード has a wrong check digit")
        with rt.store.transaction() as session:
            record_access(session, caller, body.resident_code, body.action, body.purpose, body.items, body.outcome)
        return AuditOut(recorded=True)

    @router.get("/window/residents/{code}/access-records", response_model=list[records.AccessOut],
                summary="A resident's access records, for the resident at the window (the reading is recorded)")
    def access_records(code: Annotated[str, Path(pattern=r"^[0-9]{11}$")],
                       purpose: Annotated[str, Query(min_length=1, max_length=200)], caller: Staff,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[records.AccessOut]:
        if not is_resident_code(code):
            raise Invalid("the 住民票コード has a wrong check digit")
        with rt.store.transaction() as session:
            records.resident(session, code)  # 404 for an unknown resident
            out = [records.access_out(r) for r in records_about(session, code, limit)]
            record_access(session, caller, code, "read-access-records", purpose, "access records")
        return out

    return router
