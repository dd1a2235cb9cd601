"""Screen 1 — カード確認（方法1）: the card at the counter, checked against the application form.

Steps, each one page:
1. the clerk puts the card on the reader and presses 「カードを読む」: the tries left of every
   secret are read (VERIFY without data, nothing spent) and shown before anything is typed;
2. the clerk types 照合番号B (or 生年月日 + 有効期限 + セキュリティコード, composed into it) and the
   application form's My Number and four facts; the form's My Number also serves as 照合番号A, so
   the chip's My Number can be compared;
3. host/clerk.py runs every check (CV signatures, integrity record, chain to the pinned roots
   — fail closed —, OCSP, the application item by item, normalised like 方法2). The chip photo,
   name and address images and the chip text are shown side by side with the pass/fail list;
4. the clerk records "photo matches the person: yes/no"; the verdict and that answer are access
   records under the clerk's name (POST /v1/window/audit).

Secrets are used once: a VERIFY goes through host/pins.py PinGuard only, and a rejected
照合番号B is not tried again (the clerk must type it again). No secret is kept after the request;
the report (photo, chip text) lives in the clerk's session in memory until the next check, logout
or expiry, and is never written anywhere.
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from mynacard.host.clerk import (
    FIELD_TITLES,
    ApplicationForm,
    ApplicationFormError,
    ClerkReport,
    ClerkSecrets,
    Status,
    mask_my_number,
    run_clerk_check,
)
from mynacard.host.errors import CardError, CardRemoved, NotAMyNumberCard
from mynacard.host.normalize import NormalizationError, era_yymmdd, normalize_birth_date
from mynacard.host.revocation import RevocationConfig
from mynacard.host.trust import default_trust
from mynacard.window.card import open_card, pulled
from mynacard.window.config import WindowConfig
from mynacard.window.forms import Fields, my_number_problem
from mynacard.window.layout import NavEntry, bi, esc, screen_page
from mynacard.window.register_client import RegisterError
from mynacard.window.sessions import Clerk, ClerkSession

NAV = NavEntry("/check", "カード確認（方法1）", "Card check (method 1)")
router = APIRouter()
STATE = "card_check"
PURPOSE = "個人番号カードによる本人確認（方法1）"

SECRET_TITLES = {
    "auth-pin": ("利用者証明用電子証明書 暗証番号", "auth PIN"),
    "sign-password": ("署名用電子証明書 暗証番号", "signing password"),
    "text-pin": ("券面事項入力補助用 暗証番号", "card-info PIN"),
    "text-code-a": ("券面事項入力補助AP 照合番号A", "card-info AP code A"),
    "text-code-b": ("券面事項入力補助AP 照合番号B", "card-info AP code B"),
    "visual-code-a": ("券面事項確認AP 照合番号A", "card-face AP code A"),
    "visual-code-b": ("券面事項確認AP 照合番号B", "card-face AP code B"),
    "birth-key": ("券面事項確認AP 生年月日", "card-face AP birth-date key"),
    "common-pin": ("共通AP 暗証番号", "common AP PIN"),
    "juki-pin": ("住基AP 暗証番号", "resident-registry AP PIN"),
}
FORM_FIELDS = [  # (name, ja, en, hint)
    ("my_number", "個人番号", "My Number", "申請書の12桁（照合番号Aとしても使います） 12 digits; also used as code A"),
    ("name", "氏名", "Name", "申請書のとおり as on the form"),
    ("address", "住所", "Address", "申請書のとおり as on the form"),
    ("birth", "生年月日", "Date of birth", "例 昭和60年4月12日 / 1985-04-12"),
    ("sex", "性別", "Sex", "男 / 女"),
]
CHIP_TITLES = {"name": ("氏名", "name"), "address": ("住所", "address"), "birth": ("生年月日", "date of birth"),
               "sex": ("性別", "sex"), "my_number": ("個人番号", "My Number"), "expiry": ("有効期限", "expiry")}
CARD_PULLED = ("カードが読み取り中に取り外されました。カードを置き直して、もう一度「カードを読む」を押してください"
               "（何も記録されていません）。 The card was taken out while it was being read: put it back and press "
               "Read card again (nothing was recorded).")
TEST_TRUSTED = ("テスト認証局を信頼して起動しています：テスト用カードも合格します。",
                "TEST AUTHORITY TRUSTED (--trust-test-authority): test cards pass, and so would a card forged with its public keys.")
CODE_B_HINT = ("生年月日（和暦6桁）＋有効期限の西暦4桁＋セキュリティコード4桁。空欄なら下の3項目から組み立てます。",
               "birth YYMMDD (era) + expiry year + security code; leave it empty to compose it from the three items below")
INSERT = ("① 申請書を受け取り、② カードを読み取り機に置いてください。", "Take the application form and put the card on the reader.")
ALL_PASSED = ("すべての確認に合格しました。写真と本人を見比べて記録してください。 "
              "All checks passed: compare the photo with the person and record it.")
NOT_A_CARD = ("このカードは個人番号カードではありません。個人番号カードを置いてください。 "
              "This card is not a My Number Card: put the applicant's My Number Card on the reader.")


def _trust_banner(config: WindowConfig) -> str:
    if not config.trust_test_authority:
        return ""
    return f'<p class="notice" id="test-authority">{bi(*TEST_TRUSTED)}</p>'


def _card_sentence(exc: CardError) -> str:
    if isinstance(exc, CardRemoved):
        return CARD_PULLED
    if isinstance(exc, NotAMyNumberCard):
        return NOT_A_CARD
    return exc.sentence


@router.get("/check", response_class=HTMLResponse)
def start(request: Request, session: Clerk) -> HTMLResponse:
    session.state.pop(STATE, None)
    return screen_page(request, session, NAV.ja, NAV.en, _trust_banner(request.app.state.config) + _insert_html())


def _insert_html() -> str:
    return (f'<p>{bi(*INSERT)}</p>'
            f'<form method="post" action="/check/card" data-busy><div class="actions"><button type="submit" autofocus>'
            f'{bi("カードを読む", "Read card")}</button></div></form>')


@router.post("/check/card", response_class=HTMLResponse)
def read_card(request: Request, session: Clerk) -> HTMLResponse:
    """Tries left of every secret, nothing spent; then the entry form."""
    config: WindowConfig = request.app.state.config
    try:
        with open_card(config) as card:
            status = card.status()
            failure = pulled(card)
    except CardError as exc:
        return _refused(request, session, _card_sentence(exc))
    if failure is not None:
        return _refused(request, session, CARD_PULLED)
    tries = {s.secret.key: (s.tries_left, s.secret.max_tries, s.state) for s in status.secrets}
    session.state[STATE] = {"tries": tries}
    body = _trust_banner(config) + _tries_html(tries) + _entry_html()
    return screen_page(request, session, NAV.ja, NAV.en, body,
                       status="カードを読み取りました。照合番号Bと申請書の内容を入力してください。 "
                              "Card read: enter 照合番号B and the application form.", status_kind="ok")


def _refused(request: Request, session: ClerkSession, sentence: str, http_status: int = 409) -> HTMLResponse:
    body = _trust_banner(request.app.state.config) + _insert_html()
    return screen_page(request, session, NAV.ja, NAV.en, body, status=sentence, status_kind="error",
                       http_status=http_status)


def _tries_html(tries: dict[str, tuple[int | None, int, str]],
                caption: tuple[str, str] = ("暗証番号・照合番号の残り回数", "Tries left of every secret")) -> str:
    rows = []
    for key, (left, most, state) in tries.items():
        ja, en = SECRET_TITLES.get(key, (key, key))
        if state == "absent":
            shown, kind = bi("なし", "absent"), "skipped"
        elif left is None:
            shown, kind = bi("不明", "not reported"), "skipped"
        elif left == 0:
            shown, kind = bi("ロック中", "blocked"), "fail"
        else:
            shown = f'{esc(left)} / {esc(most)}' + (f' {bi("（最後の1回）", "(last try)")}' if left == 1 else "")
            kind = "fail" if left == 1 else "pass"
        rows.append(f'<tr data-secret="{esc(key)}"><th scope="row">{bi(ja, en)}</th><td class="{kind}">{shown}</td></tr>')
    return (f'<table id="tries" class="tries"><caption>{bi(*caption)}</caption>'
            f'<thead><tr><th scope="col">{bi("項目", "Secret")}</th><th scope="col">{bi("残り回数", "Tries left")}</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _entry_html(kept: dict[str, str] | None = None) -> str:
    kept = kept or {}
    code = (f'<fieldset><legend>{bi("照合番号B", "Code B")}</legend>'
            f'<label for="code_b">{bi("照合番号B（14桁）", "Code B (14 digits)")}</label>'
            f'<input id="code_b" name="code_b" type="password" inputmode="numeric" autocomplete="off" autofocus '
            f'aria-describedby="code_b-hint">'
            f'<p id="code_b-hint" class="hint">{bi(*CODE_B_HINT)}</p>'
            f'<label for="birth_b">{bi("カード記載の生年月日", "Date of birth on the card")}</label>'
            f'<input id="birth_b" name="birth_b" type="text" autocomplete="off" value="{esc(kept.get("birth_b", ""))}">'
            f'<label for="expiry_b">{bi("カード記載の有効期限", "Expiry date on the card")}</label>'
            f'<input id="expiry_b" name="expiry_b" type="text" autocomplete="off" value="{esc(kept.get("expiry_b", ""))}">'
            f'<label for="security_code">{bi("セキュリティコード（4桁）", "Security code (4 digits)")}</label>'
            f'<input id="security_code" name="security_code" type="password" inputmode="numeric" autocomplete="off">'
            '</fieldset>')
    rows = []
    for name, ja, en, hint in FORM_FIELDS:
        kind = "password" if name == "my_number" else "text"
        value = "" if name == "my_number" else esc(kept.get(name, ""))
        rows.append(f'<label for="app-{name}">{bi(ja, en)}</label>'
                    f'<input id="app-{name}" name="{name}" type="{kind}" autocomplete="off" value="{value}" '
                    f'aria-describedby="app-{name}-hint"><p id="app-{name}-hint" class="hint">{esc(hint)}</p>')
    form = f'<fieldset><legend>{bi("申請書の記載", "From the application form")}</legend>{"".join(rows)}</fieldset>'
    return (f'<form method="post" action="/check/run" data-busy>{code}{form}<div class="actions">'
            f'<button type="submit">{bi("確認する", "Check the card")}</button>'
            f'<a class="button secondary" href="/check">{bi("やり直す", "Start over")}</a></div></form>')


def compose_code_b(fields: dict[str, str]) -> str | None:
    """照合番号B as typed, or composed from the printed birth date, expiry and security code."""
    typed = fields.get("code_b", "")
    if typed:
        return typed
    birth, expiry, code = fields.get("birth_b", ""), fields.get("expiry_b", ""), fields.get("security_code", "")
    if not (birth or expiry or code):
        return None
    if not (birth and expiry and code):
        raise ValueError("照合番号Bを組み立てるには、生年月日・有効期限・セキュリティコードの3つが必要です。 "
                         "To compose 照合番号B, give the birth date, the expiry date and the security code.")
    try:
        born, expires = normalize_birth_date(birth), normalize_birth_date(expiry)
    except NormalizationError:
        raise ValueError("カード記載の生年月日または有効期限が日付として読めません（例 1985-04-12）。 "
                         "The birth or expiry date on the card is not a date (e.g. 1985-04-12).") from None
    return f"{era_yymmdd(born)}{expires[:4]}{code}"


@router.post("/check/run", response_class=HTMLResponse)
def run(request: Request, session: Clerk, fields: Fields) -> HTMLResponse:
    config: WindowConfig = request.app.state.config
    state = session.state.get(STATE)
    if state is None:
        return _refused(request, session, "先に「カードを読む」を押してください。 Press Read card first.")
    kept = {k: v for k, v in fields.items() if k in ("name", "address", "birth", "sex", "birth_b", "expiry_b")}

    def again(sentence: str) -> HTMLResponse:
        body = _trust_banner(config) + _tries_html(state["tries"]) + _entry_html(kept)
        return screen_page(request, session, NAV.ja, NAV.en, body, status=sentence, status_kind="error", http_status=422)

    try:
        code_b = compose_code_b(fields)
        application = ApplicationForm.from_mapping({name: fields.get(name) or None for name, *_ in FORM_FIELDS})
    except (ValueError, ApplicationFormError) as exc:
        return again(str(exc))
    problem = my_number_problem(application.my_number) if application.my_number else None
    if problem:  # also 照合番号A: refused here, before the card or the register is asked
        return again(problem)
    if code_b is None:
        return again("照合番号Bを入力してください（または生年月日・有効期限・セキュリティコード）。 "
                     "Enter 照合番号B (or the birth date, expiry date and security code).")
    return check_card(request, session, application, code_b, kept)


def check_card(request: Request, session: ClerkSession, application: ApplicationForm, code_b: str,
               kept: dict[str, str] | None = None) -> HTMLResponse:
    """Run the check on the card in the reader and answer screen 1's result page (the verdict
    audited under the clerk's name); also how screen 4 checks a card it has just issued."""
    config: WindowConfig = request.app.state.config
    state = session.state.setdefault(STATE, {"tries": {}})
    kept = kept or {}
    secrets = ClerkSecrets(code_b=code_b, code_a=application.my_number)
    revocation = RevocationConfig(ocsp_url=config.resolved_ocsp_url, timeout=5.0)
    try:
        with open_card(config) as card:
            report = run_clerk_check(card, application, secrets, revocation=revocation,
                                     trust=default_trust(trust_test_authority=config.trust_test_authority))
            failure = pulled(card)
            after = card.status() if failure is None else None
    except CardError as exc:
        session.state.pop(STATE, None)
        return _refused(request, session, _card_sentence(exc))
    if failure is not None or after is None:
        session.state.pop(STATE, None)
        return _refused(request, session, CARD_PULLED)
    tries = {s.secret.key: (s.tries_left, s.secret.max_tries, s.state) for s in after.secrets}
    resident_code = _resident_code(session, report)
    state.update(report=report, tries=tries, resident_code=resident_code, photo_answer=None)
    failed = [c.id for c in report.failed]
    try:
        session.register.audit("window-card-check", purpose=PURPOSE, resident_code=resident_code,
                               items="card face, four facts, my_number, certificates; failed: "
                                     + (", ".join(failed) or "none"),
                               outcome="passed" if report.passed else "failed")
    except RegisterError as exc:
        return screen_page(request, session, NAV.ja, NAV.en, _result_html(config, report, tries, None),
                           status=f"確認結果を記録できませんでした：{exc.sentence}", status_kind="error", http_status=502)
    wrong_b = _wrong_code_b(report)
    if wrong_b:  # the clerk types it again (after checking the card); the form comes back
        del state["report"]
        body = _trust_banner(config) + _tries_html(tries) + _entry_html(kept)
        return screen_page(request, session, NAV.ja, NAV.en, body, status=wrong_b, status_kind="error", http_status=422)
    sentence = (ALL_PASSED if report.passed else
                            f"不合格の確認があります：{', '.join(failed)}。 Failed: {', '.join(failed)}.")
    return screen_page(request, session, NAV.ja, NAV.en, _result_html(config, report, tries, None),
                       status=sentence, status_kind="ok" if report.passed else "error")


