"""host's own APDU encoder, status words and secret formats (no card needed); TLV and the My Number
check digit are the codec's (tests/codec)."""

from __future__ import annotations

import pytest

from mynacard.host.apdu import Command, Response
from mynacard.host.errors import PinFormatError
from mynacard.host.pins import (
    AUTH_PIN,
    BIRTH_KEY,
    SIGN_PASSWORD,
    TEXT_CODE_A,
    TEXT_CODE_B,
    normalize,
)
from mynacard.host.sw import SW, describe, is_tries_left, tries_left


class TestApdu:
    def test_short_cases(self) -> None:
        """CI §2/§13: SELECT (case 3), READ BINARY (case 2, Le 256 = 00), VERIFY query (case 1)."""
        aid = bytes.fromhex("D392F000260100000001")
        assert Command(0, 0xA4, 4, 0x0C, aid).encode().hex().upper() == \
            "00A4040C0AD392F000260100000001"
        assert Command(0, 0xB0, 0x01, 0x00, le=256).encode() == bytes.fromhex("00B0010000")
        assert Command(0, 0x20, 0, 0x80).encode() == bytes.fromhex("00200080")
        assert Command(0x80, 0x2A, 0, 0x80, b"\x01" * 3, le=256).encode() == \
            bytes.fromhex("802A008003010101" + "00")

    def test_extended_cases(self) -> None:
        """CI §1: extended Le 00 00 00 = 65536 returns a whole EF; Lc > 255 needs extended."""
        assert Command(0, 0xB0, 0, 0, le=65536).encode(extended=True) == bytes.fromhex("00B00000000000")
        long = Command(0x80, 0x2A, 0, 0x80, bytes(300), le=256).encode()
        assert long[4:7] == bytes.fromhex("00012C") and long[-2:] == bytes.fromhex("0100")

    def test_rejects_impossible_fields(self) -> None:
        with pytest.raises(ValueError):
            Command(0, 0xB0, 0, 0, le=0).encode()
        with pytest.raises(ValueError):
            Command(0, 0x1B0, 0, 0).encode()

    def test_response(self) -> None:
        r = Response.parse(bytes.fromhex("3082063C9000"))
        assert r.data == bytes.fromhex("3082063C") and r.ok and r.sw1 == 0x90
        with pytest.raises(ValueError):
            Response.parse(b"\x90")


class TestStatusWords:
    def test_tries(self) -> None:
        assert is_tries_left(0x63C2) and tries_left(0x63C2) == 2
        assert not is_tries_left(0x6300)
        assert describe(0x6A82) == "6A82 (FILE_NOT_FOUND)"
        assert describe(SW.TRIES_LEFT_0 | 3) == "63C3 (3 tries left)"


class TestSecretFormats:
    def test_formats(self) -> None:
        assert normalize(AUTH_PIN, "１２３４") == b"1234"  # full-width digits are folded
        assert normalize(SIGN_PASSWORD, "abc123") == b"ABC123"  # the card stores upper case
        assert normalize(TEXT_CODE_A, "1234 5678 9018") == b"123456789018"
        assert normalize(TEXT_CODE_B, "60041220362468") == b"60041220362468"
        assert normalize(BIRTH_KEY, "600412") == b"600412"

    @pytest.mark.parametrize("secret, value", [
        (AUTH_PIN, "123"), (AUTH_PIN, "12345"), (AUTH_PIN, "12a4"),
        (SIGN_PASSWORD, "ABC12"), (SIGN_PASSWORD, "A" * 17), (SIGN_PASSWORD, "ABC-123"),
        (TEXT_CODE_A, "123456789017"), (TEXT_CODE_A, "12345678901"),
        (TEXT_CODE_B, "6004122036246"), (BIRTH_KEY, "19850412"),
    ])
    def test_wrong_formats_name_the_secret_not_the_value(self, secret, value) -> None:
        with pytest.raises(PinFormatError) as caught:
            normalize(secret, value)
        message = str(caught.value)
        assert secret.label in message and "nothing was sent" in message
        assert value not in message

    def test_new_signing_password_needs_letter_and_digit(self) -> None:
        assert normalize(SIGN_PASSWORD, "ABCDEF") == b"ABCDEF"  # an existing one may be letters only
        for value in ("ABCDEF", "123456"):
            with pytest.raises(PinFormatError, match="at least one letter and one digit"):
                normalize(SIGN_PASSWORD, value, new=True)
