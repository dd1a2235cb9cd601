"""The PIN pad: a second screen facing the resident (/pinpad), where they set the PINs of their new
card (jpki-system.md §1.6) without the clerk seeing them.

Pairing: the clerk starts a PIN entry for the resident on screen 4; the window shows a one-time
6-digit pairing code on the clerk's screen, which the clerk types once on the PIN pad's screen (a
second window, a tablet, a customer display). The PIN pad then holds its own cookie (`pinpad`,
HttpOnly, SameSite=Strict, path /pinpad) naming that one pending issuance — nothing of the
clerk's session, no page of the clerk's screens, no name or number of the resident. The code works
once, for ten minutes; ten wrong codes withdraw every unused one (the clerk starts again).

The resident types each secret twice. The format is checked here (4 digits; 6–16 capital letters
and digits with at least one of each) and a problem is one sentence naming the item, never a
value; nothing is kept from a refused entry. Accepted PINs live only in this process's memory,
inside the pending issuance, until the clerk issues the card (they are taken out and sent to the
register in the request body), cancels, logs out (or their session expires), or the issuance
expires. They are never logged, put in a URL, a cookie or a page — the forms come back empty and
the clerk's screen shows only "set".
The 住基用 PIN, which the register also needs, is set to the card-info PIN (both are 4-digit
PINs for the municipality's own uses), and the PIN pad says so.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from mynacard.window.forms import Fields
from mynacard.window.layout import bi, page

router = APIRouter()
COOKIE = "pinpad"
PAIRING_SECONDS = 10 * 60
MAX_PAIRING_FAILURES = 10
FOUR_DIGITS = re.compile(r"[0-9]{4}")
SIGN_PASSWORD = re.compile(r"(?=.*[A-Z])(?=.*[0-9])[A-Z0-9]{6,16}")

#: (field, Japanese, English, the one-sentence rule) in the order the resident types them.
SECRETS = (
    ("auth_pin", "利用者証明用電子証明書の暗証番号", "auth PIN",
     "利用者証明用電子証明書の暗証番号は数字4桁です。 The auth PIN is 4 digits."),
    ("sign_password", "署名用電子証明書の暗証番号", "signing password",
     "署名用電子証明書の暗証番号は英大文字と数字の6〜16文字で、英字と数字をそれぞれ1つ以上含めてください。 "
     "The signing password is 6 to 16 capital letters and digits, with at least one of each."),
    ("text_pin", "券面事項入力補助用の暗証番号", "card-info PIN",
     "券面事項入力補助用の暗証番号は数字4桁です。 The card-info PIN is 4 digits."),
)


class PinPadError(ValueError):
    """A refused entry on the PIN pad; the message is one sentence without any value."""


@dataclass(frozen=True)
class ChosenPins:
    auth_pin: str
    sign_password: str
    text_pin: str

    def __repr__(self) -> str:  # never a value, in a log line or a traceback
        return "ChosenPins(…)"

    def register_pins(self) -> dict[str, str]:
        """The register's `pins` (register_stub/cards.py Pins): the 住基用 PIN is the card-info PIN."""
        return {"auth_pin": self.auth_pin, "sign_password": self.sign_password, "text_pin": self.text_pin,
                "juki_pin": self.text_pin}


def check_pins(fields: dict[str, str]) -> ChosenPins:
    """The three secrets if each has its format and was typed the same twice; else PinPadError."""
    chosen = {}
    for name, ja, en, rule in SECRETS:
        value = fields.get(name, "")
        pattern = SIGN_PASSWORD if name == "sign_password" else FOUR_DIGITS
        if not pattern.fullmatch(value):
            raise PinPadError(rule)
        if fields.get(f"{name}_again", "") != value:
            raise PinPadError(f"{ja}の確認の入力が一致しません。もう一度入力してください。 "
                              f"The two entries of the {en} differ: type it again.")
        chosen[name] = value
    return ChosenPins(**chosen)


