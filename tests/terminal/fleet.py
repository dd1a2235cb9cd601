"""Many simulated kiosks issuing at once, each with its own card and customer (a thread).

Used by the load test (invariants over paper, cash and the centre's ledger) and by
bench/bench_kiosk.py (transaction time without human waits). All kiosks share one asyncio loop,
as an integrator hosting several terminals in one process would; each has its own reader,
printer, acceptor and voice, and all talk to one centre over HTTP.
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
             copies: int) -> None:
    try:
        j.wait_state(m.State.IDLE, 30)
        j.send(m.Start())
        j.send(m.Accept())
        j.sim.reader.insert(card_dir)
        j.wait_state(m.State.PIN_ENTRY, 30)
        j.send(m.SubmitPin(visit.card.pin))
        j.wait_state(m.State.REMOVE_CARD, 30)
        j.sim.reader.remove()
        j.wait_state(m.State.CHOOSE_DOCUMENT, 30)
        j.send(m.ChooseDocument(Selection("juminhyo", "self", (), copies)))
        j.send(m.ConfirmFee())
        j.wait_state(m.State.PAYMENT, 30)
        j.sim.payment.insert(1000)
        j.wait_for(lambda: j.kiosk.machine.state in (m.State.COLLECT, m.State.ENDED),
                   "collect or ended", 60)
        if j.kiosk.machine.state is m.State.COLLECT:
            j.send(m.DocumentTaken())
        visit.result = j.result()
        visit.machine_seconds = machine_time(j.sim, stamps)
    except AssertionError as exc:
        visit.error = str(exc)


def run_fleet(cards: list[ResidentCard], card_dirs: list[Path], centre: HttpCentre, *,
              config: KioskConfig = FAST, jam_every: int = 0, hang_every: int = 0,
              seconds_per_copy: float = 0.05, copies: int = 1) -> tuple[list[Visit], list[SimKiosk]]:
    """One visit per card, all kiosks at once; kiosk i jams if i % jam_every == 1, hangs its
    print job (a print timeout) if i % hang_every == 2."""
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
                                                                   card_dirs[i], stamps, copies)))
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
