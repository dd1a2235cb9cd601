"""Card readers behind one interface: a PC/SC reader (through pcscd) and a simulated one.

A reader reports presence changes (`wait_event`) and opens a host `Transport` to the card. The
PC/SC adapter uses host's `CardWatcher` (pcsc-lite's event counter, so a card pulled out and put
back between two looks is still seen) and `PcscTransport`, whose close resets the card: a PIN
verified by the kiosk is never left open. The simulator serves a card image in-process through
host's `emulator:` transport, and can pull the card out in the middle of a command.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Protocol

from mynacard.host.errors import CardRemoved, NoCard
from mynacard.host.transport import Transport, open_transport


class CardReader(Protocol):
    name: str

    def wait_event(self, timeout: float) -> bool | None:
        """True = a card arrived, False = it left, None = nothing within `timeout` seconds."""
        ...

    def open(self) -> Transport: ...

    def close(self) -> None: ...


class PcscReader:
    """A PC/SC reader through pcscd (a real one, or `mynacard emulate`'s virtual one)."""

    def __init__(self, name: str) -> None:
        from mynacard.host.pcsc import CardWatcher  # pyscard only when a reader is used

        self.name = name
        self._watcher = CardWatcher([name], include_present=True, poll=0.5)

    def wait_event(self, timeout: float) -> bool | None:
        from mynacard.host.pcsc import EventKind

        event = self._watcher.next_event(timeout)
        if event is None:
            return None
        return event.kind is EventKind.INSERTED

    def open(self) -> Transport:
        """Exclusive: while the kiosk holds the card (and a verified PIN on it), no other program
        on the machine can slip a command in, e.g. a signature riding on that PIN."""
        return open_transport(f"pcsc:{self.name}", exclusive=True)

    def close(self) -> None:
        self._watcher.close()


class _PullableTransport:
    """An in-process transport whose card can be pulled out in the middle of a command."""

    def __init__(self, inner: Transport, reader: SimulatedReader) -> None:
        self._inner = inner
        self._reader = reader
        self.name = inner.name

    @property
    def atr(self) -> bytes:
        return self._inner.atr

    @property
    def extended_length(self) -> bool:
        return self._inner.extended_length

    def transmit(self, apdu: bytes) -> bytes:
        if not self._reader.present:
            raise CardRemoved(f"the card was taken out of {self.name}")
        ins = apdu[1] if len(apdu) > 1 else None
        if self._reader.pull_at_ins is not None and self._reader.pull_at_ins == ins:
            self._reader.pull_at_ins = None
            self._reader.remove()
            raise ConnectionError("card pulled out mid-command")
        return self._inner.transmit(apdu)

    def reset(self) -> None:
        self._inner.reset()

    def close(self) -> None:
        self._inner.close()


class SimulatedReader:
    """A reader whose card is a card image directory served in-process."""

    def __init__(self, card_dir: Path | None = None, name: str = "simulated reader") -> None:
        self.name = name
        self.card_dir = card_dir
        self.present = False
        #: Fault: pull the card out when a command with this INS is sent (e.g. 0xB0 READ BINARY).
        self.pull_at_ins: int | None = None
        self._events: queue.Queue[bool] = queue.Queue()
        self._lock = threading.Lock()

    def insert(self, card_dir: Path | None = None) -> None:
        with self._lock:
            if card_dir is not None:
                self.card_dir = card_dir
            if self.card_dir is None:
                raise NoCard("the simulated reader has no card image to insert")
            if not self.present:
                self.present = True
                self._events.put(True)

    def remove(self) -> None:
        with self._lock:
            if self.present:
                self.present = False
                self._events.put(False)

    def wait_event(self, timeout: float) -> bool | None:
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            return None

    def open(self) -> Transport:
        if not self.present or self.card_dir is None:
            raise NoCard(f"there is no card in {self.name}")
        return _PullableTransport(open_transport(f"emulator:{self.card_dir}"), self)

    def close(self) -> None:
        """Nothing to release: the simulated reader holds no connection between sessions."""
