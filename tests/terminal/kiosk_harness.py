"""Kiosk test helpers: residents' cards, a kiosk with simulated devices, an asyncio loop in a
thread, and `Journey` to drive a running kiosk from the test (commands in, states and results
out)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from centre_double import Resident
from mynacard.terminal import machine as m
from mynacard.terminal.centre_client import HttpCentre
from mynacard.terminal.config import ALWAYS_OPEN, KioskConfig
from mynacard.terminal.payment import SimulatedAcceptor
from mynacard.terminal.printer import SimulatedPrinter
from mynacard.terminal.reader import SimulatedReader
from mynacard.terminal.runtime import Devices, Kiosk
from mynacard.terminal.voice import RecordingVoice

PIN = "1234"


@dataclass(frozen=True)
class ResidentCard:
    card_dir: Path  # pristine: copy before use
    serial: int
    resident: Resident
    pin: str = PIN


def copy_card(card: ResidentCard, target: Path) -> Path:
    from mynacard.emulator.demo import copy_card as copy

    return copy(card.card_dir, target)




#: Short timeouts, and open around the clock: the tests must not fail at night in Japan.
FAST = KioskConfig(hours=ALWAYS_OPEN).with_timeouts(complete=0.3, ended=0.3, print=3.0, fetch=3.0)


class LoopThread:
    """An asyncio loop in a thread, running kiosks while the test drives them."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, fn, *args):  # type: ignore[no-untyped-def]
        """Run `fn(*args)` on the loop thread and return its result."""
        future = asyncio.run_coroutine_threadsafe(self._call(fn, *args), self.loop)
        return future.result(10)

    @staticmethod
    async def _call(fn, *args):  # type: ignore[no-untyped-def]
        return fn(*args)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@dataclass
class SimKiosk:
    kiosk: Kiosk
    reader: SimulatedReader
    printer: SimulatedPrinter
    payment: SimulatedAcceptor
    voice: RecordingVoice
    messages: list[dict[str, object]]


def make_sim_kiosk(centre_client: HttpCentre, config: KioskConfig = FAST,
                   clock: object | None = None) -> SimKiosk:
    reader, printer = SimulatedReader(), SimulatedPrinter(seconds_per_copy=0.05)
    payment, voice = SimulatedAcceptor(), RecordingVoice()
    kiosk = Kiosk(config, Devices(reader, printer, payment, voice), centre_client,
                  clock=clock, tick_interval=0.02, print_poll=0.01)  # type: ignore[arg-type]
    messages: list[dict[str, object]] = []
    kiosk.subscribe(messages.append)
    return SimKiosk(kiosk, reader, printer, payment, voice, messages)


class Journey:
    def __init__(self, loop: LoopThread, sim: SimKiosk) -> None:
        self.loop = loop
        self.sim = sim
        self.kiosk = sim.kiosk

    def send(self, event: m.Event) -> m.Outcome:
        outcome: m.Outcome = self.loop.call(self.kiosk.submit, event)
        return outcome

    def wait_for(self, predicate: Callable[[], bool], what: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.01)
        raise AssertionError(f"timed out waiting for {what}; state {self.kiosk.machine.state}, "
                             f"last messages {self.sim.messages[-3:]}")

    def wait_state(self, state: m.State, timeout: float = 10) -> None:
        self.wait_for(lambda: self.kiosk.machine.state is state, f"state {state.value}", timeout)

    def result(self) -> dict[str, object]:
        self.wait_for(lambda: any(msg["msg"] == "RESULT" for msg in self.sim.messages), "a result")
        return next(msg for msg in reversed(self.sim.messages) if msg["msg"] == "RESULT")


@contextmanager
def running(sim: SimKiosk) -> Iterator[Journey]:
    loop = LoopThread()
    task = asyncio.run_coroutine_threadsafe(sim.kiosk.run(), loop.loop)
    try:
        yield Journey(loop, sim)
    finally:
        loop.loop.call_soon_threadsafe(sim.kiosk.stop)
        task.result(10)
        loop.close()
