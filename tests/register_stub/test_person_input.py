"""Input validation before anything is generated: PIN formats (jpki-system.md §1.6), My Number
(§4.1), dates, municipality; and the derived secrets 照合番号B / birth key (CI §8, §12)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from mynacard.register_stub.errors import IssuanceError
from mynacard.register_stub.person import (
    DEMO_PERSON,
    DEMO_PINS,
    CardDetails,
    CardPins,
    to_full_width,
    today_in_japan,
    verification_code_b,
)


def test_verification_code_b_of_the_test_card() -> None:
    """CI §12 / jpki-system.md §1.6: 1980-02-17 (昭和55), expiry 2035, code 2285 -> 55021720352285."""
    assert verification_code_b(date(1980, 2, 17), date(2035, 2, 17), "2285") == "55021720352285"


def test_demo_values_are_the_documented_ones() -> None:
    assert DEMO_PERSON.my_number == "123456789018"
    assert DEMO_PERSON.name == "見本\u3000花子"
    assert verification_code_b(DEMO_PERSON.birth_date, date(2036, 4, 12), "2468") == "60041220362468"
    assert (DEMO_PINS.auth_pin, DEMO_PINS.sign_password, DEMO_PINS.text_pin, DEMO_PINS.juki_pin) == (
        "1234", "ABC123", "1234", "1234",
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("auth_pin", "123", "auth PIN must be exactly 4 digits"),
        ("auth_pin", "12a4", "auth PIN must be exactly 4 digits"),
        ("text_pin", "12345", "text-AP PIN"),
        ("juki_pin", "", "住基/共通 PIN"),
        ("sign_password", "abc123", "A-Z"),  # lowercase
        ("sign_password", "AB12", "6 to 16"),
        ("sign_password", "A" * 16 + "1", "6 to 16"),
        ("sign_password", "ABCDEF", "one letter and one digit"),
        ("sign_password", "123456", "one letter and one digit"),
        ("sign_password", "ABC-123", "A-Z"),
    ],
)
def test_pin_formats(field: str, value: str, message: str) -> None:
    """§1.6: auth/text/住基 PINs 4 digits; signing password 6–16 of A–Z0–9 with a letter and a digit."""
    with pytest.raises(IssuanceError, match=message) as caught:
        replace(DEMO_PINS, **{field: value})
    if value:
        assert value not in str(caught.value)


def test_pins_never_show_in_repr() -> None:
    assert "1234" not in repr(DEMO_PINS) and "ABC123" not in repr(DEMO_PINS)


def test_longest_and_shortest_signing_passwords_are_accepted() -> None:
    assert replace(DEMO_PINS, sign_password="A1B2C3D4E5F6G7H8").sign_password == "A1B2C3D4E5F6G7H8"
    assert CardPins("0000", "Z9Z9Z9", "9999", "0001").sign_password == "Z9Z9Z9"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"my_number": "123456789012"}, "check digit"),
        ({"birth_date": today_in_japan() + timedelta(days=1)}, "birth date"),
        ({"birth_date": date(1868, 1, 24)}, "birth date"),
        ({"sex": "9"}, "sex"),
        ({"family_name": ""}, "family name"),
        ({"given_name": "花 子"}, "given name"),
        ({"address": "大阪府大阪市北区1-1"}, "prefecture of municipality 13101"),
        ({"municipality_code": "99101"}, "prefecture code"),
        ({"municipality_code": "1310"}, "5 digits"),
        ({"municipality_code": "13999"}, "--city-roman"),
    ],
)
def test_person_is_validated(changes: dict, message: str) -> None:
    with pytest.raises(IssuanceError, match=message):
        replace(DEMO_PERSON, **changes)


def test_unknown_municipality_with_a_romanised_name() -> None:
    person = replace(DEMO_PERSON, municipality_code="13999", city_roman="Mihon-shi")
    assert (person.municipality.prefecture_roman, person.municipality.city_roman) == ("Tokyo-to", "Mihon-shi")


def test_address_is_stored_full_width() -> None:
    """CI §7.2: 住所 with full-width digits (a test card has １２－７－２０２)."""
    assert to_full_width("清瀬市1-2 A") == "清瀬市１－２\u3000Ａ"
    assert DEMO_PERSON.card_address == "東京都千代田区見本町１－２－３"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"security_code": "123"}, "security code"),
        ({"security_code": "12a4"}, "security code"),
        ({"card_expiry": today_in_japan()}, "future"),
        ({"card_serial": "12345"}, "15 digits"),
    ],
)
def test_card_details_are_validated(changes: dict, message: str) -> None:
    base = CardDetails(date(2036, 4, 12), "2468")
    with pytest.raises(IssuanceError, match=message):
        replace(base, **changes)
