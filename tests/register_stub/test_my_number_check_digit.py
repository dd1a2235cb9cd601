"""My Number check digit, jpki-system.md §4.1 (平成26年総務省令第85号 第5条)."""

from __future__ import annotations

import pytest

from mynacard.register_stub import my_number
from mynacard.register_stub.my_number import MyNumberError


@pytest.mark.parametrize(
    ("base", "digit"),
    [
        ("12345678901", 8),  # worked example: sum 212, R = 3, 11 - 3
        ("12345678900", 0),  # R <= 1 case: sum 210, R = 1
        ("53768667718", 8),  # the JPKI test card's number 537686677188
    ],
)
def test_worked_examples(base: str, digit: int) -> None:
    assert my_number.check_digit(base) == digit
    assert my_number.validate(base + str(digit)) == base + str(digit)


def test_every_wrong_last_digit_is_refused_without_echoing_the_number() -> None:
    for wrong in "012345679":
        number = "12345678901" + wrong
        with pytest.raises(MyNumberError) as caught:
            my_number.validate(number)
        assert number not in str(caught.value)
        assert "check digit" in str(caught.value)


@pytest.mark.parametrize("number", ["12345678901", "1234567890189", "12345678901X", "１２３４５６７８９０１８", ""])
def test_malformed_numbers_are_refused(number: str) -> None:
    with pytest.raises(MyNumberError, match="12 digits"):
        my_number.validate(number)


def test_generated_numbers_are_valid() -> None:
    numbers = {my_number.generate() for _ in range(200)}
    assert len(numbers) > 190
    for number in numbers:
        assert my_number.validate(number) == number
