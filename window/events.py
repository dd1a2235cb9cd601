"""Screen 3 — 異動届（転入・転出・転居・出生・死亡・世帯変更）: a notice recorded in the register.

Each event goes through three pages, so nothing is recorded by one careless press:
1. the form of the kind (the resident opened by 住民票コード or My Number; a birth makes a new one);
2. the register's preview (`POST /v1/residents/{code}/events/preview`, or `/v1/residents/preview`
   for a birth: the very code that records the event, rolled back) — which certificates jpki-system.md §5 revokes, and the §2.1 deadlines
   the event sets (転入届, 継続利用) — and an explicit 「この内容で登録する」;
3. the event recorded, with each revocation's delivery to the CA (the register's outbox: pending,
   delivered or failed with its error), refreshed on request.

Every call carries the clerk's token, so the register records the event (`recorded_by`), the
preview and the reads under the clerk's name. A refusal is the register's one sentence, and
nothing is recorded. The event waiting for confirmation lives in the clerk's session only, under a
one-time token, so the confirmed event is exactly the previewed one.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from mynacard.host.clerk import mask_my_number
from mynacard.window.event_kinds import KINDS, SEXES, EventKind, FormProblem, request_body
from mynacard.window.forms import Fields
from mynacard.window.layout import NavEntry, bi, esc, screen_page
from mynacard.window.records import NoRecord, read_record, resident_inputs
from mynacard.window.register_client import RegisterError
from mynacard.window.sessions import Clerk, ClerkSession

NAV = NavEntry("/events", "異動届", "Events")
router = APIRouter()
STATE = "events"
PURPOSE = "住民異動届の受付"
JST = timezone(timedelta(hours=9), "JST")
CAS = (("sign", "署名用電子証明書", "signing certificate"), ("auth", "利用者証明用電子証明書", "auth certificate"))
STATUSES = {"active": ("在住", "resident"), "moving-out": ("転出予定", "moving out"), "deleted": ("消除", "deleted")}
DELIVERY = {"pending": ("送信待ち", "pending", "skipped"), "delivered": ("CAに送信済み・失効", "delivered", "pass"),
            "failed": ("送信失敗", "failed", "fail")}
DEADLINES = {
    "move-in-notice": ("転入届の期限", "Move-in notice due by",
                       "転出予定日から30日、かつ転入した日から14日以内。過ぎるとカードと両方の電子証明書が失効します（§2.1）。",
                       "30 days after the planned move-out and 14 days after moving in; past it the card and "
                       "both certificates lapse."),
    "continuation": ("継続利用の期限", "Card continuation due by",
                     "転入届から90日以内。過ぎるか、その前に再び転居・転出すると、カードと両方の電子証明書が失効します（§2.1）。",
                     "90 days after the move-in notice; past it, or on moving again first, the card and both "
                     "certificates lapse."),
}


def today_jst() -> str:
    return datetime.now(JST).date().isoformat()


def _state(session: ClerkSession) -> dict[str, Any]:
    state: dict[str, Any] = session.state.setdefault(STATE, {})
    return state


def _page(request: Request, session: ClerkSession, body: str, sentence: str = "", kind: str = "info",
          http_status: int = 200) -> HTMLResponse:
    return screen_page(request, session, NAV.ja, NAV.en, body, status=sentence, status_kind=kind,
                       http_status=http_status)


def _refused(exc: RegisterError) -> str:
    reason = exc.sentence.rstrip(".")
    return f"登録できません（何も記録していません）。 Refused, nothing was recorded: {reason}."


# -- 0. which resident ---------------------------------------------------------------------------


def _open_form(code: str = "") -> str:
    return (f'<form method="post" action="/events/open" data-busy><fieldset><legend>{bi("届出の対象者", "Resident")}</legend>'
            f'{resident_inputs(code)}</fieldset><div class="actions"><button type="submit">{bi("住民票を開く", "Open the record")}</button>'
            f'<a class="button secondary" href="/events/new/birth">{bi("出生届（新しい住民票）", "Birth (a new record)")}</a>'
            '</div></form>')


@router.get("/events", response_class=HTMLResponse)
def show(request: Request, session: Clerk) -> HTMLResponse:
    state = _state(session)
    state.pop("pending", None)
    checked = (session.state.get("card_check") or {}).get("resident_code") or ""
    return _page(request, session, _open_form(state.get("code") or checked))


@router.post("/events/open", response_class=HTMLResponse)
def open_record(request: Request, session: Clerk, fields: Fields) -> HTMLResponse:
    try:
        code, record = read_record(session, fields, PURPOSE)
    except NoRecord as exc:
        return _page(request, session, _open_form(), str(exc), "error", exc.http_status)
    _state(session).update(code=code, record=record)
    return _page(request, session, record_html(record) + _actions_html(record),
                 "住民票を開きました。届出を選んでください。 Record opened: choose the notice.", "ok")


def record_html(record: dict[str, Any]) -> str:
    current = record["current"]
    status = STATUSES.get(record["status"], (record["status"], record["status"]))
    rows = [("住民票コード", "Resident code", record["resident_code"]),
            ("氏名", "Name", f'{current["family_name"]}　{current["given_name"]}'),
            ("生年月日", "Date of birth", current["birth_date"]), ("住所", "Address", current["address"]),
            ("世帯番号・続柄", "Household, relationship", f'{current["household_id"]}・{current["relationship"]}')]
    body = "".join(f'<tr><th scope="row">{bi(ja, en)}</th><td>{esc(value)}</td></tr>' for ja, en, value in rows)
    body += f'<tr><th scope="row">{bi("状態", "State")}</th><td id="record-state">{bi(*status)}</td></tr>'
    return (f'<section aria-labelledby="rec-h"><h2 id="rec-h">{bi("住民票", "Record")}</h2>'
            f'<table id="record"><tbody>{body}</tbody></table>{_deadline_html(record)}</section>')


def _deadline_html(record: dict[str, Any]) -> str:
    due, deadline = record.get("continuation_due"), record.get("continuation_deadline")
    if due not in DEADLINES or not deadline:
        return ""
    ja, en, why_ja, why_en = DEADLINES[due]
    return (f'<p class="notice" id="deadline">{bi(ja, en)}: <strong>{esc(deadline)}</strong><br>'
            f'{bi(why_ja, why_en)}</p>')


def _actions_html(record: dict[str, Any]) -> str:
    kinds = [k for k in KINDS.values() if k.on_resident and k.listed]
    if record.get("continuation_due") == "continuation":
        kinds.insert(0, KINDS["continuation"])
    links = "".join(f'<li><a class="button secondary" href="/events/new/{esc(k.key)}">{bi(k.ja, k.en)}</a></li>'
                    for k in kinds)
    return (f'<section aria-labelledby="act-h"><h2 id="act-h">{bi("届出を選ぶ", "Choose the notice")}</h2>'
            f'<ul class="choices">{links}</ul></section>')


# -- 1. the form of one kind ---------------------------------------------------------------------


def _input(field_name: str, label: str, kind: str, value: str, required: bool, hint: str) -> str:
    ident = f"ev-{field_name}"
    described = f' aria-describedby="{ident}-hint"' if hint else ""
    hint_html = f'<p id="{ident}-hint" class="hint">{esc(hint)}</p>' if hint else ""
    need = " required" if required else ""
    if kind == "sex":
        options = "".join(f'<option value="{code}"{" selected" if code == value else ""}>{esc(ja)} {esc(en)}</option>'
                          for code, ja, en in SEXES)
        return f'<label for="{ident}">{label}</label><select id="{ident}" name="{field_name}"{need}>{options}</select>'
    kind_attr = "date" if kind == "date" else "text"
    return (f'<label for="{ident}">{label}</label><input id="{ident}" name="{field_name}" type="{kind_attr}" '
            f'autocomplete="off" value="{esc(value)}"{need}{described}>{hint_html}')


def _kind_form(kind: EventKind, values: dict[str, str] | None = None) -> str:
    values = values or {}
    inputs = [_input(f.name, bi(f.ja, f.en), f.kind, values.get(f.name, f.default), f.required, f.hint)
              for f in kind.fields]
    if kind.on_resident:
        inputs.append(_input("event_date", bi("届出日", "Date of the notice"), "date",
                             values.get("event_date", today_jst()), True, ""))
    inputs.append(_input("cause", bi("届出・事由", "Notice or cause"), "text", values.get("cause", kind.cause), True, ""))
    return (f'<form method="post" action="/events/new/{esc(kind.key)}" data-busy><fieldset>'
            f'<legend>{bi(kind.ja + "届", kind.en)}</legend>{"".join(inputs)}</fieldset>'
            f'<div class="actions"><button type="submit">{bi("失効する電子証明書を確認する", "Show what it revokes")}</button>'
            f'<a class="button secondary" href="/events">{bi("戻る", "Back")}</a></div></form>')


def _kind_or_refusal(request: Request, session: ClerkSession, key: str) -> EventKind | HTMLResponse:
    """The kind named in the URL, or the page refusing it (unknown, or no resident opened yet)."""
    kind = KINDS.get(key)
    if kind is None:
        return _page(request, session, _open_form(), "その届出はありません。 There is no such notice.", "error", 404)
    if kind.on_resident and not _state(session).get("code"):
        return _page(request, session, _open_form(), "先に住民票を開いてください。 Open the resident's record first.",
                     "error", 409)
    return kind


def _heading(session: ClerkSession, kind: EventKind) -> str:
    record = _state(session).get("record") if kind.on_resident else None
    who = ""
    if record:
        current = record["current"]
        who = f' — {esc(current["family_name"])}　{esc(current["given_name"])}（{esc(record["resident_code"])}）'
    return f'<h2 id="kind-h">{bi(kind.ja, kind.en)}{who}</h2>'


@router.get("/events/new/{key}", response_class=HTMLResponse)
def kind_form(request: Request, session: Clerk, key: str) -> HTMLResponse:
    kind = _kind_or_refusal(request, session, key)
    if not isinstance(kind, EventKind):
        return kind
    record = _state(session).get("record") or {}
    return _page(request, session, _heading(session, kind) + _deadline_html(record) + _kind_form(kind))


# -- 2. the preview and the confirmation ----------------------------------------------------------


@router.post("/events/new/{key}", response_class=HTMLResponse)
def preview(request: Request, session: Clerk, fields: Fields, key: str) -> HTMLResponse:
    kind = _kind_or_refusal(request, session, key)
    if not isinstance(kind, EventKind):
        return kind
    state = _state(session)
    again = _heading(session, kind) + _kind_form(kind, fields)
    try:
        body = request_body(kind, fields, fields.get("event_date") or today_jst())
        where = f"/residents/{state['code']}/events/preview" if kind.on_resident else "/residents/preview"
        planned: dict[str, Any] = session.register.post(where, body)
    except FormProblem as exc:
        return _page(request, session, again, str(exc), "error", 422)
    except RegisterError as exc:
        return _page(request, session, again, _refused(exc), "error", exc.status if exc.status in (404, 409, 422) else 502)
    token = secrets.token_urlsafe(16)
    state["pending"] = {"token": token, "kind": kind.key, "body": body}
    confirm = (f'<form method="post" action="/events/commit" data-busy><input type="hidden" name="token" value="{token}">'
               f'<div class="actions"><button type="submit">{bi("この内容で登録する", "Record this event")}</button>'
               f'<a class="button secondary" href="/events/new/{esc(kind.key)}">{bi("修正する", "Change it")}</a></div></form>')
    body_html = (_heading(session, kind) + _entered_html(kind, fields) + _revocations_html(planned["revocations"], None)
                 + _summary_html(planned["summary"], kind) + confirm)
    return _page(request, session, body_html, "まだ登録していません。失効する電子証明書を確かめてから登録してください。 "
                 "Not recorded yet: check the certificates it revokes, then record it.", "info")


def _entered_html(kind: EventKind, values: dict[str, str]) -> str:
    rows = []
    for field in kind.fields:
        value = values.get(field.name, "")
        if field.kind == "sex":
            value = next((f"{ja} {en}" for code, ja, en in SEXES if code == value), value)
        rows.append(f'<tr><th scope="row">{bi(field.ja, field.en)}</th><td>{esc(value) or "—"}</td></tr>')
    if kind.on_resident:
        rows.append(f'<tr><th scope="row">{bi("届出日", "Date of the notice")}</th><td>{esc(values.get("event_date", ""))}</td></tr>')
    return f'<table id="entered"><caption>{bi("届出の内容", "The notice")}</caption><tbody>{"".join(rows)}</tbody></table>'


def _revocations_html(rows: list[dict[str, Any]], recorded: bool | None) -> str:
    """Both certificates, each revoked (with serial, reason and — once recorded — delivery) or not."""
    out = []
    for ca, ja, en in CAS:
        mine = [r for r in rows if r["ca"] == ca]
        if not mine:
            out.append(f'<tr data-ca="{ca}"><th scope="row">{bi(ja, en)}</th><td class="pass">{bi("失効しない", "kept")}</td>'
                       '<td>—</td><td>—</td>' + ("<td>—</td>" if recorded else "") + "</tr>")
            continue
        for row in mine:
            action = bi("一時停止", "held") if row["action"] == "hold" else bi("失効する", "REVOKED")
            cells = (f'<tr data-ca="{ca}"><th scope="row">{bi(ja, en)}</th><td class="fail">{action}</td>'
                     f'<td>{esc(row["serial"])}</td><td>{esc(row.get("reason") or "")}</td>')
            if recorded:
                ja_s, en_s, css = DELIVERY.get(row["status"], (row["status"], row["status"], "skipped"))
                error = f' — {esc(row["last_error"])}' if row.get("last_error") else ""
                cells += (f'<td class="{css}" data-delivery="{esc(row["status"])}">{bi(ja_s, en_s)}'
                          f' ({esc(row["attempts"])} {bi("回", "attempts")}){error}</td>')
            out.append(cells + "</tr>")
    delivery = f'<th scope="col">{bi("CAへの送信", "Delivery to the CA")}</th>' if recorded else ""
    caption = ("電子証明書の失効（記録済み）", "Certificates (recorded)") if recorded else \
              ("登録すると失効する電子証明書（法定、§5）", "What recording it revokes (by law, §5)")
    return (f'<table id="revocations"><caption>{bi(*caption)}</caption><thead><tr>'
            f'<th scope="col">{bi("証明書", "Certificate")}</th><th scope="col">{bi("扱い", "Effect")}</th>'
            f'<th scope="col">{bi("発行番号", "Serial")}</th><th scope="col">{bi("理由", "Reason")}</th>{delivery}'
            f'</tr></thead><tbody>{"".join(out)}</tbody></table>')


def _summary_html(summary: dict[str, Any], kind: EventKind) -> str:
    notes = []
    if kind.key == "birth":
        notes.append(bi("新しい住民票です。カードも電子証明書もまだないので、失効するものはありません。",
                        "A new record: there is no card or certificate yet, so nothing is revoked."))
    if summary.get("continuation_due_by"):
        notes.append(f'{bi("継続利用の期限", "Card continuation due by")}: <strong id="continuation-due">'
                     f'{esc(summary["continuation_due_by"])}</strong> {bi("（転入届から90日、§2.1）", "(90 days, §2.1)")}')
    if summary.get("move_in_notice_due_by"):
        notes.append(f'{bi("転入届の期限", "Move-in notice due by")}: <strong id="move-in-due">'
                     f'{esc(summary["move_in_notice_due_by"])}</strong> {bi("（転出予定日から30日、§2.1）", "(30 days, §2.1)")}')
    if summary.get("card_lapsed"):
        notes.append(f'<strong class="fail-text">{bi("カードは失効します", "The card lapses")}</strong>: '
                     f'{esc(summary["card_lapsed"])}')
    return "".join(f'<p class="notice">{note}</p>' for note in notes)


# -- 3. recorded, and the outbox ------------------------------------------------------------------


@router.post("/events/commit", response_class=HTMLResponse)
def commit(request: Request, session: Clerk, fields: Fields) -> HTMLResponse:
    state = _state(session)
    pending = state.get("pending")
    if not pending or not secrets.compare_digest(str(pending["token"]), fields.get("token", "")):
        return _page(request, session, _open_form(state.get("code") or ""),
                     "確認中の届出がありません（何も記録していません）。 No previewed event is waiting; nothing was recorded.",
                     "error", 409)
    state.pop("pending")
    kind = KINDS[pending["kind"]]
    heading = _heading(session, kind)
    try:
        if kind.on_resident:
            recorded = session.register.post(f"/residents/{state['code']}/events", pending["body"])
        else:
            created = session.register.post("/residents", pending["body"])
            recorded = created["event"]
            state.update(code=created["resident_code"], new_number=(recorded["id"], mask_my_number(created["my_number"])))
    except RegisterError as exc:
        return _page(request, session, heading + _kind_form(kind), _refused(exc), "error",
                     exc.status if exc.status in (404, 409, 422) else 502)
    state.pop("record", None)  # changed by the event (or another resident's, after a birth): read it again
    return _recorded_page(request, session, recorded, "届出を登録しました。 The event is recorded.")


@router.get("/events/recorded/{event_id}", response_class=HTMLResponse)
def recorded_status(request: Request, session: Clerk, event_id: int) -> HTMLResponse:
    try:
        recorded = session.register.get(f"/events/{event_id}", purpose=PURPOSE)
    except RegisterError as exc:
        return _page(request, session, _open_form(), exc.sentence, "error", 404 if exc.status == 404 else 502)
    return _recorded_page(request, session, recorded, "送信状況を更新しました。 Delivery state refreshed.")


def _recorded_page(request: Request, session: ClerkSession, recorded: dict[str, Any], sentence: str) -> HTMLResponse:
    kind = KINDS.get(recorded["kind"])
    title = bi(kind.ja, kind.en) if kind else esc(recorded["kind"])
    at = datetime.fromisoformat(str(recorded["recorded_at"]).replace("Z", "+00:00")).astimezone(JST)
    rows = [("届出", "Event", title), ("記録番号", "Event no.", esc(recorded["id"])),
            ("住民票コード", "Resident code", esc(recorded["resident_code"])),
            ("届出日", "Date", esc(recorded["event_date"])),
            ("記録日時", "Recorded at", esc(at.strftime("%Y-%m-%d %H:%M:%S JST"))),
            ("担当者", "Recorded by", f'<span id="recorded-by">{esc(recorded["recorded_by"])}</span>')]
    event_id, number = _state(session).get("new_number") or (None, "")
    if event_id == recorded["id"]:
        rows.append(("個人番号", "My Number", esc(number)))
    table = "".join(f'<tr><th scope="row">{bi(ja, en)}</th><td>{value}</td></tr>' for ja, en, value in rows)
    summary = _summary_html(recorded.get("summary") or {}, kind) if kind else ""
    refresh = (f'<div class="actions"><a class="button" id="refresh" href="/events/recorded/{esc(recorded["id"])}">'
               f'{bi("送信状況を更新", "Refresh delivery state")}</a>'
               f'<a class="button secondary" href="/events">{bi("次の届出", "Next notice")}</a></div>')
    body = (f'<table id="event"><tbody>{table}</tbody></table>'
            + _revocations_html(recorded.get("revocations") or [], True) + summary + refresh)
    return _page(request, session, body, sentence, "ok")
