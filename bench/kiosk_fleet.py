"""One OS process of bench_kiosk.py's kiosks: a group of kiosks with their emulated cards, run with
tests/terminal/fleet.py, reporting each visit's machine time back over a pipe.

Why processes: kiosks and their emulated cards are CPU work in Python (APDUs, RSA in the card
model, the kiosk's state machine); twenty of them under one interpreter lock queue for it and the
harness's own wait shows up as transaction time. A real store has one computer per kiosk.

Human waits (`HumanWaits`) are a person's reading, typing, choosing and paying: seeded random
seconds per step (fleet.HUMAN_STEPS), slept by the customer's thread in states the kiosk does not
count as its own work, so they are not in the measured time.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Barrier

from fleet import HUMAN_STEPS, Pause, no_pause, run_fleet
from kiosk_harness import FAST, ResidentCard

from mynacard.terminal.centre_client import HttpCentre
from mynacard.terminal.config import DEFAULT_TIMEOUTS

#: The tests' short timeouts (a finished visit returns to idle at once), but a real kiosk's fetch
#: timeout: a slow answer under load is a figure to report, not a failed visit.
CONFIG = FAST.with_timeouts(fetch=DEFAULT_TIMEOUTS["fetch"])

#: Seconds a person takes before each step, uniform between the two bounds (times the scale):
#: arriving is spread over the first 20 s of a round, so the kiosks are all in use together but
#: their customers do not move in step.
WAIT_RANGES: dict[str, tuple[float, float]] = {
    "arrive": (0.0, 20.0), "accept": (2.0, 5.0), "card": (1.0, 3.0), "pin": (3.0, 6.0),
    "remove": (1.0, 2.0), "choose": (3.0, 8.0), "confirm": (1.0, 3.0), "pay": (3.0, 8.0),
    "collect": (1.0, 3.0),
}
assert tuple(WAIT_RANGES) == HUMAN_STEPS


@dataclass(frozen=True)
class HumanWaits:
    """Seeded think times; scale 0 means none (every customer acts at once)."""

    scale: float
    seed: int

    def pause(self, kiosk: int, round_: int) -> Pause:
        """Kiosk `kiosk`'s customer in round `round_`: the same waits for the same seed."""
        if self.scale == 0:
            return no_pause
        rng = random.Random(f"{self.seed}:{kiosk}:{round_}")

        def wait(step: str) -> None:
            low, high = WAIT_RANGES[step]
            time.sleep(rng.uniform(low, high) * self.scale)

        return wait

    def describe(self) -> str:
        if self.scale == 0:
            return "none (every customer starts at the same instant and acts at once)"
        steps = ", ".join(f"{step} {low * self.scale:g}–{high * self.scale:g}" for step, (low, high) in
                          WAIT_RANGES.items())
        return f"seeded (seed {self.seed}), uniform seconds before each step: {steps}"


@dataclass(frozen=True)
class Group:
    """What one process runs: its kiosks (their numbers in the whole fleet, which seed their
    customers' waits) and their cards, `rounds` times."""

    kiosks: list[int]
    cards: list[ResidentCard]
    centre_url: str
    token: str
    rounds: int
    waits: HumanWaits


def run_group(group: Group, start: Barrier, results: Connection) -> None:
    """Process entry: every round waits at `start` with the other processes, then sends back a
    list of (machine seconds, failure or None) per visit; an exception is sent as its text."""
    try:
        centre = HttpCentre(group.centre_url, group.token)
        visits: list[tuple[float, str | None]] = []
        for round_ in range(group.rounds):
            done, _sims = run_fleet(group.cards, [c.card_dir for c in group.cards], centre, config=CONFIG,
                                    seconds_per_copy=0.0, ready=start.wait,
                                    pauses=lambda i, r=round_: group.waits.pause(group.kiosks[i], r))
            visits += [(v.machine_seconds, _failure(v.error, v.result)) for v in done]
        results.send(visits)
    except Exception as exc:  # noqa: BLE001 - any failure goes to the parent, which reports it and stops
        start.abort()
        results.send(f"{type(exc).__name__}: {exc}")
    finally:
        results.close()


def _failure(error: str | None, result: dict[str, object]) -> str | None:
    if error:
        return error
    return None if result.get("result") == "completed" else str(result.get("reason"))
