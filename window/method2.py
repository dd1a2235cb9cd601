"""Screen: 方法2（住基ネット照会） (Method 2 (register query)). Skeleton; filled in by its owner."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from mynacard.window.layout import NavEntry, screen_page
from mynacard.window.sessions import ClerkSession, current_session

NAV = NavEntry("/method2", "方法2（住基ネット照会）", "Method 2 (register query)")
router = APIRouter()


@router.get("/method2", response_class=HTMLResponse)
def show(request: Request, session: Annotated[ClerkSession, Depends(current_session)]) -> HTMLResponse:
    return screen_page(request, session, NAV.ja, NAV.en, "<p>…</p>")
