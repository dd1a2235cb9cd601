"""card.text over secure messaging (CI §11), against the demo card in-process.

What crosses the link is recorded raw (below the host's SM layer, unredacted) to prove that the My
Number and the four facts never travel in clear.
"""

from __future__ import annotations

import json

import pytest
from test_cli import run

from mynacard.host.card import MyNumberCard
from mynacard.host.errors import CardDataError, CardError, SecureMessagingEnded, SecurityStatusNotSatisfied
from mynacard.host.records import RsaPublicKey
from mynacard.host.secure_messaging import check_sm_key
from mynacard.host.trace import TracingTransport
from mynacard.host.transport import Transport, open_transport


class RawRecorder(TracingTransport):
    """Host's tracer, also keeping every byte both ways unredacted (what crossed the link)."""

    def __init__(self, inner: Transport) -> None:
        super().__init__(inner)
        self.wire: list[tuple[bytes, bytes]] = []

    def _record(self, apdu: bytes, raw: bytes | None, seconds: float, error: str = "") -> None:
        self.wire.append((apdu, raw or b""))
        super()._record(apdu, raw, seconds, error)


@pytest.fixture
def wired(card_dir):
    recorder = RawRecorder(open_transport(f"emulator:{card_dir}"))
    card = MyNumberCard(recorder)
    card.detect()
    yield card, recorder
    card.close()


def personal_bytes(demo) -> list[bytes]:
    return [demo.my_number.encode(), demo.name.encode(), demo.address.encode(), demo.birth_date.encode()]


def test_the_my_number_and_the_four_facts_cross_only_encrypted(wired, demo) -> None:
    card, recorder = wired
    card.text.verify_pin(demo.text_pin)
    card.text.start_secure_messaging()
    assert card.text.my_number() == demo.my_number
    facts = card.text.four_facts()
    assert (facts.name, facts.address, facts.birth_date, facts.sex) == (
        demo.name, demo.address, demo.birth_date, demo.sex)
    wire = b"".join(c + r for c, r in recorder.wire)
    for value in personal_bytes(demo):
        assert value not in wire
    sm_commands = [c for c, _ in recorder.wire if c[0] == 0x08]
    assert [c[1] for c in sm_commands] == [0xA4, 0xB0, 0xA4, 0xB0]   # two SELECTs, two READs
    assert all(r[0] == 0x86 for c, r in recorder.wire if c[0] == 0x08 and c[1] == 0xB0)


def test_the_plain_read_does_show_them(wired, demo) -> None:
    """The control: without SM the same reads carry the facts in clear."""
    card, recorder = wired
    card.text.verify_pin(demo.text_pin)
    card.text.four_facts()
    assert demo.name.encode() in b"".join(r for _, r in recorder.wire)


def test_the_session_key_delivery_is_redacted_in_the_trace(card, traced, demo) -> None:
    card.text.verify_pin(demo.text_pin)
    card.text.start_secure_messaging()
    card.text.my_number()
    (entry,) = traced.sent(0xAE)
    assert entry.command == bytes.fromhex("80AE0000000100") and entry.command_redacted == 256


def test_no_session_before_the_pin(card) -> None:
    with pytest.raises(SecurityStatusNotSatisfied):
        card.text.start_secure_messaging()
    assert not card.text.secure_messaging


def test_a_lost_session_is_never_replaced_by_plain_reads(wired, demo) -> None:
    """Another AP selected: the card dropped the session; the host refuses rather than read in clear."""
    card, recorder = wired
    card.text.verify_pin(demo.text_pin)
    card.text.start_secure_messaging()
    card.jpki.auth_certificate()
    sent = len(recorder.wire)
    with pytest.raises(SecureMessagingEnded, match="session has ended"):
        card.text.my_number()
    assert len(recorder.wire) == sent


def test_an_sm_error_ends_the_session(wired, demo) -> None:
    card, recorder = wired
    card.text.verify_pin(demo.text_pin)
    card.text.start_secure_messaging()
    card.text._sm.counter -= 1  # type: ignore[union-attr]  # a host out of step: the card sees a replay
    with pytest.raises(SecureMessagingEnded, match="6988"):
        card.text.my_number()
    with pytest.raises(SecureMessagingEnded):
        card.text.four_facts()


def test_the_sm_key_is_checked_for_form() -> None:
    small = RsaPublicKey(65537, (1 << 1023) | 1, b"")
    with pytest.raises(CardDataError, match="1024-bit"):
        check_sm_key(small, "EF 0006")
    with pytest.raises(CardDataError, match="exponent"):
        check_sm_key(RsaPublicKey(2, (1 << 2047) | 1, b""), "EF 0006")


def test_cli_read_with_secure_messaging(capsys, card_dir, monkeypatch, demo, tmp_path) -> None:
    monkeypatch.setenv("MYNACARD_TEXT_PIN", demo.text_pin)
    trace = tmp_path / "trace.txt"
    code, out, err = run(capsys, "card", "read", "--card", str(card_dir), "--secure-messaging",
                         "--trace", str(trace))
    assert code == 0, err
    data = json.loads(out)
    assert data["my_number"] == demo.my_number and data["name"] == demo.name
    text = trace.read_text()
    assert "80AE0000000100 <256 bytes redacted>" in text
    assert "08A4020C13861101" in text                        # SM SELECT: short, DO 86
    sm_reads = [line for line in text.splitlines() if line.startswith("08B00000")]
    assert len(sm_reads) == 2 and all(" -> 86" in line for line in sm_reads)  # cryptograms, shown
    assert demo.my_number.encode().hex().upper() not in text and demo.name.encode().hex().upper() not in text


def test_cli_secure_messaging_needs_the_pin(capsys, card_dir) -> None:
    code, _, err = run(capsys, "card", "read", "--card", str(card_dir), "--with", "code-a",
                       "--secure-messaging")
    assert code == 2 and "--secure-messaging needs the card-info PIN" in err


class ShortOnly(TracingTransport):
    """The emulator behind a link that carries short APDUs only (as some readers do)."""

    @property
    def extended_length(self) -> bool:
        return False


def test_a_reader_without_extended_apdus_gets_a_sentence_not_a_session(card_dir, demo) -> None:
    card = MyNumberCard(ShortOnly(open_transport(f"emulator:{card_dir}")))
    try:
        card.detect()
        card.text.verify_pin(demo.text_pin)
        with pytest.raises(CardError, match="extended-length APDUs"):
            card.text.start_secure_messaging()
        assert not card.text.secure_messaging
        assert card.text.my_number() == demo.my_number  # nothing half-open: plain reads still work
    finally:
        card.close()
