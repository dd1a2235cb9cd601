"""My Numbers (個人番号) for the cards this stub issues: validation with a sentence a person can
act on, and random test numbers. The check digit itself is mynacard.codec.my_number's
(jpki-system.md §4.1)."""

from __future__ import annotations

import secrets

from mynacard.codec import my_number
from mynacard.codec.errors import CodecError
from mynacard.register_stub.errors import IssuanceError


class MyNumberError(IssuanceError):
    """A My Number that is not one. The message never contains the number itself."""


def check_digit(base: str) -> int:
    """The check digit for 11 base digits, e.g. `12345678901` -> 8."""
    try:
        return my_number.check_digit(base)
    except CodecError as exc:
        raise MyNumberError(str(exc)) from None


def validate(number: str) -> str:
    """Return `number` if it is 12 digits with a correct check digit; raise otherwise."""
    try:
        return my_number.validate(number)
    except CodecError as exc:
        raise MyNumberError(str(exc)) from None


def generate() -> str:
    """A random My Number with a valid check digit (test cards only: the real ones are
    derived by J-LIS from the 住民票コード, jpki-system.md §4.3)."""
    base = "".join(secrets.choice("0123456789") for _ in range(11))
    return base + str(check_digit(base))
