"""Screen 4 — カード交付: a new card issued at the window with PINs the resident sets themselves.

1. The clerk opens the resident's record and starts the PIN entry: a one-time pairing code
   appears here, which the clerk types once on the PIN pad (/pinpad, pinpad.py), the second
   screen facing the resident. This screen never shows a PIN — only whether they are set.
2. With the PINs set, 「カードを発行する」 asks the register (`POST /v1/residents/{code}/cards`, under
   the clerk's name): it generates the card's keys, has the CA service issue both certificates
   and answers with the card image. The PINs leave memory with that request.
3. The card writer (card_writer.py: the encoder; here the emulator's reader) puts the image onto
   the card in the reader, and 「このカードを確認する」 runs screen 1's full check on it against
   the register's own application form — the card is handed over only once it passes.
"""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from mynacard.host.clerk import ApplicationForm, ApplicationFormError
from mynacard.host.normalize import era_yymmdd
from mynacard.window import pinpad
from mynacard.window.card_check import check_card
from mynacard.window.card_writer import CardWriterError
from mynacard.window.config import WindowConfig
from mynacard.window.events import record_html
from mynacard.window.forms import Fields
from mynacard.window.layout import NavEntry, bi, esc, screen_page
from mynacard.window.records import NoRecord, read_record, resident_inputs
from mynacard.window.register_client import RegisterError
from mynacard.window.sessions import Clerk, ClerkSession

NAV = NavEntry("/issue", "カード交付", "Card issuance")
router = APIRouter()
router.include_router(pinpad.router)
STATE = "issuance"
PURPOSE = "個人番号カードの交付"
NO_ENCODER = ("このウィンドウにはカードの書き込み装置が設定されていません（--encoder-dir）。何も発行していません。 "
              "No card encoder is configured for this window (--encoder-dir); nothing was issued.")


def _page(request: Request, session: ClerkSession, body: str, sentence: str = "", kind: str = "info",
          http_status: int = 200) -> HTMLResponse:
    return screen_page(request, session, NAV.ja, NAV.en, body, status=sentence, status_kind=kind,
                       http_status=http_status)


def _open_form(code: str = "") -> str:
    return (f'<form method="post" action="/issue/open" data-busy><fieldset><legend>{bi("交付を受ける人", "Applicant")}</legend>'
            f'{resident_inputs(code)}</fieldset><div class="actions"><button type="submit">'
            f'{bi("住民票を開く", "Open the record")}</button></div></form>')


@router.get("/issue", response_class=HTMLResponse)
def show(request: Request, session: Clerk) -> HTMLResponse:
    known = (session.state.get("card_check") or {}).get("resident_code") or (session.state.get("events") or {}).get("code")
    return _page(request, session, _open_form(str(known or "")))


@router.post("/issue/open", response_class=HTMLResponse)
def open_record(request: Request, session: Clerk, fields: Fields) -> HTMLResponse:
    try:
        code, record = read_record(session, fields, PURPOSE)
    except NoRecord as exc:
        return _page(request, session, _open_form(), str(exc), "error", exc.http_status)
    try:
        cards = session.register.get(f"/residents/{code}/cards", purpose=PURPOSE)
    except RegisterError as exc:
        return _page(request, session, _open_form(), exc.sentence, "error", 502)
    current = next((c for c in reversed(cards) if c["status"] != "revoked"), None)
    session.state[STATE] = {"code": code, "record": record, "replaces": current["card_serial"] if current else None}
    start = _start_form("暗証番号の設定を始める", "Start the PIN entry")
    return _page(request, session, record_html(record) + _current_card_html(current) + start,
                 "本人確認の後、暗証番号の設定を始めてください。 After the identity check, start the PIN entry.", "ok")


def _start_form(ja: str, en: str) -> str:
    return (f'<form method="post" action="/issue/start" data-busy><div class="actions"><button type="submit">'
            f'{bi(ja, en)}</button></div></form>')


