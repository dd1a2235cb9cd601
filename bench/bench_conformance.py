#!/usr/bin/env python3
"""Time of the full conformance catalogue (destructive cases included) against the emulator:
through pcscd + vpcd (target < 60 s, issue 5) and in-process, in the same run.

Prints the catalogue size, the coverage of card-interface.md per section, and for each path the
wall time, the number of APDUs and the time per APDU; the ratio pcscd / in-process is the cost of
the real PC/SC stack. Each round uses a fresh copy of the demo card (blocking cases block it).

    .venv/bin/python bench/bench_conformance.py [--rounds 3] [--skip-pcscd]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mynacard.conformance.catalogue import CATALOGUE
from mynacard.conformance.model import Status
from mynacard.conformance.robot import ClientRobot, ReinsertRobot, Robot
from mynacard.conformance.runner import Runner, RunOptions, RunReport
from mynacard.conformance.secrets import Secrets
from mynacard.conformance.spec import SECTION_TITLES, coverage
from mynacard.host.transport import Transport, open_transport

#: The demo card's documented secrets (README).
DEMO_SECRETS = {"auth-pin": "1234", "sign-password": "ABC123", "text-pin": "1234", "code-a": "123456789018",
                "code-b": "60041220362468", "birth-key": "600412", "common-pin": "1234", "juki-pin": "1234"}
TARGET_S = 60.0


def run_once(transport: Transport, robot: Robot) -> tuple[float, RunReport]:
    options = RunOptions(secrets=Secrets.from_mapping(DEMO_SECRETS), allow_destructive=True, robot=robot)
    started = time.perf_counter()
    report = Runner(transport, options).run()
    elapsed = time.perf_counter() - started
    bad = [(r.case_id, r.reason) for r in report.results if r.status in (Status.FAILED, Status.ERROR)]
    if bad:
        raise SystemExit(f"the catalogue failed on the emulator: {bad}")
    return elapsed, report


def apdus(report: RunReport) -> int:
    return len(report.setup) + sum(1 for r in report.results for e in r.exchanges if not e.command.startswith("("))


def measure(label: str, rounds: int, one: Callable[[Path], tuple[float, RunReport]]) -> float:
    from mynacard.emulator.demo import copy_card, packaged_demo_card

    times, counts = [], []
    for _ in range(rounds):
        work = Path(tempfile.mkdtemp(prefix="bench-conformance-"))
        try:
            elapsed, report = one(copy_card(packaged_demo_card(), work / "card"))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        times.append(elapsed)
        counts.append(apdus(report))
    median = statistics.median(times)
    n = statistics.median(counts)
    print(f"{label:<22} median {median:7.2f} s over {rounds} runs (min {min(times):.2f}, max {max(times):.2f}); "
          f"{n:.0f} APDUs, {1000 * median / n:.3f} ms per APDU")
    return median


def in_process(card_dir: Path) -> tuple[float, RunReport]:
    from mynacard.emulator.inprocess import InProcessTransport

    transport = InProcessTransport.from_directory(card_dir)
    try:
        return run_once(transport, ReinsertRobot(transport))
    finally:
        transport.close()


class Reader:
    """pcscd (shared with any running one) and a leased vpcd slot for the whole benchmark."""

    def __enter__(self) -> Reader:
        from mynacard.emulator.pcscd import PcscdLease
        from mynacard.emulator.slots import lease_slot

        self.pcscd = PcscdLease()
        info = self.pcscd.acquire()
        self.lease = lease_slot(info.slots, None, "bench_conformance")
        return self

    def __exit__(self, *exc: object) -> None:
        self.lease.release()
        self.pcscd.release()

    def run(self, card_dir: Path) -> tuple[float, RunReport]:
        from mynacard.emulator.cards import ImageCardSource
        from mynacard.emulator.pcsc_state import wait_for_presence
        from mynacard.emulator.slot import VirtualSlot

        slot = VirtualSlot(self.lease.slot.reader, self.lease.slot.port, ImageCardSource(card_dir))
        reader = slot.reader

        class SlotRobot:
            def remove(self) -> None:
                slot.remove()
                wait_for_presence(reader, False, 5.0)

            def insert(self) -> None:
                slot.insert()
                wait_for_presence(reader, True, 5.0)

        robot = SlotRobot()
        robot.insert()
        try:
            transport = open_transport(f"pcsc:{reader}")
            try:
                return run_once(transport, ClientRobot(robot, f"vpcd slot {reader}"))
            finally:
                transport.close()
        finally:
            if slot.inserted:
                slot.remove()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-pcscd", action="store_true", help="in-process only (no pcscd on this machine)")
    args = parser.parse_args()

    destructive = sum(1 for c in CATALOGUE if c.impact.destructive)
    print(f"catalogue: {len(CATALOGUE)} cases ({destructive} destructive, {sum(c.robot for c in CATALOGUE)} need a robot)")
    print("coverage of card-interface.md (clauses covered / checkable, cases touching the section):")
    for row in coverage():
        print(f"  {row.section:<4} {SECTION_TITLES[row.section]:<28} {row.covered:>3}/{row.clauses - row.out_of_scope:<3}"
              f" {row.percent:5.1f} %  {row.cases:>3} cases")

    baseline = measure("in-process", args.rounds, in_process)
    if args.skip_pcscd:
        return 0
    with Reader() as reader:
        through = measure("through pcscd + vpcd", args.rounds, reader.run)
    print(f"pcscd / in-process: {through / baseline:.1f}×; full catalogue through pcscd {through:.2f} s "
          f"= {100 * through / TARGET_S:.0f} % of the {TARGET_S:.0f} s target "
          f"({'met' if through < TARGET_S else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
