"""Putting an issued card image onto "the card in the reader": the card encoder at the window.

In the real world the register's issuance goes to J-LIS, whose personalisation (or a card
encoder at the counter) writes keys, certificates and the card face onto a blank card, which is
then put on the clerk's reader. We cannot have that hardware, so `CardWriter` is the one
interface the window uses, and `VirtualReaderWriter` is its implementation for the emulator:
it writes the image into a directory of its own (mode 0700: it holds the card's private keys,
as the chip would) and has `mynacard emulate` put it in the virtual reader through the
emulator's control channel (`insert` with an image, docs/emulator.md) — where PC/SC clients,
screen 1 and anyone's pyscard then find it, exactly as a card handed over by the encoder.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from mynacard.errors import UserError


class CardWriterError(UserError):
    """The card could not be written or put on the reader; the message is one sentence."""


class CardWriter(Protocol):
    """Personalises a blank card with an issued image and puts it on the clerk's reader."""

    def write(self, card_serial: str, image: Mapping[str, bytes]) -> str:
        """Write `image` (the card model's files) onto the card `card_serial`; the reader it is in."""
        ...


class VirtualReaderWriter:
    """The emulator as card encoder: image → `directory/card-<serial>`, then control `insert`."""

    def __init__(self, directory: Path, control: Path | None = None, reader: str | int = 0) -> None:
        self.directory = directory
        #: The control socket of the `mynacard emulate` serving the reader; None: the one running.
        self.control = control
        #: The slot to put the card in: the window's reader name, or the emulator's card index.
        self.reader = reader

    def write(self, card_serial: str, image: Mapping[str, bytes]) -> str:
        from mynacard.emulator.cards import store_card_image
        from mynacard.emulator.control import ControlClient
        from mynacard.emulator.errors import EmulatorError

        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = self.directory / f"card-{card_serial}"
        try:
            store_card_image(image, target)
            client = ControlClient(self.control) if self.control else ControlClient.find()
            answer = client.insert(self.reader, image=target)
        except EmulatorError as exc:
            raise CardWriterError(f"The new card could not be put on the reader: {exc}") from None
        return str(answer["card"]["reader"])
