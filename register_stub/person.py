"""What a card is made from: the person, the card's own facts, and the four PINs.

Everything is validated when the objects are built, before any key is generated, so that a bad
input never leaves a half-made card behind. Error messages name the field, never the value.

Demo defaults (documented in docs/test-authority.md and the README): 見本 花子, born 1985-04-12
(昭和60), female, 東京都千代田区見本町１－２－３ (見本町 is fictional), My Number 123456789018 (the
worked example of jpki-system.md §4.1), security code 2468, card expiry 2036-04-12, PINs 1234 and
signing password ABC123.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from mynacard.ca.era import ERA_STARTS, era_yymmdd
from mynacard.ca.personal_data import IDEOGRAPHIC_SPACE, SEX_CODES
from mynacard.ca.validity import JST
from mynacard.register_stub import demo_values, my_number
from mynacard.register_stub.errors import IssuanceError
from mynacard.register_stub.municipalities import Municipality, municipality

SIGNING_PASSWORD = re.compile(r"[A-Z0-9]{6,16}")
FOUR_DIGITS = re.compile(r"[0-9]{4}")
CARD_SERIAL_DIGITS = 15
MEIJI_START = ERA_STARTS[-1][1]


def to_full_width(text: str) -> str:
    """Printable ASCII to its full-width form (`1-2` -> `１－２`, space -> U+3000).

    The register writes addresses in full-width characters and the card stores them so
    (card-interface.md §7.2: "住所 UTF-8 (full-width digits)"; a test card has `１２－７－２０２`).
    """
    return "".join(
        IDEOGRAPHIC_SPACE if c == " " else chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text
    )


def today_in_japan() -> date:
    return datetime.now(JST).date()


@dataclass(frozen=True)
class Person:
    """A resident as the register knows them (住基法 第7条 items the card carries)."""

    family_name: str
    given_name: str
    address: str
    birth_date: date
    sex: str  # "1" male, "2" female, "3" unknown (jpki-system.md §1.2, §7)
    my_number: str
    municipality_code: str
    city_roman: str | None = None

    def __post_init__(self) -> None:
        for what, part in (("family name", self.family_name), ("given name", self.given_name)):
            if not part or part != part.strip() or any(c.isspace() for c in part):
                raise IssuanceError(f"the {what} must be non-empty and contain no spaces")
        if self.sex not in SEX_CODES:
            raise IssuanceError("sex must be 1 (male), 2 (female) or 3 (unknown)")
        if not MEIJI_START <= self.birth_date < today_in_japan():
            raise IssuanceError("the birth date must be in the past and not before 1868-01-25 (Meiji 1)")
        era_yymmdd(self.birth_date)
        my_number.validate(self.my_number)
        place = self.municipality
        if not self.card_address.startswith(place.prefecture):
            raise IssuanceError(
                f"the address must start with the prefecture of municipality {place.code} "
                f"({place.prefecture}), as the register writes it"
            )

    @property
    def name(self) -> str:
        """氏名 as the card stores it: family and given name separated by U+3000 (CI §7.2)."""
        return f"{self.family_name}{IDEOGRAPHIC_SPACE}{self.given_name}"

    @property
    def card_address(self) -> str:
        """住所 as the card stores it, in full-width characters."""
        return to_full_width(self.address.strip())

    @property
    def municipality(self) -> Municipality:
        return municipality(self.municipality_code, self.city_roman)


@dataclass(frozen=True)
class CardDetails:
    """Facts of the card itself rather than of the person."""

    card_expiry: date
    security_code: str  # the 4 digits printed on the card face (照合番号B's last four)
    photo: bytes | None = None  # any image file Pillow reads; None = a generated demo photo
    card_serial: str | None = None  # 15 digits; None = a random one starting with 9

    def __post_init__(self) -> None:
        if not FOUR_DIGITS.fullmatch(self.security_code):
            raise IssuanceError("the security code must be exactly 4 digits")
        if self.card_expiry <= today_in_japan():
            raise IssuanceError("the card expiry date must be in the future")
        if self.card_serial is not None and (
            len(self.card_serial) != CARD_SERIAL_DIGITS or not self.card_serial.isdigit()
        ):
            raise IssuanceError("a card serial number is 15 digits")


@dataclass(frozen=True)
class CardPins:
    """The four secrets the holder sets (jpki-system.md §1.6)."""

    auth_pin: str
    sign_password: str
    text_pin: str
    juki_pin: str  # 住基/共通 PIN: one value for both 共通AP and 住基AP `001C` (CI §9)

    def __post_init__(self) -> None:
        for what, value in (
            ("auth PIN", self.auth_pin),
            ("text-AP PIN", self.text_pin),
            ("住基/共通 PIN", self.juki_pin),
        ):
            if not FOUR_DIGITS.fullmatch(value):
                raise IssuanceError(f"the {what} must be exactly 4 digits")
        password = self.sign_password
        if not SIGNING_PASSWORD.fullmatch(password):
            raise IssuanceError(
                "the signing password must be 6 to 16 characters from A-Z (capitals) and 0-9"
            )
        if not (any(c.isalpha() for c in password) and any(c.isdigit() for c in password)):
            raise IssuanceError("the signing password must contain at least one letter and one digit")

    def __repr__(self) -> str:  # never show PINs in a traceback or a log line
        return "CardPins(…)"


def verification_code_b(birth_date: date, card_expiry: date, security_code: str) -> str:
    """照合番号B: era `YYMMDD` of the birth date + expiry year + security code (14 digits).

    card-interface.md §12, jpki-system.md §1.6: 1980-02-17, 2035, `2285` -> `55021720352285`.
    """
    return f"{era_yymmdd(birth_date)}{card_expiry.year:04d}{security_code}"


DEMO_PERSON = Person(
    family_name=demo_values.DEMO_FAMILY_NAME,
    given_name=demo_values.DEMO_GIVEN_NAME,
    address=demo_values.DEMO_ADDRESS,
    birth_date=demo_values.DEMO_BIRTH_DATE,
    sex=demo_values.DEMO_SEX,
    my_number=demo_values.DEMO_MY_NUMBER,
    municipality_code=demo_values.DEMO_MUNICIPALITY_CODE,
)
DEMO_SECURITY_CODE = demo_values.DEMO_SECURITY_CODE
DEMO_CARD_EXPIRY = demo_values.DEMO_CARD_EXPIRY
DEMO_PINS = CardPins(auth_pin="1234", sign_password="ABC123", text_pin="1234", juki_pin="1234")
