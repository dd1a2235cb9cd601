"""Fixtures for the emulator's unit tests (the fake vpcd is in emulator_harness.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mynacard.emulator.cards import FactorySource, LoadedCard

from emulator_harness import Harness, RecordingCard


@pytest.fixture
def recording_card() -> RecordingCard:
    return RecordingCard()


@pytest.fixture
def harness(recording_card: RecordingCard) -> Iterator[Harness]:
    source = FactorySource(lambda: recording_card, label="recording")
    h = Harness(source)
    yield h
    h.slot.remove()


@pytest.fixture
def loaded_card_source():
    """A source whose loads are counted, each a new RecordingCard with a store that can tear."""

    class TearingStore:
        def __init__(self) -> None:
            self.torn = False

        def inject_torn_write(self) -> None:
            self.torn = True

    class PowerLost(Exception):
        pass

    class TearingCard(RecordingCard):
        def __init__(self, store: TearingStore) -> None:
            super().__init__()
            self.store = store

        def execute(self, msg: bytes) -> bytes:
            self.calls.append(msg.hex().upper())
            if self.store.torn and msg[1] == 0x20:
                raise PowerLost()
            return b"\x63\xc2"

    class Source:
        label = "tearing"

        def __init__(self) -> None:
            self.loaded: list[TearingCard] = []

        def load(self) -> LoadedCard:
            store = TearingStore()
            card = TearingCard(store)
            self.loaded.append(card)
            return LoadedCard(card, store=store, power_lost=(PowerLost,))

    return Source()
