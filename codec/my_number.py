"""The My Number (個人番号) check digit, jpki-system.md §4.1 (平成26年総務省令第85号 第5条).

Twelve digits: eleven base digits and a check digit. Number the base digits P1…P11 from the
right; the weights Qn are n+1 for n ≤ 6 and n−5 for n ≥ 7 (2,3,4,5,6,7,2,3,4,5,6 from the right);
R = Σ Pn·Qn mod 11; the check digit is 0 when R ≤ 1, else 11 − R.

The 住民票コード has a check digit of its own: `resident_code`.
"""

from __future__ import annotations

from mynacard.codec.errors import CodecError

BASE_DIGITS = 11
LENGTH = BASE_DIGITS + 1


def _digits(text: str, count: int) -> bool:
    return len(text) == count and text.isascii() and text.isdigit()


def check_digit(base: str) -> int:
    """The check digit for 11 base digits, e.g. `12345678901` → 8. The message of the error never
    contains the digits."""
    if not _digits(base, BASE_DIGITS):
        raise CodecError("a My Number has 11 base digits before its check digit")
    total = 0
    for n, digit in enumerate(reversed(base), start=1):
        weight = n + 1 if n <= 6 else n - 5
        total += int(digit) * weight
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_valid(number: str) -> bool:
    """True if `number` is 12 ASCII digits whose last is the check digit of the first 11."""
    return _digits(number, LENGTH) and check_digit(number[:BASE_DIGITS]) == int(number[BASE_DIGITS])


def validate(number: str) -> str:
    """Return `number` if it is a My Number; raise CodecError otherwise. The two sentences tell a
    clerk what to look at (the length, or a typing mistake the check digit caught) and never
    contain the digits: whoever hears the error must not learn the number."""
    if not _digits(number, LENGTH):
        raise CodecError("a My Number is exactly 12 digits")
    if not is_valid(number):
        raise CodecError("this is not a valid My Number (its last digit is not its check digit: "
                         "check for a typing mistake)")
    return number
