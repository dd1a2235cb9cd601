"""The APDU layer over transports that behave like different readers: short-only, refusing
extended APDUs, answering 61xx, losing the card. Plus `open_transport` and `status`."""

from __future__ import annotations

import math

import pytest

from mynacard.host.card import MyNumberCard
from mynacard.host.errors import CardRemoved, TransportError
from mynacard.host.jpki import Certificate
from mynacard.host.trace import TracingTransport
from mynacard.host.transport import available_schemes, open_transport


class ReaderLike:
    """Wraps the in-process transport to act like a particular reader."""

    def __init__(self, inner, *, extended: bool, refuse_extended: bool = False,
                 chain_61: bool = False) -> None:
        self.inner, self.name = inner, inner.name
        self._extended, self._refuse, self._chain = extended, refuse_extended, chain_61
        self._pending = b""

    atr = property(lambda self: self.inner.atr)
    extended_length = property(lambda self: self._extended)

    def transmit(self, apdu: bytes) -> bytes:
        if self._refuse and apdu[1] == 0xB0 and len(apdu) == 7:  # READ BINARY, extended Le
            raise TransportError("reader: extended APDUs not supported")
        if self._chain and apdu[1] == 0xC0:
            out, self._pending = self._pending[: apdu[4] or 256], self._pending[apdu[4] or 256:]
            return out + (b"\x61" + bytes([min(len(self._pending), 255)])
                          if self._pending else b"\x90\x00")
        response = self.inner.transmit(apdu)
        if self._chain and apdu[1] == 0xB0 and len(response) > 66:
            # Give the first 64 bytes, then make the host fetch the rest with GET RESPONSE.
            self._pending = response[64:-2]
            return response[:64] + b"\x61" + bytes([min(len(self._pending), 255)])
        return response

    def reset(self) -> None:
        self.inner.reset()

    def close(self) -> None:
        self.inner.close()


def _reference(card_dir) -> dict[Certificate, bytes]:
    with MyNumberCard(open_transport(f"emulator:{card_dir}")) as card:
        return {c: card.jpki.certificate(c) for c in (Certificate.AUTH, Certificate.SIGN_CA)}


def test_short_only_reader_reads_in_minimum_chunks(card_dir) -> None:
    """CI §13 A: 256-byte chunks at P1-P2 offsets, last one short: ⌈n/256⌉ READs per object."""
    expected = _reference(card_dir)
    traced = TracingTransport(ReaderLike(open_transport(f"emulator:{card_dir}"), extended=False))
    with MyNumberCard(traced) as card:
        for which, der in expected.items():
            traced.entries.clear()
            assert card.jpki.certificate(which) == der
            reads = traced.sent(0xB0)
            assert len(reads) == math.ceil(len(der) / 256)
            assert all(len(e.command) == 5 for e in reads)  # short APDUs only
            offsets = [int.from_bytes(e.command[2:4], "big") for e in reads]
            assert offsets == [256 * i for i in range(len(reads))]


def test_reader_refusing_extended_falls_back_to_short(card_dir) -> None:
    expected = _reference(card_dir)
    inner = ReaderLike(open_transport(f"emulator:{card_dir}"), extended=True, refuse_extended=True)
    with MyNumberCard(inner) as card:
        assert card.channel.extended
        assert card.jpki.certificate(Certificate.AUTH) == expected[Certificate.AUTH]
        assert not card.channel.extended  # remembered for the rest of the session
        assert card.jpki.certificate(Certificate.SIGN_CA) == expected[Certificate.SIGN_CA]


def test_get_response_chaining(card_dir) -> None:
    """CI §2: clients handle 61xx generically with GET RESPONSE 00 C0 00 00 xx."""
    expected = _reference(card_dir)
    traced = TracingTransport(ReaderLike(open_transport(f"emulator:{card_dir}"), extended=False,
                                         chain_61=True))
    with MyNumberCard(traced) as card:
        assert card.jpki.certificate(Certificate.AUTH) == expected[Certificate.AUTH]
        assert traced.sent(0xC0) and card.count_summary()["GET RESPONSE"] == len(traced.sent(0xC0))


def test_card_removed_mid_session(card, traced, demo) -> None:
    """A transport raising ConnectionError (the emulator's card-removed) becomes CardRemoved,
    and the channel forgets what was selected."""
    card.text.verify_pin(demo.text_pin)

    def gone(apdu: bytes) -> bytes:
        raise ConnectionError("card pulled out")

    traced.inner.transmit = gone
    with pytest.raises(CardRemoved, match="put it back"):
        card.text.my_number()
    assert card.channel.current_aid is None and card.channel.current_ef is None


def test_open_transport_errors() -> None:
    assert {"pcsc", "emulator"} <= set(available_schemes())
    with pytest.raises(TransportError, match="no scheme"):
        open_transport("/some/dir")
    with pytest.raises(TransportError, match="known schemes are pcsc, emulator"):
        open_transport("bluetooth:card")


def test_status_spends_nothing(card, traced, reopen) -> None:
    """`status`: five APs, ten counters, only VERIFY without data — run twice, same numbers."""
    first = card.status()
    assert all(first.applications.values()) and len(first.applications) == 5
    assert {s.secret.key: s.tries_left for s in first.secrets} == {
        "auth-pin": 3, "sign-password": 5, "text-pin": 3, "text-code-a": 10, "text-code-b": 10,
        "visual-code-a": 10, "visual-code-b": 10, "birth-key": 10, "common-pin": 3, "juki-pin": 3}
    assert all(e.command == bytes.fromhex("00200080") for e in traced.sent(0x20))
    with reopen() as again:
        assert [s.tries_left for s in again.status().secrets] == [s.tries_left for s in first.secrets]


def test_status_shows_a_spent_try(card) -> None:
    from mynacard.host.errors import PinWrong

    with pytest.raises(PinWrong):
        card.text.verify_pin("0000")
    text_pin = next(s for s in card.status().secrets if s.secret.key == "text-pin")
    assert (text_pin.tries_left, text_pin.state) == (2, "ok")


def test_open_by_spec(card_dir) -> None:
    with MyNumberCard.open(f"emulator:{card_dir}") as card:
        assert card.name == f"emulator:{card_dir}"
        assert card.jpki.token_info().is_my_number_card
