"""Screen 5 — アクセス記録・住民票の写し: for the resident at the counter, the access records the
register keeps about them (who read or changed their data, when, why — 番号法 第23条), and the
住民票の写し printed at the window as a PDF made by the issuance centre's generator (the same
attestation, copy deterrent and verification code as at a kiosk).

The resident is named by 住民票コード (filled in from the last card check of this session) or
by My Number (looked up by the register, never echoed). The PDF is kept in the clerk's session
memory only, served once with no-store, and dropped at the next document, logout or expiry.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from mynacard.window.forms import Fields, my_number_digits, my_number_problem
from mynacard.window.layout import SECURITY_HEADERS, NavEntry, bi, esc, screen_page
from mynacard.window.register_client import RegisterError
from mynacard.window.sessions import Clerk, ClerkSession

NAV = NavEntry("/records", "アクセス記録・住民票の写し", "Access records and residence certificate")
router = APIRouter()
JST = timezone(timedelta(hours=9), "JST")
PURPOSE = "窓口での本人からの開示請求・証明書交付"
DOCUMENT_STATE = "records_document"
CODE_HINT = ("カード確認の後は自動で入ります。または個人番号で検索します。", "filled in after a card check; or search by My Number")
ACTIONS = {  # what each action means, for the resident reading the list
    "method2-query": ("方法2による照会", "方法2 query"),
    "window-card-check": ("窓口でのカード確認", "card check at the window"),
    "window-photo-check": ("顔写真の確認", "photo compared with the person"),
    "read-access-records": ("アクセス記録の閲覧", "access records read"),
    "centre-issue-juminhyo": ("住民票の写しの交付", "residence certificate issued"),
    "lookup-by-number": ("個人番号による検索", "looked up by My Number"),
}


def _last_checked(session: ClerkSession) -> str:
    check = session.state.get("card_check") or {}
    return str(check.get("resident_code") or "")


def resident_inputs(code: str) -> str:
    """The two ways to name a resident: the 住民票コード, or the My Number (a password field, never
    filled in by the window)."""
    return (f'<label for="resident_code">{bi("住民票コード（11桁）", "Resident code (11 digits)")}</label>'
            f'<input id="resident_code" name="resident_code" inputmode="numeric" autocomplete="off" value="{esc(code)}" '
            f'aria-describedby="rc-hint"><p id="rc-hint" class="hint">{bi(*CODE_HINT)}</p>'
            f'<label for="my_number">{bi("個人番号（住民票コードが分からないとき）", "My Number (when the code is not known)")}</label>'
            f'<input id="my_number" name="my_number" type="password" inputmode="numeric" autocomplete="off">')


def _form(code: str, status_sentence: str = "") -> str:
    return (f'<form method="post" action="/records" data-busy><fieldset><legend>{bi("住民", "Resident")}</legend>'
            f'{resident_inputs(code)}'
            f'<fieldset><legend>{bi("住民票の写しに記載する事項", "Items on the certificate")}</legend>'
            f'<p><input type="checkbox" id="opt-head" name="head_relation" value="1"> <label class="inline" for="opt-head">'
            f'{bi("世帯主・続柄", "Head of household and relationship")}</label></p>'
            f'<p><input type="checkbox" id="opt-household" name="household" value="1"> <label class="inline" for="opt-household">'
            f'{bi("世帯全員", "Whole household")}</label></p></fieldset></fieldset>'
            f'<div class="actions"><button type="submit" name="action" value="records">'
            f'{bi("アクセス記録を見る", "Show access records")}</button>'
            f'<button type="submit" name="action" value="print">{bi("住民票の写しを発行", "Issue residence certificate (PDF)")}</button>'
            '</div></form>')


@router.get("/records", response_class=HTMLResponse)
def show(request: Request, session: Clerk) -> HTMLResponse:
    return screen_page(request, session, NAV.ja, NAV.en, _form(_last_checked(session)))


def resident_code_from(session: ClerkSession, fields: dict[str, str], purpose: str = PURPOSE) -> str:
    """The 住民票コード typed (`resident_code`), or the one the register finds for the My Number
    typed (`my_number`, a recorded look-up); ValueError with one sentence otherwise."""
    code = "".join(ch for ch in fields.get("resident_code", "") if ch.isdigit())
    if code:
        return code
    typed = fields.get("my_number", "")
    if not typed:
        raise ValueError("住民票コードか個人番号を入力してください。 Enter the resident code or the My Number.")
    problem = my_number_problem(typed)
    if problem:
        raise ValueError(problem)
    number = my_number_digits(typed)
    try:
        return str(session.register.post("/lookup", {"my_number": number, "purpose": purpose})["resident_code"])
    except RegisterError as exc:
        if exc.status == 404:
            raise ValueError("この個人番号の住民票はありません。 No current record holds this My Number.") from None
        raise ValueError(exc.sentence) from None


class NoRecord(ValueError):
    """The resident named on a form cannot be opened; one sentence and the page's HTTP status."""

    def __init__(self, sentence: str, http_status: int) -> None:
        super().__init__(sentence)
        self.http_status = http_status


