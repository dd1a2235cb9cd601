"""Screen: アクセス記録・住民票の写し (Access records and residence certificate). Skeleton; filled in by its owner."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from mynacard.window.layout import NavEntry, screen_page
from mynacard.window.sessions import ClerkSession, current_session

NAV = NavEntry("/records", "アクセス記録・住民票の写し", "Access records and residence certificate")
router = APIRouter()


@router.get("/records", response_class=HTMLResponse)
def show(request: Request, session: Annotated[ClerkSession, Depends(current_session)]) -> HTMLResponse:
    return screen_page(request, session, NAV.ja, NAV.en, "<p>…</p>")
