"""住民票コード (resident record code): 10 digits and a check digit (jpki-system.md §4.2).

The statutory formula is in 平成14年総務省告示第436号, whose text we have not seen (§10 lists it
as an open point). Our choice, documented in docs/register.md: the same modulus-11 rule as the
My Number (§4.1) over ten digits — weights 2,3,4,5,6,7,2,3,4,5 read from the rightmost base
digit, R = Σ digit·weight mod 11, check digit 0 when R ≤ 1 and 11 − R otherwise. Public sample
data fits it: base `2472705960` gives sum 179, R = 3, check 8, code `24727059608`.
"""

from __future__ import annotations

from mynacard.codec.errors import CodecError

BASE_DIGITS = 10
WEIGHTS_FROM_RIGHT = (2, 3, 4, 5, 6, 7, 2, 3, 4, 5)


def check_digit(base: str) -> int:
    """The check digit of ten base digits, e.g. `2472705960` -> 8."""
    if len(base) != BASE_DIGITS or not base.isascii() or not base.isdigit():
        raise CodecError("a 住民票コード has 10 base digits before its check digit")
    total = sum(int(digit) * weight for digit, weight in zip(reversed(base), WEIGHTS_FROM_RIGHT, strict=True))
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def make(base: int) -> str:
    """The 11-digit code for a base number 0 ≤ base < 10¹⁰ (zero-padded, check digit appended)."""
    if not 0 <= base < 10**BASE_DIGITS:
        raise CodecError("a 住民票コード base is a number below 10,000,000,000")
    text = f"{base:010d}"
    return text + str(check_digit(text))


def is_valid(code: str) -> bool:
    """True for 11 ASCII digits whose last is the check digit of the first ten."""
    return (
        len(code) == BASE_DIGITS + 1
        and code.isascii()
        and code.isdigit()
        and check_digit(code[:BASE_DIGITS]) == int(code[BASE_DIGITS])
    )


def validate(code: str) -> str:
    """Return `code` if valid; raise CodecError (naming the problem, never the value)."""
    if len(code) != BASE_DIGITS + 1 or not code.isascii() or not code.isdigit():
        raise CodecError("a 住民票コード is exactly 11 digits")
    if not is_valid(code):
        raise CodecError("the 住民票コード's last digit is not its check digit")
    return code