def _wrong_code_b(report: ClerkReport) -> str | None:
    """The one sentence for a rejected 照合番号B (the card said so; nothing was tried again)."""
    read = report.check("card.face_read")
    if read.status is Status.FAILED and "照合番号B" in read.title and "wrong" in read.reason:
        return (f"照合番号Bが違います（{read.reason}）。再試行は自動では行いません。カードの記載を確かめて入力し直してください。 "
                f"照合番号B is wrong ({read.reason}); it was not tried again: check the card and type it once more.")
    return None


def _resident_code(session: ClerkSession, report: ClerkReport) -> str | None:
    """The register's record of the chip's My Number (an access record of its own), when the chip's
    My Number equals the form's; None otherwise or when the register has none."""
    check = next((c for c in report.checks if c.id == "application.my_number"), None)
    number = report.chip.get("my_number")
    if check is None or check.status is not Status.PASSED or number is None:
        return None
    try:
        found = session.register.post("/lookup", {"my_number": number, "purpose": PURPOSE})
    except RegisterError:
        return None
    return str(found["resident_code"])


def _img(png: bytes | None, alt: str, ident: str) -> str:
    if not png:
        return f'<p class="hint" id="{ident}">{bi("読み取れませんでした", "not read")}</p>'
    return f'<img id="{ident}" alt="{esc(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


