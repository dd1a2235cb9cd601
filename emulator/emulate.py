"""One run of `mynacard emulate`: start-up, serving until Ctrl-C or SIGTERM, clean-up.

Start-up checks every card image before touching pcscd, so a typo costs nothing. From the moment
the signal handlers are installed, a signal always ends in the clean-up: cards removed (vpcd sees
EOF, pcscd reports "Card Removed"), control socket deleted, slots and pcscd given back (pcscd
stopped if this run started it and nobody else uses it).
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

from mynacard.emulator.cards import ImageCardSource, open_image_card, profile_named
from mynacard.emulator.control import ControlServer, default_socket_path
from mynacard.emulator.demo import user_demo_card
from mynacard.emulator.errors import EmulatorError
from mynacard.emulator.readers import VirtualReaders
from mynacard.emulator.slot import VirtualSlot
from mynacard.emulator.trace import ApduTracer


class Emulation:
    def __init__(self, cards: list[Path], slots: list[int], trace: Path | None, control: Path | None,
                 profile: str | None, behaviours: dict[str, str] | None = None) -> None:
        self.cards = cards
        self.slots = slots
        self.trace = trace
        self.control = control
        self.profile = profile
        self.behaviours = behaviours or {}
        self._stop = threading.Event()
        #: True once start-up is done: signals then stop the run instead of interrupting start-up,
        #: and card events are printed.
        self._serving = False
        self._readers: VirtualReaders | None = None
        self._server: ControlServer | None = None
        self._tracer: ApduTracer | None = None

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self._start()
            self._serving = True
            print("Ctrl-C removes the card(s) and stops.", flush=True)
            while not self._stop.wait(0.5):
                pass
            return 0
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._close()

    def _start(self) -> None:
        if self.profile:
            profile_named(self.profile)
        if not self.cards:
            demo, copied = user_demo_card()
            note = "copied just now from the package" if copied else "your copy"
            print(f"demo card: {demo} ({note}; its counters persist there, delete it for a fresh card)")
            self.cards = [demo]
        if len(self.slots) > len(self.cards):
            raise EmulatorError(f"{len(self.slots)} --slot options for {len(self.cards)} card(s); "
                                "give one --slot per --card at most.")
        for card in self.cards:  # refuse a bad image before touching pcscd
            open_image_card(card, self.profile, self.behaviours)
        self._tracer = ApduTracer.open(self.trace) if self.trace else None
        self._readers = VirtualReaders(tracer=self._tracer, on_event=self._on_event)
        info = self._readers.open()
        if self._readers.pcscd.started:
            print(f"pcscd started (pid {info.pid}) with mynacard's reader config; "
                  "it stops when the last mynacard process using it exits.")
        else:
            print(f"using the running pcscd (pid {info.pid}, reader config {info.config}).")
        for position, card in enumerate(self.cards):
            slot_index = self.slots[position] if position < len(self.slots) else None
            slot = self._readers.add(ImageCardSource(card, self.profile, self.behaviours), slot_index)
            print(f"card {position}: {card} in reader {slot.reader!r}")
        if self.behaviours:
            print("behaviours: " + ", ".join(f"{k}={v}" for k, v in sorted(self.behaviours.items())))
        self._server = ControlServer(self.control or default_socket_path(), self._readers)
        self._server.start()
        print(f"control: `mynacard emulate control status` (socket {self._server.path})")
        if self.trace:
            print(f"trace: {self.trace}")

    def _close(self) -> None:
        self._serving = False  # the removals below are reported in one line
        if self._server is not None:
            self._server.close()
        if self._readers is not None:
            inserted = [slot.reader for slot in self._readers.slots if slot.inserted]
            stopped = self._readers.close()
            if inserted:
                print("removed the card from " + ", ".join(repr(r) for r in inserted))
            if stopped:
                print("pcscd stopped.")
        if self._tracer is not None:
            self._tracer.close()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if not self._serving:
            raise KeyboardInterrupt  # still starting: unwind through the clean-up
        self._stop.set()

    def _on_event(self, slot: VirtualSlot, text: str) -> None:
        if self._serving:  # control requests, faults, pcscd going away — after start-up
            print(f"[{slot.reader}] {text}", flush=True)
