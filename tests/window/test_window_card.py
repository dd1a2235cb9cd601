"""The window's card access without a browser: `--card DIR` in-process (like `mynacard card
--card`), and a pull noticed by the transport rather than guessed from failed checks (the browser
journeys in test_window_card_check.py cover both through pcscd)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mynacard.emulator.demo import copy_card, packaged_demo_card
from mynacard.host.errors import CardRemoved
from mynacard.window.card import WatchedTransport, open_card, pulled, transport_spec
from mynacard.window.config import WindowConfig


def test_a_card_image_is_used_in_process(tmp_path: Path) -> None:
    card_dir = copy_card(packaged_demo_card(), tmp_path / "card")
    config = WindowConfig(card_dir=card_dir)
    assert transport_spec(config) == f"emulator:{card_dir}"
    with open_card(config) as card:
        tries = {s.secret.key: s.tries_left for s in card.status().secrets}
        assert pulled(card) is None
    assert tries["visual-code-b"] == 10 and tries["auth-pin"] == 3


class _Pulled:
    name = "test reader"
    atr = b"\x3b\x00"
    extended_length = False

    def transmit(self, apdu: bytes) -> bytes:
        raise CardRemoved("the card was removed")

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_the_first_transport_failure_is_remembered() -> None:
    watched = WatchedTransport(_Pulled())
    with pytest.raises(CardRemoved):
        watched.transmit(b"\x00\xa4\x04\x00")
    assert isinstance(watched.failure, CardRemoved)