def read_record(session: ClerkSession, fields: dict[str, str], purpose: str) -> tuple[str, dict[str, Any]]:
    """The 住民票コード named on the form and the register's current record (a recorded read)."""
    try:
        code = resident_code_from(session, fields, purpose)
        record: dict[str, Any] = session.register.get(f"/residents/{code}", purpose=purpose)
    except ValueError as exc:
        raise NoRecord(str(exc), 422) from None
    except RegisterError as exc:
        raise NoRecord(exc.sentence, 404 if exc.status == 404 else 502) from None
    return code, record


@router.post("/records", response_class=HTMLResponse)
def act(request: Request, session: Clerk, fields: Fields) -> HTMLResponse:
    try:
        code = resident_code_from(session, fields)
    except ValueError as exc:
        return screen_page(request, session, NAV.ja, NAV.en, _form(""), status=str(exc), status_kind="error",
                           http_status=422)
    try:
        if fields.get("action") == "print":
            return _print(request, session, code, fields)
        rows = session.register.get(f"/window/residents/{code}/access-records", purpose=PURPOSE)
    except RegisterError as exc:
        return screen_page(request, session, NAV.ja, NAV.en, _form(code), status=exc.sentence, status_kind="error",
                           http_status=exc.status if exc.status in (404, 409, 422) else 502)
    return screen_page(request, session, NAV.ja, NAV.en, _records_html(rows) + _form(code),
                       status=f"アクセス記録 {len(rows)} 件。 {len(rows)} access records.", status_kind="ok")


def _records_html(rows: list[dict[str, str]]) -> str:
    body = []
    for row in rows:
        at = datetime.fromisoformat(row["at"].replace("Z", "+00:00")).astimezone(JST).strftime("%Y-%m-%d %H:%M")
        action = ACTIONS.get(row["action"])
        shown = bi(*action) if action else esc(row["action"])
        body.append(f'<tr><td>{esc(at)}</td><td>{esc(row["actor"])}</td><td>{shown}</td><td>{esc(row["purpose"])}</td>'
                    f'<td>{esc(row["items"])}</td><td>{esc(row["outcome"])}</td></tr>')
    return (f'<section aria-labelledby="rec-h"><h2 id="rec-h">{bi("アクセス記録", "Access records")}</h2>'
            f'<table id="access-records"><thead><tr><th scope="col">{bi("日時", "When")}</th><th scope="col">{bi("誰が", "Who")}</th>'
            f'<th scope="col">{bi("操作", "Action")}</th><th scope="col">{bi("目的", "Purpose")}</th>'
            f'<th scope="col">{bi("項目", "Items")}</th><th scope="col">{bi("結果", "Outcome")}</th></tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></section>')


def _print(request: Request, session: ClerkSession, code: str, fields: dict[str, str]) -> HTMLResponse:
    options = ["head_relation"] if fields.get("head_relation") else []
    issued = session.centre.post("/window/documents", {"resident_code": code, "document": "juminhyo",
                                                        "scope": "household" if fields.get("household") else "self",
                                                        "options": options, "copies": 1})
    document_id = secrets.token_urlsafe(16)
    session.state[DOCUMENT_STATE] = (document_id, base64.b64decode(issued["pdf"]))
    body = (f'<section aria-labelledby="doc-h"><h2 id="doc-h">{bi("住民票の写し", "Residence certificate")}</h2>'
            f'<p>{bi("照合番号", "Verification code")}: <strong id="verification-code">{esc(issued["verification_code"])}</strong>'
            f' — {esc(issued["pages"])} {bi("ページ", "page(s)")}</p>'
            f'<p><a class="button" id="open-pdf" href="/records/document/{esc(document_id)}" target="_blank" rel="noopener">'
            f'{bi("PDFを開いて印刷", "Open the PDF to print")}</a></p></section>')
    return screen_page(request, session, NAV.ja, NAV.en, body + _form(code),
                       status="住民票の写しを作成しました。 The residence certificate is ready to print.", status_kind="ok")


@router.get("/records/document/{document_id}")
def document(document_id: str, session: Clerk) -> Response:
    kept = session.state.get(DOCUMENT_STATE)
    if not kept or not secrets.compare_digest(kept[0], document_id):
        return Response("この文書はもうありません。 This document is no longer kept; issue it again.\n", status_code=404,
                        media_type="text/plain; charset=utf-8", headers=SECURITY_HEADERS)
    return Response(kept[1], media_type="application/pdf",
                    headers={**SECURITY_HEADERS, "Content-Disposition": 'inline; filename="juminhyo.pdf"'})