def _current_card_html(card: dict[str, Any] | None) -> str:
    """The card the resident holds now: a new one is a reissue, which revokes its certificates."""
    if card is None:
        return f'<p id="current-card">{bi("交付済みのカードはありません（新規交付）。", "No card held: a first issuance.")}</p>'
    return (f'<p class="notice" id="current-card">{bi("再交付", "Reissue")}: '
            f'{bi("現在のカード", "the current card")} {esc(card["card_serial"])}（{esc(card["status"])}）'
            f'{bi(*REISSUE)}</p>')


def _state(request: Request, session: ClerkSession) -> dict[str, Any] | HTMLResponse:
    state: dict[str, Any] | None = session.state.get(STATE)
    if not state or "code" not in state:
        return _page(request, session, _open_form(), "先に住民票を開いてください。 Open the applicant's record first.",
                     "error", 409)
    return state


@router.post("/issue/start", response_class=HTMLResponse)
def start(request: Request, session: Clerk) -> HTMLResponse:
    state = _state(request, session)
    if not isinstance(state, dict):
        return state
    state.pop("issued", None)
    hub = pinpad.hub_of(request)
    hub.start(session.id, state["code"])
    session.on_close.append(lambda: hub.cancel(session.id))  # no PIN outlives the clerk's session
    return _status_page(request, session, "お客様用の画面で受付番号を入力してください。 Type the pairing number on the resident's screen.")


@router.get("/issue/status", response_class=HTMLResponse)
def status(request: Request, session: Clerk) -> HTMLResponse:
    return _status_page(request, session, "")


REISSUE = ("の電子証明書は、新しいカードの発行と同時に失効します（superseded）。",
           " — its certificates are revoked when the new card is issued (superseded).")
PAIRING_HELP = ("お客様の方を向いた画面で暗証番号入力画面を開き、この番号を入力します。",
                "Open the PIN pad on the screen facing the resident and type this number there.")
STAGES = {
    "waiting-pad": ("お客様用画面の接続待ち", "Waiting for the resident's screen"),
    "waiting-pins": ("お客様が暗証番号を入力中", "The resident is typing the PINs"),
    "pins-set": ("暗証番号が設定されました（表示しません）", "The PINs are set (never shown here)"),
    "issued": ("発行済み", "Issued"),
}


def _status_page(request: Request, session: ClerkSession, sentence: str, kind: str = "ok",
                 http_status: int = 200) -> HTMLResponse:
    pending = pinpad.hub_of(request).for_clerk(session.id)
    if pending is None:
        return _page(request, session, _open_form(), "暗証番号の受付はありません（期限切れか未開始）。 "
                     "No PIN entry is waiting (expired or not started).", "error", 409)
    stage = pending.stage
    body = f'<p class="verdict {"pass" if stage == "pins-set" else "skipped"}" id="stage" data-stage="{stage}">{bi(*STAGES[stage])}</p>'
    if stage == "waiting-pad":
        body += (f'<p class="pairing">{bi("受付番号", "Pairing number")}: <strong id="pairing-code">'
                 f'{esc(pending.pairing_code)}</strong></p><p>{bi(*PAIRING_HELP)} <a href="/pinpad" target="_blank" '
                 f'rel="noopener" id="open-pinpad">{bi("暗証番号入力画面 /pinpad", "PIN pad /pinpad")}</a></p>')
    actions = [f'<a class="button secondary" href="/issue/status" id="refresh">{bi("状況を更新", "Refresh")}</a>']
    if stage == "pins-set":
        actions.insert(0, f'<form method="post" action="/issue/card" data-busy><button type="submit">'
                          f'{bi("カードを発行する", "Issue the card")}</button></form>')
    actions.append(f'<form method="post" action="/issue/cancel"><button type="submit" class="secondary">'
                   f'{bi("中止する", "Cancel")}</button></form>')
    return _page(request, session, body + f'<div class="actions">{"".join(actions)}</div>', sentence, kind, http_status)


@router.post("/issue/cancel", response_class=HTMLResponse)
def cancel(request: Request, session: Clerk) -> HTMLResponse:
    pinpad.hub_of(request).cancel(session.id)
    return _page(request, session, _open_form(), "交付を中止しました（何も発行していません）。 Cancelled; nothing was issued.", "ok")


