"""The card's secrets and the rules that keep a host from wasting their tries.

Every secret is one `Secret`: where it lives (AP, EF), its format, the environment variable the
CLI reads it from, and what the holder must do when it is blocked. `PinGuard.verify` is the only
path to a VERIFY with data, and it
  1. checks the format before any APDU is sent (a typo never costs a try),
  2. reads the tries left (VERIFY without data, which spends none) before every VERIFY,
  3. refuses a blocked secret without sending it,
  4. asks a hook before spending the last try (the CLI turns it into a confirmation prompt;
     without a hook the last try is refused),
  5. sends the VERIFY once and never retries on its own.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from mynacard.codec import my_number
from mynacard.host import aids
from mynacard.host.apdu import Command
from mynacard.host.channel import CardChannel
from mynacard.host.errors import (
    LastTryDeclined,
    PinBlocked,
    PinFormatError,
    PinWrong,
    error_for_sw,
)
from mynacard.host.sw import SW, is_tries_left, tries_left


class Format(Enum):
    DIGITS_4 = "4 digits"
    SIGN_PASSWORD = "6 to 16 characters A–Z and 0–9"
    MY_NUMBER = "the 12-digit My Number (個人番号)"
    CODE_B = "14 digits (birth date YYMMDD in the Japanese era, expiry year YYYY, security code)"
    BIRTH_KEY = "6 digits: birth date YYMMDD with the Japanese-era year"


MUNICIPAL_OFFICE = "the holder must have it reset at the municipal office (市区町村窓口) with the card"


@dataclass(frozen=True)
class Secret:
    key: str
    #: What to call it in a sentence; never the value.
    label: str
    ap: str
    ef: int
    format: Format
    #: Where the CLI looks before prompting.
    env: str
    blocked_advice: str
    #: The counter's maximum: CI §6.1 and jpki-system.md §1.6 for the PINs and 照合番号B; where the
    #: sources are silent (照合番号A, the birth-date key) the card model's documented choice, 10
    #: (docs/card-model.md). tests/test_card_map.py keeps it equal to applet_model's.
    max_tries: int

    @property
    def aid(self) -> bytes:
        return aids.APPLICATIONS[self.ap]


AUTH_PIN = Secret("auth-pin", "auth PIN (利用者証明用電子証明書の暗証番号)", "jpki", 0x0018,
                  Format.DIGITS_4, "MYNACARD_AUTH_PIN", MUNICIPAL_OFFICE, 3)
SIGN_PASSWORD = Secret("sign-password", "signing password (署名用電子証明書の暗証番号)", "jpki",
                       0x001B, Format.SIGN_PASSWORD, "MYNACARD_SIGN_PASSWORD",
                       "reset it at the municipal office (市区町村窓口) with the card", 5)
TEXT_PIN = Secret("text-pin", "card-info PIN (券面事項入力補助用暗証番号)", "text", 0x0011,
                  Format.DIGITS_4, "MYNACARD_TEXT_PIN", MUNICIPAL_OFFICE, 3)
TEXT_CODE_A = Secret("text-code-a", "照合番号A (My Number) of the card-info AP", "text", 0x0014,
                     Format.MY_NUMBER, "MYNACARD_CODE_A",
                     "the card-info AP can no longer be opened with the My Number; use the "
                     "card-info PIN, or ask the municipal office", 10)
TEXT_CODE_B = Secret("text-code-b", "照合番号B of the card-info AP", "text", 0x0015,
                     Format.CODE_B, "MYNACARD_CODE_B",
                     "the card-info AP can no longer be opened with 照合番号B; use the card-info "
                     "PIN, or ask the municipal office", 10)
VISUAL_CODE_A = Secret("visual-code-a", "照合番号A (My Number) of the card-face AP", "visual",
                       0x0013, Format.MY_NUMBER, "MYNACARD_CODE_A",
                       "the card face can no longer be read with the My Number; try 照合番号B, "
                       "or ask the municipal office", 10)
VISUAL_CODE_B = Secret("visual-code-b", "照合番号B of the card-face AP", "visual", 0x0012,
                       Format.CODE_B, "MYNACARD_CODE_B",
                       "the card face can no longer be read with 照合番号B; try the My Number "
                       "(照合番号A), or ask the municipal office", 10)
BIRTH_KEY = Secret("birth-key", "birth-date key (生年月日) of the card-face AP", "visual", 0x0011,
                   Format.BIRTH_KEY, "MYNACARD_BIRTH_KEY",
                   "the age record can no longer be read; ask the municipal office", 10)
COMMON_PIN = Secret("common-pin", "card PIN of the common AP (共通AP 暗証番号)", "common", 0x001C,
                    Format.DIGITS_4, "MYNACARD_COMMON_PIN", MUNICIPAL_OFFICE, 3)
JUKI_PIN = Secret("juki-pin", "resident-registry PIN (住基AP 暗証番号)", "juki", 0x001C,
                  Format.DIGITS_4, "MYNACARD_JUKI_PIN", MUNICIPAL_OFFICE, 3)

#: Every secret, in the order `status` shows them.
SECRETS: tuple[Secret, ...] = (AUTH_PIN, SIGN_PASSWORD, TEXT_PIN, TEXT_CODE_A, TEXT_CODE_B,
                               VISUAL_CODE_A, VISUAL_CODE_B, BIRTH_KEY, COMMON_PIN, JUKI_PIN)
BY_KEY: dict[str, Secret] = {s.key: s for s in SECRETS}

#: Called with the secret when only one try is left; True = go ahead and spend it.
LastTryHook = Callable[[Secret], bool]

_SIGN_PASSWORD_RE = re.compile(r"[A-Z0-9]{6,16}")
_DIGITS_RE = re.compile(r"[0-9]+")


def normalize(secret: Secret, value: str, *, new: bool = False) -> bytes:
    """The ASCII bytes the card expects, or `PinFormatError` naming the secret and the format.

    Full-width digits and letters (全角) are accepted and folded (NFKC); the signing password is
    upper-cased as the card stores it in upper case (CI §6.1); spaces and hyphens are dropped
    from the long card-face numbers, which are printed in groups. The message never repeats the
    value.
    """
    text = unicodedata.normalize("NFKC", value).strip()
    fmt = secret.format
    if fmt in (Format.MY_NUMBER, Format.CODE_B, Format.BIRTH_KEY):
        text = re.sub(r"[\s\-]", "", text)
    if fmt is Format.SIGN_PASSWORD:
        text = text.upper()
        if not _SIGN_PASSWORD_RE.fullmatch(text):
            raise PinFormatError(f"the {secret.label} must be {fmt.value}; nothing was sent to "
                                 f"the card")
        if new and not (re.search(r"[A-Z]", text) and re.search(r"[0-9]", text)):
            raise PinFormatError(f"a new {secret.label} needs at least one letter and one digit; "
                                 f"nothing was sent to the card")
        return text.encode("ascii")
    length = {Format.DIGITS_4: 4, Format.MY_NUMBER: 12, Format.CODE_B: 14,
              Format.BIRTH_KEY: 6}[fmt]
    if not (_DIGITS_RE.fullmatch(text) and text.isascii() and len(text) == length):
        raise PinFormatError(f"the {secret.label} must be {fmt.value}; nothing was sent to the "
                             f"card")
    if fmt is Format.MY_NUMBER and not my_number.is_valid(text):
        raise PinFormatError(f"the {secret.label} has a wrong check digit, so it cannot be a My "
                             f"Number (check for a typo); nothing was sent to the card")
    return text.encode("ascii")


def refuse_last_try(secret: Secret) -> bool:
    """The default hook: a library never spends a last try nobody confirmed."""
    return False


class PinGuard:
    """The only way the host sends a VERIFY with data (see the module docstring)."""

    def __init__(self, channel: CardChannel, on_last_try: LastTryHook | None = None) -> None:
        self.channel = channel
        self.on_last_try = on_last_try or refuse_last_try

    def _select(self, secret: Secret) -> None:
        doing = f"selecting the {secret.label}"
        self.channel.ensure_ap(secret.aid, doing)
        self.channel.select_ef(secret.ef, doing)

    def tries_left(self, secret: Secret) -> int | None:
        """Tries left, from VERIFY without data (spends none). Some cards answer `9000` instead of
        a count while the secret is verified (CI §3, §12 `verify-query`): it was verified in this
        session, and a correct VERIFY restores the counter, so that is the maximum where the secret
        has one (None where it does not)."""
        self._select(secret)
        response = self.channel.send(Command(0x00, 0x20, 0x00, 0x80))
        if is_tries_left(response.sw):
            return tries_left(response.sw)
        if response.sw == SW.AUTHENTICATION_METHOD_BLOCKED:
            return 0
        if response.ok:
            return secret.max_tries
        raise error_for_sw(response.sw, f"reading the tries left of the {secret.label}")

    def verify(self, secret: Secret, value: str) -> None:
        """Verify `value` for `secret`, spending a try only if everything above allows it."""
        data = normalize(secret, value)
        self._verify_bytes(secret, data)

    def _verify_bytes(self, secret: Secret, data: bytes) -> None:
        left = self.tries_left(secret)
        if left == 0:
            raise PinBlocked(secret, SW.TRIES_LEFT_0)
        if left == 1 and not self.on_last_try(secret):
            raise LastTryDeclined(
                f"the {secret.label} has only 1 try left and spending it was not confirmed, so "
                f"nothing was sent; a wrong value would block it ({secret.blocked_advice})")
        response = self.channel.send(Command(0x00, 0x20, 0x00, 0x80, data))
        if response.ok:
            return
        if is_tries_left(response.sw):
            left = tries_left(response.sw)
            if left == 0:
                raise PinBlocked(secret, response.sw, just_now=True)
            raise PinWrong(secret, left, response.sw)
        if response.sw == SW.AUTHENTICATION_METHOD_BLOCKED:
            raise PinBlocked(secret, response.sw)
        raise error_for_sw(response.sw, f"verifying the {secret.label}")

    def change(self, secret: Secret, old: str, new: str) -> None:
        """VERIFY the old value, then set the new one: CHANGE REFERENCE DATA `00 24 01 80` for
        JPKI and the card-info AP, CHANGE KEY `80 32 00 80` for the 001C PINs (CI §2, §9).
        Both formats are checked before anything is sent."""
        if secret.format not in (Format.DIGITS_4, Format.SIGN_PASSWORD):
            raise PinFormatError(f"the {secret.label} is printed on the card and cannot be changed")
        old_data = normalize(secret, old)
        new_data = normalize(secret, new, new=True)
        self._verify_bytes(secret, old_data)
        if secret.ef == 0x001C:
            command = Command(0x80, 0x32, 0x00, 0x80, new_data)
        else:
            command = Command(0x00, 0x24, 0x01, 0x80, new_data)
        response = self.channel.send(command)
        if not response.ok:
            raise error_for_sw(response.sw, f"changing the {secret.label} (the old value was "
                                            f"accepted and is still set)")
