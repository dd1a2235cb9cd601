"""The in-process link to a card: host's Transport protocol (docs/architecture.md) over a Card.

No pcscd, no socket: `transmit` is `card.execute`. This is what `mynacard apdu`, the pytest
fixtures and `open_transport("emulator:DIR")` give. It satisfies host's Transport structurally and
does not import mynacard.host (the emulator sits below host in the dependency rule).

A torn write (PowerLost from the card) is the card vanishing mid-command: `transmit` raises
CardRemoved, and the transport stays without a card until `reinsert()` loads it again from its
directory — as a reader would after the card is put back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from mynacard.codec.redaction import RedactionPolicy
from mynacard.emulator.cards import open_image_card
from mynacard.emulator.errors import CardRemoved
from mynacard.emulator.trace import ApduTracer

if TYPE_CHECKING:
    from mynacard.applet_model.card import Card
    from mynacard.applet_model.store import CardStore


class InProcessTransport:
    """A Transport whose card lives in this process."""

    def __init__(
        self,
        card: Card,
        *,
        name: str = "emulator",
        store: CardStore | None = None,
        reload: Callable[[], tuple[Card, CardStore]] | None = None,
        tracer: ApduTracer | None = None,
    ) -> None:
        self.name = name
        self._card: Card | None = card
        self.store: CardStore | None = store
        self._reload = reload
        self._tracer = tracer
        self._redaction = RedactionPolicy()
        self._closed = False
        from mynacard.applet_model.errors import PowerLost

        self._power_lost: type[BaseException] = PowerLost
        card.power_up()

    @classmethod
    def from_directory(cls, path: Path | str, *, profile: str | None = None,
                       behaviours: Mapping[str, str] | None = None,
                       tracer: ApduTracer | None = None) -> InProcessTransport:
        """Open the card image at `path` (optionally with other CI §12 behaviours than the image's);
        its counters are written back there."""
        path = Path(path)
        card, store = open_image_card(path, profile, behaviours)
        return cls(card, name=f"emulator:{path}", store=store,
                   reload=lambda: open_image_card(path, profile, behaviours), tracer=tracer)

    @property
    def card(self) -> Card:
        """The card object (for tests that reach behind the transport, e.g. to tear a write)."""
        if self._card is None:
            raise CardRemoved(f"there is no card in {self.name}: it lost power; call reinsert().")
        return self._card

    @property
    def atr(self) -> bytes:
        return bytes(self.card.atr)

    @property
    def extended_length(self) -> bool:
        """The card takes extended APDUs (CI §1) and nothing in between limits them."""
        return True

    def transmit(self, apdu: bytes) -> bytes:
        """The card's full R-APDU (data || SW1 SW2) for one C-APDU."""
        if self._closed:
            raise CardRemoved(f"{self.name} is closed.")
        card = self.card
        arrived, started = time.time(), time.perf_counter()
        try:
            response = bytes(card.execute(bytes(apdu)))
        except self._power_lost as exc:
            self._card = None
            self._trace(apdu, None, arrived, started)
            raise CardRemoved(
                f"the card in {self.name} lost power in the middle of the command (torn write); "
                "call reinsert() to load it again from its store."
            ) from exc
        self._trace(apdu, response, arrived, started)
        return response

    def reset(self) -> None:
        """Warm reset: the card forgets its selected DF and verified PINs."""
        self.card.reset()
        self._redaction.power_cycle()

    def reinsert(self) -> None:
        """Power-cycle the card; after a torn write, load it again from its store first."""
        if self._card is None:
            if self._reload is None:
                raise CardRemoved(f"{self.name} cannot load its card again: it was not opened from a directory.")
            card, self.store = self._reload()
            self._card = card
        else:
            card = self._card
            card.power_down()
        card.power_up()
        self._redaction.power_cycle()
        self._closed = False

    def close(self) -> None:
        if self._card is not None and not self._closed:
            self._card.power_down()
        self._closed = True

    def _trace(self, apdu: bytes, response: bytes | None, arrived: float, started: float) -> None:
        if self._tracer is not None:
            self._tracer.exchange(self.name, self._redaction, bytes(apdu), response, arrived,
                                  time.perf_counter() - started)


def open_transport(spec: str) -> InProcessTransport:
    """The `mynacard.transports` entry point `emulator`: `spec` is the card image directory,
    optionally followed by `?KEY=VALUE&…` — sides of the CI §12 behaviours to serve it with
    (`emulator:./mycard?reselect=clears`), as `mynacard emulate --behaviour` does."""
    from mynacard.emulator.cards import behaviour_choices

    path, sep, query = spec.rpartition("?")
    if not sep or Path(spec).is_dir():
        return InProcessTransport.from_directory(spec)
    return InProcessTransport.from_directory(path, behaviours=behaviour_choices(query.split("&")))