@dataclass
class PendingIssuance:
    """One card being issued at the window, between "start PIN entry" and the issuance."""

    clerk_session: str = field(repr=False)
    resident_code: str
    expires_at: float
    pairing_code: str | None = field(default=None, repr=False)
    pad_token: str | None = field(default=None, repr=False)
    pins: ChosenPins | None = field(default=None, repr=False)
    issued: bool = False

    @property
    def stage(self) -> str:
        """waiting-pad, waiting-pins, pins-set or issued (what the clerk's screen may know)."""
        if self.issued:
            return "issued"
        if self.pad_token is None:
            return "waiting-pad"
        return "waiting-pins" if self.pins is None else "pins-set"


class PinPadHub:
    """The pending issuances of one window process, by clerk session and by PIN pad."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._by_session: dict[str, PendingIssuance] = {}
        self._failures = 0
        self._lock = threading.Lock()

    def start(self, clerk_session: str, resident_code: str) -> PendingIssuance:
        """A new pending issuance for the clerk (replacing theirs), with a fresh pairing code."""
        with self._lock:
            self._drop_expired()
            used = {p.pairing_code for p in self._by_session.values()}
            code = f"{secrets.randbelow(10**6):06d}"
            while code in used:
                code = f"{secrets.randbelow(10**6):06d}"
            pending = PendingIssuance(clerk_session, resident_code, self.clock() + PAIRING_SECONDS, pairing_code=code)
            self._by_session[clerk_session] = pending
            return pending

    def pair(self, pairing_code: str) -> str:
        """The PIN pad's token for the issuance this code names (the code is then used up)."""
        with self._lock:
            self._drop_expired()
            for pending in self._by_session.values():
                if pending.pairing_code and secrets.compare_digest(pending.pairing_code, pairing_code):
                    pending.pairing_code = None
                    pending.pad_token = secrets.token_urlsafe(32)
                    return pending.pad_token
            self._failures += 1
            if self._failures >= MAX_PAIRING_FAILURES:
                self._failures = 0
                for pending in self._by_session.values():
                    pending.pairing_code = None
        raise PinPadError("この番号の受付はありません。窓口の画面の番号を確かめてください。 "
                          "No PIN entry waits for this number: check the number on the clerk's screen.")

    def for_pad(self, pad_token: str | None) -> PendingIssuance | None:
        with self._lock:
            self._drop_expired()
            return next((p for p in self._by_session.values()
                         if pad_token and p.pad_token and secrets.compare_digest(p.pad_token, pad_token)), None)

    def for_clerk(self, clerk_session: str) -> PendingIssuance | None:
        with self._lock:
            self._drop_expired()
            return self._by_session.get(clerk_session)

    def take_pins(self, clerk_session: str) -> tuple[PendingIssuance, ChosenPins] | None:
        """The PINs the resident set (removed from memory now), or None if none are set."""
        with self._lock:
            pending = self._by_session.get(clerk_session)
            if pending is None or pending.pins is None or pending.expires_at <= self.clock():
                return None
            pins, pending.pins = pending.pins, None
            return pending, pins

    def cancel(self, clerk_session: str) -> None:
        with self._lock:
            self._by_session.pop(clerk_session, None)

    def _drop_expired(self) -> None:
        now = self.clock()
        for key in [k for k, p in self._by_session.items() if p.expires_at <= now]:
            del self._by_session[key]


def hub_of(request: Request) -> PinPadHub:
    """The app's hub (made on first use, so the window app needs no setup for it)."""
    state = request.app.state
    if not hasattr(state, "pinpads"):
        state.pinpads = PinPadHub()
    hub: PinPadHub = state.pinpads
    return hub


# -- the resident's screen ------------------------------------------------------------------------

TITLE = ("暗証番号の設定", "Set the PINs of your card")
PAIRING_HELP = ("窓口の職員が、窓口の画面に表示された番号を入力します。", "The clerk types the number shown on the clerk's screen.")
PINS_HELP = ("この画面は職員からは見えません。各暗証番号を2回ずつ入力してください。",
             "The clerk cannot see this screen. Type each PIN twice.")