@router.post("/issue/card", response_class=HTMLResponse)
def issue(request: Request, session: Clerk) -> HTMLResponse:
    state = _state(request, session)
    if not isinstance(state, dict):
        return state
    config: WindowConfig = request.app.state.config
    writer = config.card_writer()
    if writer is None:
        return _status_page(request, session, NO_ENCODER, "error", 409)
    taken = pinpad.hub_of(request).take_pins(session.id)
    if taken is None:
        return _status_page(request, session, "暗証番号がまだ設定されていません（何も発行していません）。 "
                            "The PINs are not set yet; nothing was issued.", "error", 409)
    pending, pins = taken
    try:
        path = (f"/cards/{state['replaces']}/reissue" if state.get("replaces")
                else f"/residents/{pending.resident_code}/cards")
        card = session.register.post(path, {"pins": pins.register_pins()})
    except RegisterError as exc:
        reason = exc.sentence.rstrip(".")
        return _status_page(request, session, "発行できませんでした（何も発行していません。暗証番号は入力し直してもらいます）。 "
                            f"Not issued, the PINs must be typed again: {reason}.", "error",
                            502 if exc.status >= 500 else 409)
    del pins
    state["replaces"] = card["card_serial"]  # what the next issuance replaces (also if writing fails)
    try:
        reader = writer.write(card["card_serial"], {path: base64.b64decode(data) for path, data in card["image"].items()})
    except CardWriterError as exc:
        again = _start_form("暗証番号の設定からやり直す", "Start again from the PIN entry")
        return _page(request, session, _issued_html(card, None) + again,
                     f"カードを書き込めませんでした。発行し直すと、このカードの電子証明書は失効します。 {exc} "
                     "Issue it again: that revokes this card's certificates.", "error", 502)
    pending.issued = True
    state["issued"] = {k: card[k] for k in ("card_serial", "sign_serial", "auth_serial", "expires_on", "security_code")}
    return _page(request, session, _issued_html(card, reader),
                 "カードを発行して読み取り機に置きました。方法1で確認してから渡してください。 "
                 "The card is issued and on the reader: check it (method 1) before handing it over.", "ok")


def _issued_html(card: dict[str, Any], reader: str | None) -> str:
    rows = [("カード番号", "Card serial", card["card_serial"]), ("有効期限", "Expires on", card["expires_on"]),
            ("署名用電子証明書 発行番号", "Signing certificate serial", card["sign_serial"] or "なし（15歳未満） none (under 15)"),
            ("利用者証明用電子証明書 発行番号", "Auth certificate serial", card["auth_serial"]),
            ("読み取り機", "Reader", reader or "—")]
    table = "".join(f'<tr><th scope="row">{bi(ja, en)}</th><td>{esc(value)}</td></tr>' for ja, en, value in rows)
    check = (f'<form method="post" action="/issue/check" data-busy><div class="actions"><button type="submit">'
             f'{bi("このカードを確認する（方法1）", "Check this card (method 1)")}</button></div></form>' if reader else "")
    return f'<table id="issued"><tbody>{table}</tbody></table>{check}'


@router.post("/issue/check", response_class=HTMLResponse)
def check(request: Request, session: Clerk) -> HTMLResponse:
    state = _state(request, session)
    if not isinstance(state, dict):
        return state
    issued = state.get("issued")
    if not issued:
        return _page(request, session, _open_form(state["code"]), "確認するカードがありません。 No card was issued here.",
                     "error", 409)
    try:
        form = session.register.get(f"/residents/{state['code']}/application-form", purpose=PURPOSE)
        application = ApplicationForm.from_mapping(form)
    except (RegisterError, ApplicationFormError) as exc:
        return _page(request, session, _issued_html(issued, None), str(exc), "error", 502)
    code_b = f"{era_yymmdd(str(form['birth_date']).replace('-', ''))}{issued['expires_on'][:4]}{issued['security_code']}"
    return check_card(request, session, application, code_b)
