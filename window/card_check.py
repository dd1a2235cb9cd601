"""Screen: カード確認（方法1） (Card check (method 1)). Skeleton; filled in by its owner."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from mynacard.window.layout import NavEntry, screen_page
from mynacard.window.sessions import ClerkSession, current_session

NAV = NavEntry("/check", "カード確認（方法1）", "Card check (method 1)")
router = APIRouter()


@router.get("/check", response_class=HTMLResponse)
def show(request: Request, session: Annotated[ClerkSession, Depends(current_session)]) -> HTMLResponse:
    return screen_page(request, session, NAV.ja, NAV.en, "<p>…</p>")