def _pad_page(body: str, sentence: str = "", kind: str = "info", http_status: int = 200) -> HTMLResponse:
    return page(*TITLE, f'<div class="pinpad">{body}</div>', status=sentence, status_kind=kind,
                http_status=http_status)


def _pairing_form() -> str:
    return (f'<p>{bi(*PAIRING_HELP)}</p>'
            f'<form method="post" action="/pinpad/pair" data-busy>'
            f'<label for="pairing_code">{bi("受付番号（6桁）", "Pairing number (6 digits)")}</label>'
            f'<input id="pairing_code" name="pairing_code" inputmode="numeric" autocomplete="off" required autofocus>'
            f'<div class="actions"><button type="submit">{bi("つなぐ", "Connect")}</button></div></form>')


def _pins_form() -> str:
    rows = []
    for name, ja, en, rule in SECRETS:
        numeric = ' inputmode="numeric" maxlength="4"' if name != "sign_password" else ' maxlength="16" autocapitalize="characters"'
        hint = bi(*rule.split(" ", 1))
        rows.append(f'<fieldset><legend>{bi(ja, en)}</legend><p class="hint" id="{name}-hint">{hint}</p>'
                    f'<label for="{name}">{bi("入力", "Enter")}</label>'
                    f'<input id="{name}" name="{name}" type="password" autocomplete="off" required{numeric} '
                    f'aria-describedby="{name}-hint">'
                    f'<label for="{name}_again">{bi("確認のためもう一度", "Once more to confirm")}</label>'
                    f'<input id="{name}_again" name="{name}_again" type="password" autocomplete="off" required{numeric}>'
                    '</fieldset>')
    note = bi("住民基本台帳用の暗証番号は、券面事項入力補助用と同じ番号になります。",
              "The resident-registry PIN is set to the same number as the card-info PIN.")
    return (f'<p>{bi(*PINS_HELP)}</p>'
            f'<form method="post" action="/pinpad/pins" data-busy>{"".join(rows)}<p class="hint">{note}</p>'
            f'<div class="actions"><button type="submit">{bi("設定する", "Set the PINs")}</button></div></form>')


DONE = bi("暗証番号を受け付けました。窓口の職員にお知らせください。", "Your PINs are set. Please tell the clerk.")


def _pad_body(pending: PendingIssuance | None) -> str:
    if pending is None:
        return _pairing_form()
    if pending.stage == "issued":
        return f'<p class="verdict pass">{bi("カードを発行しました。", "Your card has been issued.")}</p>'
    if pending.stage == "pins-set":
        return f'<p class="verdict pass" id="pins-set">{DONE}</p>'
    return _pins_form()


@router.get("/pinpad", response_class=HTMLResponse)
def pad(request: Request) -> HTMLResponse:
    return _pad_page(_pad_body(hub_of(request).for_pad(request.cookies.get(COOKIE))))


@router.post("/pinpad/pair", response_class=HTMLResponse)
def pair(request: Request, fields: Fields) -> HTMLResponse:
    try:
        token = hub_of(request).pair(fields.get("pairing_code", ""))
    except PinPadError as exc:
        return _pad_page(_pairing_form(), str(exc), "error", 422)
    response = _pad_page(_pins_form(), "つながりました。暗証番号を入力してください。 Connected: type your PINs.", "ok")
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/pinpad", secure=False)
    return response


@router.post("/pinpad/pins", response_class=HTMLResponse)
def set_pins(request: Request, fields: Fields) -> HTMLResponse:
    pending = hub_of(request).for_pad(request.cookies.get(COOKIE))
    if pending is None or pending.stage == "issued":
        return _pad_page(_pairing_form(), "この画面の受付は終わっています。 This PIN entry has ended.", "error", 409)
    try:
        pins = check_pins(fields)
    except PinPadError as exc:
        return _pad_page(_pins_form(), str(exc), "error", 422)
    pending.pins = pins
    return _pad_page(f'<p class="verdict pass" id="pins-set">{DONE}</p>', "設定しました。 Set.", "ok")