MARK = {Status.PASSED: ("合格", "pass", "pass"), Status.FAILED: ("不合格", "FAIL", "fail"),
        Status.SKIPPED: ("未実施", "skipped", "skipped")}


def _result_html(config: WindowConfig, report: ClerkReport, tries: dict[str, Any], photo_answer: str | None) -> str:
    verdict = ('<p class="verdict pass" id="verdict">' + bi("合格", "PASSED") + "</p>" if report.passed else
               '<p class="verdict fail" id="verdict">' + bi("不合格", "FAILED") + " — "
               + esc(", ".join(c.id for c in report.failed)) + "</p>")
    notice = f'<p class="notice" id="trust-notice">{esc(report.trust_notice)}</p>' if report.trust_notice else ""
    chip = dict(report.chip)
    if "my_number" in chip:
        chip["my_number"] = mask_my_number(chip["my_number"])
    chip_rows = "".join(f'<tr><th scope="row">{bi(*CHIP_TITLES.get(k, (k, k)))}</th><td>{esc(v)}</td></tr>'
                        for k, v in chip.items())
    side = (f'<section aria-labelledby="chip-h"><h2 id="chip-h">{bi("ICチップの内容", "What the chip holds")}</h2><div class="side">'
            f'<figure>{_img(report.photo_png, "ICチップの顔写真 chip photo", "chip-photo")}'
            f'<figcaption>{bi("顔写真", "Photo")}</figcaption></figure>'
            f'<figure>{_img(report.face_images.get("name"), "ICチップの氏名画像 name image", "chip-name")}'
            f'<figcaption>{bi("氏名画像", "Name image")}</figcaption></figure>'
            f'<figure>{_img(report.face_images.get("address"), "ICチップの住所画像 address image", "chip-address")}'
            f'<figcaption>{bi("住所画像", "Address image")}</figcaption></figure>'
            f'<figure><table id="chip-text"><caption>{bi("券面事項入力補助（テキスト）", "Card-info text")}</caption>'
            f'<tbody>{chip_rows}</tbody></table></figure></div></section>')
    app_rows = []
    for check in report.checks:
        if not check.id.startswith("application."):
            continue
        field = check.id.removeprefix("application.")
        given = "" if field == "my_number" else check.details.get("application", report.application.given().get(field, ""))
        on_chip = "" if field == "my_number" else check.details.get("chip", report.chip.get(field, ""))
        if field == "my_number":
            given = check.details.get("application", "")
            on_chip = check.details.get("chip", "")
        ja, sym, kind = MARK[check.status]
        app_rows.append(f'<tr id="cmp-{esc(field)}"><th scope="row">{esc(FIELD_TITLES[field])}</th><td>{esc(given)}</td>'
                        f'<td>{esc(on_chip)}</td><td class="{kind}">{bi(ja, sym)}</td><td>{esc(check.reason)}</td></tr>')
    compare = (f'<section aria-labelledby="cmp-h"><h2 id="cmp-h">{bi("申請書との照合", "Application form against the chip")}</h2>'
               f'<table id="compare"><thead><tr><th scope="col">{bi("項目", "Item")}</th><th scope="col">{bi("申請書", "Form")}</th>'
               f'<th scope="col">{bi("ICチップ", "Chip")}</th><th scope="col">{bi("結果", "Result")}</th>'
               f'<th scope="col">{bi("理由", "Reason")}</th>'
               f'</tr></thead><tbody>{"".join(app_rows)}</tbody></table></section>')
    check_rows = []
    for check in report.checks:
        if check.id.startswith("application."):
            continue
        ja, sym, kind = MARK[check.status]
        check_rows.append(f'<tr data-check="{esc(check.id)}"><th scope="row">{esc(check.title)}</th>'
                          f'<td class="{kind}">{bi(ja, sym)}</td><td>{esc(check.reason)}</td></tr>')
    checks = (f'<section aria-labelledby="checks-h"><h2 id="checks-h">{bi("検証結果", "Verifications")}</h2>'
              f'<table id="checks"><thead><tr><th scope="col">{bi("確認項目", "Check")}</th><th scope="col">{bi("結果", "Result")}</th>'
              f'<th scope="col">{bi("理由", "Reason")}</th></tr></thead><tbody>{"".join(check_rows)}</tbody></table></section>')
    if photo_answer is None:
        photo = (f'<form method="post" action="/check/photo" data-busy><fieldset><legend>'
                 f'{bi("③ 顔写真と本人は一致しますか", "Does the photo match the person?")}</legend>'
                 f'<p><input type="radio" id="photo-yes" name="photo" value="yes" required> '
                 f'<label for="photo-yes" class="inline">{bi("一致する", "Yes, it matches")}</label></p>'
                 f'<p><input type="radio" id="photo-no" name="photo" value="no"> '
                 f'<label for="photo-no" class="inline">{bi("一致しない", "No, it does not")}</label></p>'
                 f'</fieldset><div class="actions"><button type="submit">{bi("記録する", "Record")}</button></div></form>')
    else:
        photo = f'<p id="photo-recorded" class="verdict {"pass" if photo_answer == "yes" else "fail"}">' + (
            bi("写真と本人：一致（記録済み）", "Photo matches the person (recorded)") if photo_answer == "yes"
            else bi("写真と本人：不一致（記録済み）", "Photo does NOT match the person (recorded)")) + "</p>"
    at = report.checked_at.astimezone(datetime.timezone(datetime.timedelta(hours=9))).strftime("%Y-%m-%d %H:%M JST")
    return (_trust_banner(config) + notice + verdict + f'<p class="hint">{bi("確認日時", "Checked at")} {esc(at)}</p>'
            + photo + side + compare + checks + _tries_html(tries, ("確認後の残り回数", "Tries left after the check"))
            + f'<div class="actions"><a class="button secondary" href="/check">{bi("次のカード", "Next card")}</a></div>')


