"""Many simulated kiosks issuing at once, each with its own card and customer (a thread).

Used by the load test (invariants over paper, cash and the centre's ledger) and by
bench/bench_kiosk.py (transaction time without human waits). All kiosks share one asyncio loop,
as an integrator hosting several terminals in one process would; each has its own reader,
printer, acceptor and voice, and all talk to one centre over HTTP.

A customer acts at once unless given a `Pause`: it is called with the name of each human step
(HUMAN_STEPS) just before the customer takes it, so a benchmark can put a person's reading,
typing and paying between the kiosk's machine steps without counting them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kiosk_harness import FAST, Journey, LoopThread, ResidentCard, SimKiosk, make_sim_kiosk
from mynacard.terminal import machine as m
from mynacard.terminal.centre_client import HttpCentre
from mynacard.terminal.config import KioskConfig
from mynacard.terminal.documents import Selection

#: States in which the kiosk works and nobody waits for a person.
MACHINE_STATES = {"card_check", "authenticating", "fetch", "print"}

#: What a person does at a kiosk, in order: walk up and start, read the notice and accept, put the
#: card on the reader, type the PIN, take the card back, choose the document, confirm the fee,
#: pay, take the paper. Every step happens in a state outside MACHINE_STATES.
HUMAN_STEPS = ("arrive", "accept", "card", "pin", "remove", "choose", "confirm", "pay", "collect")

#: Called with a HUMAN_STEPS name before the customer takes that step (may sleep: a person).
Pause = Callable[[str], None]


def no_pause(step: str) -> None:
    """The customer who never hesitates: the kiosk's machine time without any human waits."""


@dataclass
class Visit:
    """One customer's visit: which card, what came out, and how long the kiosk itself worked."""

    kiosk: int
    card: ResidentCard
    result: dict[str, object] = field(default_factory=dict)
    machine_seconds: float = 0.0
    error: str | None = None


def machine_time(sim: SimKiosk, stamps: list[tuple[float, str]]) -> float:
    """Seconds spent in MACHINE_STATES, from the timestamped STATE messages."""
    total = 0.0
    for (t0, state), (t1, _next) in zip(stamps, stamps[1:], strict=False):
        if state in MACHINE_STATES:
            total += t1 - t0
    return total


def stamper(stamps: list[tuple[float, str]]) -> Callable[[dict[str, object]], None]:
    """A listener that timestamps every STATE message."""

    def listen(message: dict[str, object]) -> None:
        if message["msg"] == "STATE":
            stamps.append((time.perf_counter(), str(message["state"])))

    return listen


def customer(j: Journey, visit: Visit, card_dir: Path, stamps: list[tuple[float, str]],
             copies: int, pause: Pause = no_pause) -> None:
    try:
        j.wait_state(m.State.IDLE, 30)
        pause("arrive")
        j.send(m.Start())
        pause("accept")
        j.send(m.Accept())
        pause("card")
        j.sim.reader.insert(card_dir)
        j.wait_state(m.State.PIN_ENTRY, 30)
        pause("pin")
        j.send(m.SubmitPin(visit.card.pin))
        j.wait_state(m.State.REMOVE_CARD, 30)
        pause("remove")
        j.sim.reader.remove()
        j.wait_state(m.State.CHOOSE_DOCUMENT, 30)
        pause("choose")
        j.send(m.ChooseDocument(Selection("juminhyo", "self", (), copies)))
        pause("confirm")
        j.send(m.ConfirmFee())
        j.wait_state(m.State.PAYMENT, 30)
        pause("pay")
        j.sim.payment.insert(1000)
        j.wait_for(lambda: j.kiosk.machine.state in (m.State.COLLECT, m.State.ENDED),
                   "collect or ended", 60)
        if j.kiosk.machine.state is m.State.COLLECT:
            pause("collect")
            j.send(m.DocumentTaken())
        visit.result = j.result()
        visit.machine_seconds = machine_time(j.sim, stamps)
    except AssertionError as exc:
        visit.error = str(exc)


def run_fleet(cards: list[ResidentCard], card_dirs: list[Path], centre: HttpCentre, *,
              config: KioskConfig = FAST, jam_every: int = 0, hang_every: int = 0,
              seconds_per_copy: float = 0.05, copies: int = 1,
              pauses: Callable[[int], Pause] = lambda _kiosk: no_pause,
              ready: Callable[[], object] = lambda: None) -> tuple[list[Visit], list[SimKiosk]]:
    """One visit per card, all kiosks at once; kiosk i jams if i % jam_every == 1, hangs its
    print job (a print timeout) if i % hang_every == 2. Kiosk i's customer pauses with
    `pauses(i)`; `ready()` is called once every kiosk runs and before any customer starts (a
    barrier, when kiosks in other processes are to start together)."""
    loop = LoopThread()
    sims, tasks, visits, threads = [], [], [], []
    try:
        for i, card in enumerate(cards):
            sim = make_sim_kiosk(centre, config)
            sim.printer.seconds_per_copy = seconds_per_copy
            if jam_every and i % jam_every == 1:
                sim.printer.jam_next = 1
            if hang_every and i % hang_every == 2:
                sim.printer.hang_next = 1
            stamps: list[tuple[float, str]] = []
            sim.kiosk.subscribe(stamper(stamps))
            sims.append(sim)
            tasks.append(asyncio.run_coroutine_threadsafe(sim.kiosk.run(), loop.loop))
            visit = Visit(i, card)
            visits.append(visit)
            threads.append(threading.Thread(target=customer, args=(Journey(loop, sim), visit,
                                                                   card_dirs[i], stamps, copies, pauses(i))))
        ready()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        for sim in sims:
            loop.loop.call_soon_threadsafe(sim.kiosk.stop)
        for task in tasks:
            task.result(30)
        loop.close()
    return visits, sims
