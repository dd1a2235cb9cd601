"""My Number (個人番号) check digit, jpki-system.md §4.1 (平成26年総務省令第85号 第5条).

Twelve digits: eleven base digits and a check digit. Number the base digits P1…P11 from the
right; the weights Qn are n+1 for n ≤ 6 and n−5 for n ≥ 7 (2,3,4,5,6,7,2,3,4,5,6 from the
right); R = Σ Pn·Qn mod 11; the check digit is 0 when R ≤ 1, else 11 − R.
"""

from __future__ import annotations

import secrets

from mynacard.register_stub.errors import IssuanceError


class MyNumberError(IssuanceError):
    """A My Number that is not one. The message never contains the number itself."""


def check_digit(base: str) -> int:
    """The check digit for 11 base digits, e.g. `12345678901` -> 8."""
    if len(base) != 11 or not base.isascii() or not base.isdigit():
        raise MyNumberError("a My Number has 11 base digits before its check digit")
    total = 0
    for n, digit in enumerate(reversed(base), start=1):
        weight = n + 1 if n <= 6 else n - 5
        total += int(digit) * weight
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def validate(number: str) -> str:
    """Return `number` if it is 12 digits with a correct check digit; raise otherwise."""
    if len(number) != 12 or not number.isascii() or not number.isdigit():
        raise MyNumberError("a My Number is exactly 12 digits")
    if check_digit(number[:11]) != int(number[11]):
        raise MyNumberError(
            "the My Number's last digit is not its check digit (jpki-system.md §4.1); "
            "check for a typing mistake"
        )
    return number


def generate() -> str:
    """A random My Number with a valid check digit (test cards only: the real ones are
    derived by J-LIS from the 住民票コード, jpki-system.md §4.3)."""
    base = "".join(secrets.choice("0123456789") for _ in range(11))
    return base + str(check_digit(base))
