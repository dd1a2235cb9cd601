"""住民票の写し at the municipal window (窓口交付): the clerk's window (window/) asks the centre for
the document, made by the same generator as at the kiosk (ledger.issue → pdf.render), so a window
copy carries the same attestation, copy-deterrent and verification code.

Differences from the kiosk, as at a real window: the caller is a clerk (their own named token, so
the access record names them), the resident is named by 住民票コード after the clerk checked
their identity at the counter, and the kiosk-only refusals (under 15, card state, move-in today,
name length, 支援措置 stops of convenience-store issuance) do not apply — only a deleted record
(転出・死亡: a 除票 is not drawn here) is refused. Every copy is a transaction of its own, already
settled (the fee is paid at the counter).
"""

import base64
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from mynacard.register_stub.centre import eligibility, ledger
from mynacard.register_stub.centre.models import IssuedDocument
from mynacard.register_stub.schemas import Strict, today_in_japan
from mynacard.register_stub.store import RegisterStore
from mynacard.service.auth import Caller
from mynacard.service.errors import ApiError

WINDOW_ID = "window"
WINDOW_PURPOSE = "窓口交付"


class WindowDocumentIn(Strict):
    resident_code: str = Field(pattern=r"^[0-9]{11}$")
    document: str = Field(default="juminhyo", min_length=1, max_length=20)
    scope: str = Field(default="self", min_length=1, max_length=20)
    options: list[str] = Field(default_factory=list, max_length=10)
    copies: int = Field(default=1, ge=1, le=ledger.MAX_COPIES)


def build_window_router(store: RegisterStore, staff: Callable[[Request], Caller], verify_base: str) -> APIRouter:
    router = APIRouter(prefix="/v1/window", tags=["window"])
    Staff = Annotated[Caller, Depends(staff)]  # noqa: N806 - a type alias

    @router.post("/documents", summary="住民票の写し for the resident at the window (PDF, base64)")
    def window_document(body: WindowDocumentIn, caller: Staff) -> dict[str, object]:
        session_id = secrets.token_urlsafe(24)
        request = ledger.Request(WINDOW_ID, session_id, f"window-{secrets.token_urlsafe(18)}", body.document,
                                 body.scope, tuple(dict.fromkeys(body.options)), body.copies)
        with store.transaction() as session:
            facts = eligibility.facts(session, body.resident_code, today_in_japan())
            if facts.refusal in ("deceased", "moved_out"):
                raise ApiError(409, facts.refusal, "The record is deleted (転出 or 死亡): a 除票 is not issued here.")
            issued = ledger.issue(session, caller, facts, request, verify_base, WINDOW_PURPOSE)
            row = session.get(IssuedDocument, issued.transaction_id)
            assert row is not None
            row.status, row.settled_at = "settled", datetime.now(UTC)
        return {"transaction_id": issued.transaction_id, "pdf": base64.b64encode(issued.pdf).decode("ascii"),
                "sha256": issued.sha256, "verification_code": issued.verification_code, "pages": issued.pages,
                "fee": issued.fee}

    return router
