"""card.common and card.juki against the demo card in-process (CI §9)."""

from __future__ import annotations

from mynacard.host.pins import COMMON_PIN, JUKI_PIN


def test_card_identity_needs_no_pin(card, traced) -> None:
    """CI §9: 共通AP EF 0001 record 1 = 01 1C + serial(15) + municipality(5) + expiry(8)."""
    identity = card.common.card_identity()
    assert len(identity.serial) == 15 and identity.serial.isdigit()
    assert identity.municipality_code == card.visual.basic_info().municipality_code
    assert len(identity.expiry) == 8
    assert identity.raw[:2] == b"\x01\x1c"
    assert traced.sent(0x20) == []  # no VERIFY at all
    assert [e.command[:4] for e in traced.sent(0xB2)] == [bytes.fromhex("00B20104")]


def test_key_references(card) -> None:
    assert len(card.common.key_reference()) == 16
    assert card.juki.key_reference() == card.common.key_reference()


def test_change_both_001c_pins_with_change_key(card, reopen, demo, traced) -> None:
    """CI §2/§9: CHANGE KEY 80 32 00 80 after VERIFY; the two 001C PINs are separate."""
    card.common.change_pin(demo.juki_pin, "5555")
    assert [e.command[:4] for e in traced.sent(0x32)] == [bytes.fromhex("80320080")]
    with reopen() as again:
        again.common.verify_pin("5555")
        again.juki.verify_pin(demo.juki_pin)  # the 住基AP PIN did not change
        again.juki.change_pin(demo.juki_pin, "6666")
    with reopen() as third:
        third.juki.verify_pin("6666")
        assert third.pins.tries_left(COMMON_PIN) == third.pins.tries_left(JUKI_PIN) == 3
