"""The PIN pad's rules without a browser (the journeys are in test_window_issuance.py): the formats
of jpki-system.md §1.6 in one sentence each without the value, the pairing code used once and
withdrawn after ten wrong tries, the PINs taken out of memory at the issuance, and expiry."""

from __future__ import annotations

import pytest

from mynacard.window.pinpad import MAX_PAIRING_FAILURES, PAIRING_SECONDS, PinPadError, PinPadHub, check_pins

GOOD = {"auth_pin": "5791", "sign_password": "MYNA2468", "text_pin": "8024"}


def typed(**changes: str) -> dict[str, str]:
    values = {**GOOD, **changes}
    return {**values, **{f"{k}_again": v for k, v in values.items()}}


@pytest.mark.parametrize(("changes", "words"), [
    ({"auth_pin": "579"}, "auth PIN is 4 digits"),
    ({"auth_pin": "57a1"}, "auth PIN is 4 digits"),
    ({"sign_password": "MYNA"}, "6 to 16"),
    ({"sign_password": "MYNAMYNA"}, "at least one of each"),  # no digit
    ({"sign_password": "24682468"}, "at least one of each"),  # no letter
    ({"sign_password": "myna2468"}, "capital letters"),
    ({"sign_password": "MYNA2468MYNA24680"}, "6 to 16"),  # 17
    ({"text_pin": "80245"}, "card-info PIN is 4 digits"),
])
def test_each_format_problem_is_one_sentence_without_the_value(changes: dict[str, str], words: str) -> None:
    with pytest.raises(PinPadError, match=words) as refused:
        check_pins(typed(**changes))
    assert next(iter(changes.values())) not in str(refused.value)


def test_the_confirmation_must_be_the_same_and_good_pins_pass() -> None:
    with pytest.raises(PinPadError, match="signing password differ"):
        check_pins({**typed(), "sign_password_again": "MYNA2469"})
    chosen = check_pins(typed())
    assert chosen.register_pins() == {**GOOD, "juki_pin": GOOD["text_pin"]}
    assert "5791" not in repr(chosen)


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_pairing_is_once_pins_are_taken_once_and_everything_expires() -> None:
    clock = Clock()
    hub = PinPadHub(clock)
    pending = hub.start("clerk-session", "12345678901")
    code = pending.pairing_code
    assert code is not None and pending.stage == "waiting-pad"
    token = hub.pair(code)
    with pytest.raises(PinPadError):
        hub.pair(code)  # used up
    assert hub.for_pad(token) is pending and pending.stage == "waiting-pins"
    pending.pins = check_pins(typed())
    taken = hub.take_pins("clerk-session")
    assert taken is not None and taken[1].auth_pin == "5791"
    assert hub.take_pins("clerk-session") is None and pending.pins is None
    clock.now += PAIRING_SECONDS
    assert hub.for_pad(token) is None and hub.for_clerk("clerk-session") is None


def test_ten_wrong_pairing_codes_withdraw_every_unused_one() -> None:
    hub = PinPadHub()
    pending = hub.start("clerk-session", "12345678901")
    wrong = "000000" if pending.pairing_code != "000000" else "000001"
    for _ in range(MAX_PAIRING_FAILURES):
        with pytest.raises(PinPadError):
            hub.pair(wrong)
    assert pending.pairing_code is None
    with pytest.raises(PinPadError):
        hub.pair("123456")


def test_a_pending_issuance_ends_with_the_clerks_session() -> None:
    from mynacard.window.register_client import RegisterClient
    from mynacard.window.sessions import SessionStore

    store = SessionStore(10)
    session = store.open("窓口 花子", "clerk", RegisterClient("http://127.0.0.1:9", "t"), RegisterClient("http://127.0.0.1:9", "t"))
    hub = PinPadHub()
    hub.start(session.id, "12345678901").pins = check_pins(typed())
    session.on_close.append(lambda: hub.cancel(session.id))  # as screen 4 registers it
    store.close(session.id)  # logout
    assert hub.for_clerk(session.id) is None and hub.take_pins(session.id) is None