@router.post("/check/photo", response_class=HTMLResponse)
def photo(request: Request, session: Clerk, fields: Fields) -> HTMLResponse:
    config: WindowConfig = request.app.state.config
    state = session.state.get(STATE)
    if not state or "report" not in state:
        return _refused(request, session, "確認中のカードがありません。 No card check is in progress.")
    report: ClerkReport = state["report"]
    answer = fields.get("photo")
    if answer not in ("yes", "no"):
        return screen_page(request, session, NAV.ja, NAV.en, _result_html(config, report, state["tries"], None),
                           status="「一致する」か「一致しない」を選んでください。 Choose yes or no.", status_kind="error",
                           http_status=422)
    try:
        session.register.audit("window-photo-check", purpose=PURPOSE, resident_code=state.get("resident_code"),
                               items=f"photo matches the person: {answer}; card check "
                                     f"{'passed' if report.passed else 'failed'}",
                               outcome="photo-matches" if answer == "yes" else "photo-differs")
    except RegisterError as exc:
        return screen_page(request, session, NAV.ja, NAV.en, _result_html(config, report, state["tries"], None),
                           status=f"記録できませんでした：{exc.sentence}", status_kind="error", http_status=502)
    state["photo_answer"] = answer
    ok = answer == "yes" and report.passed
    sentence = ("本人確認を記録しました：カード合格・写真一致。 Recorded: card passed, photo matches." if ok else
                "記録しました：本人確認は完了していません。 Recorded: the identity is NOT confirmed.")
    return screen_page(request, session, NAV.ja, NAV.en, _result_html(config, report, state["tries"], answer),
                       status=sentence, status_kind="ok" if ok else "error")

