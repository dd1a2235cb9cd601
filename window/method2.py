"""Screen 2 — 方法2: the application form's My Number and four facts checked against the register
(住基ネット照会) when the card is not there. Match / no match / which items differ, and the
access record the query wrote (番号法 第23条), so the clerk sees what the register keeps.

The My Number typed is sent to the register in the POST body only; it is never echoed back into
the page (the form comes back empty after an answer, masked in the summary).
"""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from mynacard.window.forms import form_fields, my_number_problem
from mynacard.window.layout import NavEntry, bi, esc, screen_page
from mynacard.window.register_client import RegisterError
from mynacard.window.sessions import ClerkSession, current_session

NAV = NavEntry("/method2", "方法2（住基ネット照会）", "Method 2 (register query)")
router = APIRouter()
JST = timezone(timedelta(hours=9), "JST")

#: The form's fields: (name, Japanese label, English label, hint, autocomplete).
FIELDS = [
    ("my_number", "個人番号", "My Number", "12桁（ハイフン可） 12 digits, hyphens allowed", "off"),
    ("name", "氏名", "Name", "申請書のとおり as written on the form", "off"),
    ("birth_date", "生年月日", "Date of birth", "例 昭和55年2月17日 / 1980-02-17", "off"),
    ("sex", "性別", "Sex", "男 / 女 / 1 / 2", "off"),
    ("address", "住所", "Address", "都道府県から from the prefecture on", "off"),
    ("purpose", "照会の目的", "Purpose", "例 個人番号カード交付申請の本人確認", "off"),
]
ITEM_TITLES = {"name": ("氏名", "name"), "birth_date": ("生年月日", "date of birth"), "sex": ("性別", "sex"),
               "address": ("住所", "address")}
DEFAULT_PURPOSE = "方法2による個人番号・基本4情報の確認"


def form_html(values: dict[str, str] | None = None) -> str:
    values = values or {}
    rows = []
    for name, ja, en, hint, auto in FIELDS:
        value = values.get(name, DEFAULT_PURPOSE if name == "purpose" else "")
        kind = "password" if name == "my_number" else "text"  # not shown over the shoulder
        extra = ' inputmode="numeric"' if name == "my_number" else ""
        rows.append(f'<label for="m2-{name}">{bi(ja, en)}</label>'
                    f'<input id="m2-{name}" name="{name}" type="{kind}" autocomplete="{auto}" required{extra}'
                    f' value="{esc(value) if name != "my_number" else ""}" aria-describedby="m2-{name}-hint">'
                    f'<p id="m2-{name}-hint" class="hint">{esc(hint)}</p>')
    return (f'<form method="post" action="/method2" data-busy><fieldset><legend>{bi("申請書の記載", "From the application form")}'
            f'</legend>{"".join(rows)}</fieldset><div class="actions"><button type="submit">'
            f'{bi("照会する", "Query the register")}</button></div></form>')


@router.get("/method2", response_class=HTMLResponse)
def show(request: Request, session: Annotated[ClerkSession, Depends(current_session)]) -> HTMLResponse:
    return screen_page(request, session, NAV.ja, NAV.en, form_html())


@router.post("/method2", response_class=HTMLResponse)
def query(request: Request, session: Annotated[ClerkSession, Depends(current_session)],
          fields: Annotated[dict[str, str], Depends(form_fields)]) -> HTMLResponse:
    body = {name: fields.get(name, "") for name, *_ in FIELDS}
    kept = {k: v for k, v in body.items() if k != "my_number"}
    missing = [ja for name, ja, *_ in FIELDS if not body[name]]
    if missing:
        return screen_page(request, session, NAV.ja, NAV.en, form_html(kept), status_kind="error", http_status=422,
                           status=f"{'・'.join(missing)}を入力してください。 Fill in every item of the form.")
    problem = my_number_problem(body["my_number"])
    if problem:
        return screen_page(request, session, NAV.ja, NAV.en, form_html(kept), status_kind="error", http_status=422,
                           status=problem)
    try:
        answer = session.register.post("/method2", {**body, "show_access_record": True})
    except RegisterError as exc:
        return screen_page(request, session, NAV.ja, NAV.en, form_html(kept), status=exc.sentence,
                           status_kind="error", http_status=422 if exc.status == 422 else 502)
    return screen_page(request, session, NAV.ja, NAV.en, result_html(answer) + form_html(),
                       status=_sentence(answer), status_kind="ok" if answer["result"] == "match" else "error")


def _sentence(answer: dict[str, object]) -> str:
    if answer["result"] == "match":
        return "一致しました。 Match: the My Number and the four facts agree with the register."
    if answer["result"] == "no-match":
        return "該当なし。 No match: no current record holds this My Number."
    differs = [ITEM_TITLES[item] for item in answer["differs"]]  # type: ignore[attr-defined]
    return (f"不一致：{'・'.join(ja for ja, _ in differs)}が住民票と異なります。 "
            f"Differs: the {', '.join(en for _, en in differs)} differ from the register.")


def result_html(answer: dict[str, object]) -> str:
    result = str(answer["result"])
    verdict = {"match": ("一致", "Match", "pass"), "no-match": ("該当なし", "No match", "fail"),
               "differs": ("不一致", "Differs", "fail")}[result]
    differs = set(answer.get("differs") or [])  # type: ignore[call-overload]
    rows = []
    for item, (ja, en) in ITEM_TITLES.items():
        if result == "no-match":
            mark = ("—", "not compared", "skipped")
        elif item in differs:
            mark = ("不一致", "differs", "fail")
        else:
            mark = ("一致", "agrees", "pass")
        rows.append(f'<tr><th scope="row">{bi(ja, en)}</th><td class="{mark[2]}">{bi(mark[0], mark[1])}</td></tr>')
    html = (f'<section aria-labelledby="m2-result"><h2 id="m2-result">{bi("照会結果", "Result")}</h2>'
            f'<p class="verdict {verdict[2]}">{bi(verdict[0], verdict[1])}</p>'
            f'<table><caption class="hint">{bi("項目ごとの結果", "Item by item")}</caption>'
            f'<tbody>{"".join(rows)}</tbody></table>')
    record = answer.get("access_record")
    if isinstance(record, dict):
        at = _jst(str(record["at"]))
        html += (f'<h2>{bi("記録されたアクセス記録", "Access record written")}</h2><table id="m2-access"><tbody>'
                 f'<tr><th scope="row">{bi("番号", "No.")}</th><td>{esc(record["id"])}</td></tr>'
                 f'<tr><th scope="row">{bi("日時", "When")}</th><td>{esc(at)}</td></tr>'
                 f'<tr><th scope="row">{bi("担当者", "Who")}</th><td>{esc(record["actor"])}</td></tr>'
                 f'<tr><th scope="row">{bi("操作", "Action")}</th><td>{esc(record["action"])}</td></tr>'
                 f'<tr><th scope="row">{bi("目的", "Purpose")}</th><td>{esc(record["purpose"])}</td></tr>'
                 f'<tr><th scope="row">{bi("項目", "Items")}</th><td>{esc(record["items"])}</td></tr>'
                 f'<tr><th scope="row">{bi("結果", "Outcome")}</th><td>{esc(record["outcome"])}</td></tr>'
                 '</tbody></table>')
    return html + "</section>"


def _jst(iso: str) -> str:
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(JST).strftime("%Y-%m-%d %H:%M:%S JST")
    except ValueError:
        return iso
