"""The window app: login, the screens, static files, one error policy.

Screens register here and only here: `SCREENS` lists modules, each exposing `router` (a FastAPI
APIRouter whose routes take `Annotated[ClerkSession, Depends(current_session)]`) and `NAV` (its
header entry). Order is the header's order. See docs/window.md ("For screen authors").
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from mynacard.window.config import WindowConfig
from mynacard.window.forms import form_fields
from mynacard.window.layout import SECURITY_HEADERS, bi, page
from mynacard.window.register_client import RegisterClient, RegisterError
from mynacard.window.sessions import COOKIE, NotLoggedIn, SessionExpired, SessionStore

WEB_DIR = Path(__file__).resolve().parent / "web"

# ---------------------------------------------------------------------------------------------
# THE REGISTRATION POINT: one line per screen module (each has `router` and `NAV`).
SCREENS: list[str] = [
    "mynacard.window.card_check",   # 1 方法1 (W1)
    "mynacard.window.method2",      # 2 方法2 (W1)
    "mynacard.window.events",       # 3 events (異動届)
    "mynacard.window.issuance",     # 4 card issuance, with the PIN pad (/pinpad)
    "mynacard.window.records",      # 5 access records, 住民票の写し (W1)
]
# ---------------------------------------------------------------------------------------------


def create_app(config: WindowConfig) -> FastAPI:
    app = FastAPI(title="mynacard window (市町村窓口)", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.config = config
    app.state.sessions = SessionStore(config.session_minutes)
    app.state.nav = []
    for name in SCREENS:
        module = importlib.import_module(name)
        app.include_router(module.router)
        app.state.nav.append(module.NAV)
    home = app.state.nav[0].path if app.state.nav else "/login"

    @app.exception_handler(NotLoggedIn)
    def _not_logged_in(request: Request, exc: NotLoggedIn) -> Response:
        return RedirectResponse("/login", status_code=303, headers=SECURITY_HEADERS)

    @app.exception_handler(SessionExpired)
    def _expired(request: Request, exc: SessionExpired) -> Response:
        response = _login_page(exc.sentence, "error", 401)
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.get("/", include_in_schema=False)
    def _root() -> Response:
        return RedirectResponse(home, status_code=303, headers=SECURITY_HEADERS)

    @app.get("/login", response_class=HTMLResponse)
    def login_form() -> HTMLResponse:
        return _login_page()

    @app.post("/login")
    def login(fields: Annotated[dict[str, str], Depends(form_fields)]) -> Response:
        client = RegisterClient(config.register_url, fields.get("token", ""))
        try:
            who = client.whoami()
        except RegisterError as exc:
            client.close()
            sentence = ("The register does not know this clerk token; check it and try again. / "
                        "この担当者トークンは登録されていません。" if exc.status == 401 else exc.sentence)
            return _login_page(sentence, "error", 401 if exc.status == 401 else 502)
        if who.get("role") != "clerk":
            client.close()
            return _login_page("This token is not a clerk's; log in with your own clerk token "
                               "(`mynacard register clerk add NAME`). / 担当者用のトークンではありません。", "error", 403)
        centre = RegisterClient(config.resolved_centre_url, fields.get("token", ""))
        session = app.state.sessions.open(who["name"], who["role"], client, centre)
        response = RedirectResponse(home, status_code=303, headers=SECURITY_HEADERS)
        response.set_cookie(COOKIE, session.id, httponly=True, samesite="strict", path="/",
                            secure=False)  # served on 127.0.0.1 over plain HTTP
        return response

    @app.post("/logout")
    def logout(request: Request) -> Response:
        session_id = request.cookies.get(COOKIE)
        if session_id:
            app.state.sessions.close(session_id)
        response = _login_page("You are logged out. / ログアウトしました。", "ok")
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        target = (WEB_DIR / name).resolve()
        if target.parent != WEB_DIR or not target.is_file():
            return Response("not found\n", status_code=404, media_type="text/plain")
        return FileResponse(target, headers=SECURITY_HEADERS)

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, object]:
        return {"status": "ok", "register": config.register_url, "screens": [e.path for e in app.state.nav]}

    return app


def _login_page(status: str = "", kind: str = "info", http_status: int = 200) -> HTMLResponse:
    body = f"""
<form method="post" action="/login" class="login">
<label for="token">{bi("担当者トークン", "Clerk token")}</label>
<input id="token" name="token" type="password" autocomplete="off" required autofocus
       aria-describedby="token-hint">
<p id="token-hint" class="hint">{bi("各担当者専用のトークン（mynacard register clerk add 氏名 で発行）",
                                   "your own token, made with: mynacard register clerk add NAME")}</p>
<div class="actions"><button type="submit">{bi("ログイン", "Log in")}</button></div>
</form>"""
    return page("ログイン", "Log in", body, status=status, status_kind=kind, http_status=http_status)


