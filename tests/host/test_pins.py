"""PIN safety, proved from host's APDU trace (CI §3, §13 B/F)."""

from __future__ import annotations

import pytest

from mynacard.host.jpki import Key
from mynacard.host.errors import LastTryDeclined, PinBlocked, PinFormatError, PinWrong
from mynacard.host.pins import (
    AUTH_PIN,
    BIRTH_KEY,
    SECRETS,
    SIGN_PASSWORD,
    TEXT_CODE_A,
    TEXT_CODE_B,
    VISUAL_CODE_B,
    Format,
)

WRONG_FORMAT = {
    Format.DIGITS_4: "12345",
    Format.SIGN_PASSWORD: "AB1",
    Format.MY_NUMBER: "123456789017",  # bad check digit
    Format.CODE_B: "1234567890123",
    Format.BIRTH_KEY: "1985041",
}


@pytest.mark.parametrize("secret", SECRETS, ids=lambda s: s.key)
def test_wrong_format_is_refused_before_any_apdu(card, traced, secret) -> None:
    """Not one APDU — not even the SELECT or the tries query — for a malformed secret."""
    with pytest.raises(PinFormatError):
        card.pins.verify(secret, WRONG_FORMAT[secret.format])
    assert traced.entries == []


def test_wrong_format_for_a_change_sends_nothing(card, traced, demo) -> None:
    with pytest.raises(PinFormatError, match="at least one letter and one digit"):
        card.jpki.change_signing_password(demo.sign_password, "ONLYLETTERS")
    with pytest.raises(PinFormatError, match="printed on the card"):
        card.pins.change(TEXT_CODE_B, demo.code_b, demo.code_b)
    assert traced.entries == []


def test_tries_are_read_before_every_verify(card, traced, demo) -> None:
    """CI §13 F: VERIFY without data (63Cx) precedes each VERIFY with data, for every secret."""
    card.jpki.verify_auth_pin(demo.auth_pin)
    card.jpki.verify_signing_password(demo.sign_password)
    card.text.verify_code_b(demo.code_b)
    card.visual.verify_birth_key(demo.birth_key)
    verifies = traced.sent(0x20)
    assert len(verifies) == 8
    for query, attempt in zip(verifies[::2], verifies[1::2], strict=True):
        assert query.command == bytes.fromhex("00200080") and query.sw >> 4 == 0x63C
        assert attempt.command_redacted and attempt.sw == 0x9000


def test_wrong_pin_counts_down_and_never_retries(card, traced) -> None:
    """A wrong value is sent once; the error names the secret and the tries, never the value."""
    with pytest.raises(PinWrong) as caught:
        card.jpki.verify_auth_pin("0000")
    assert caught.value.tries_left == 2 and caught.value.sw == 0x63C2
    assert str(caught.value).endswith("wrong: 2 tries left") and "auth PIN" in str(caught.value) and "0000" not in str(caught.value)
    assert [e.command_redacted for e in traced.sent(0x20)] == [0, 4]  # one query, one attempt
    with pytest.raises(PinWrong) as caught:
        card.jpki.verify_auth_pin("0000")
    assert caught.value.tries_left == 1 and "one more wrong attempt blocks it" in str(caught.value)


def test_last_try_needs_confirmation(card, traced, reopen, demo) -> None:
    """With one try left, nothing is sent unless the hook agrees (default: refuse)."""
    for _ in range(2):
        with pytest.raises(PinWrong):
            card.jpki.verify_auth_pin("0000")
    traced.entries.clear()
    with pytest.raises(LastTryDeclined, match="only 1 try left"):
        card.jpki.verify_auth_pin(demo.auth_pin)
    assert [e.command_redacted for e in traced.sent(0x20)] == [0]  # the query only

    asked = []
    with reopen(on_last_try=lambda s: asked.append(s) or True) as confirmed:
        confirmed.jpki.verify_auth_pin(demo.auth_pin)
        assert asked == [AUTH_PIN]
        assert confirmed.jpki.tries_left(Key.AUTH) == 3  # a success resets the counter


def test_blocked_secret_is_refused_without_sending(reopen, demo) -> None:
    """CI §3: the exhausting try answers 63C0; afterwards the guard refuses without a VERIFY,
    and the error tells the holder what to do."""
    with reopen(on_last_try=lambda s: True) as card:
        for _ in range(2):
            with pytest.raises(PinWrong):
                card.jpki.verify_auth_pin("0000")
        with pytest.raises(PinBlocked) as caught:
            card.jpki.verify_auth_pin("0000")
        assert "that was the last try" in str(caught.value)
        assert "municipal office" in str(caught.value)
        card.transport.entries.clear()
        with pytest.raises(PinBlocked, match=r"auth PIN .* blocked"):
            card.jpki.verify_auth_pin(demo.auth_pin)  # even the right PIN is not sent
        assert [e.command_redacted for e in card.transport.sent(0x20)] == [0]


def test_signing_password_has_five_tries(card) -> None:
    assert card.pins.tries_left(SIGN_PASSWORD) == 5
    with pytest.raises(PinWrong) as caught:
        card.jpki.verify_signing_password("WRONG1")
    assert caught.value.tries_left == 4


def test_wrong_code_b_and_birth_key(card) -> None:
    before = card.pins.tries_left(VISUAL_CODE_B)
    with pytest.raises(PinWrong):
        card.visual.verify_code_b("60041220369999")
    assert card.pins.tries_left(VISUAL_CODE_B) == before - 1
    with pytest.raises(PinWrong):
        card.visual.verify_birth_key("600101")
    assert card.pins.tries_left(BIRTH_KEY) == before - 1
    # each secret has its own counter: the text AP's 照合番号A is untouched
    assert card.pins.tries_left(TEXT_CODE_A) == before


def test_refusal_seen_from_the_emulators_own_trace(inprocess_transport, apdu_trace_path,
                                                   demo) -> None:
    """The same proof from the card side: the emulator's trace of this card records nothing
    for malformed secrets, and records the one good VERIFY (redacted) afterwards."""
    from mynacard.host.card import MyNumberCard

    card = MyNumberCard(inprocess_transport)
    for secret in SECRETS:
        with pytest.raises(PinFormatError):
            card.pins.verify(secret, WRONG_FORMAT[secret.format])
    before = apdu_trace_path.read_text() if apdu_trace_path.exists() else ""
    assert before.strip() == ""
    card.jpki.verify_auth_pin(demo.auth_pin)
    after = apdu_trace_path.read_text()
    assert "00200080" in after.upper() and demo.auth_pin.encode().hex() not in after.lower()
