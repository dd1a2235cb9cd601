"""Kiosk transaction time without human waits (issue 11): p50/p99 with 1 kiosk and with N
concurrent kiosks, and their ratio.

"Without human waits" = the time the kiosk itself works in one issuance: card check, PIN +
signature + centre session (authenticating), fetch + settle, and print (the simulated printer
takes no mechanical time here, so this is the software path around it). Measured from the
timestamps of the kiosk's own STATE messages. Every kiosk has its own in-process emulated card
and resident; all talk over HTTP on loopback to the REAL centre — the CA service (OCSP), the
register and the issuance centre (its PDF included), served by uvicorn in a thread of this
process as `mynacard serve` mounts them — with the residents on the register and their cards
issued by it. The kiosks run in the same process, as an integrator hosting several terminals would.
The baseline is one kiosk alone, measured in the same run.

Run: .venv/bin/python bench/bench_kiosk.py [--kiosks 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "terminal"))

from cryptography.hazmat.primitives.asymmetric import rsa
from fleet import run_fleet
from kiosk_harness import FAST, ResidentCard
from real_centre import Services, register_resident

from mynacard.terminal.centre_client import HttpCentre


def make_cards(services: Services, n: int, root: Path) -> list[ResidentCard]:
    return [register_resident(services, root / f"card-{i}", "試験", f"太郎{i}", f"BENCH {i}",
                              f"東京都千代田区見本町3-{i + 1}", f"1970-01-{1 + i % 28:02d}", "1")
            for i in range(n)]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


def measure(cards: list[ResidentCard], centre: HttpCentre, kiosks: int, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        visits, _sims = run_fleet(cards[:kiosks], [c.card_dir for c in cards[:kiosks]], centre,
                                  config=FAST, seconds_per_copy=0.0)
        failed = [v.error or v.result.get("reason") for v in visits
                  if v.error or v.result.get("result") != "completed"]
        if failed:
            raise SystemExit(f"bench_kiosk: {len(failed)} visits failed: {failed[:3]}")
        times += [v.machine_seconds for v in visits]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        keys = [rsa.generate_private_key(65537, 2048) for _ in range(6)]
        services = Services(Path(tmp) / "data", keys).start()
        try:
            cards = make_cards(services, args.kiosks, Path(tmp))
            client = HttpCentre(f"{services.base}/centre", services.tokens["kiosk"])
            alone = measure(cards, client, 1, max(args.rounds, 5))
            loaded = measure(cards, client, args.kiosks, args.rounds)
        finally:
            services.stop()
    print("transaction time without human waits (card check + PIN/signature/centre session + "
          "fetch/settle + print hand-off)")
    for label, times in ((f"1 kiosk ({len(alone)} visits)", alone),
                         (f"{args.kiosks} concurrent kiosks ({len(loaded)} visits)", loaded)):
        print(f"  {label:<36} p50 {statistics.median(times) * 1000:7.1f} ms   "
              f"p99 {percentile(times, 99) * 1000:7.1f} ms")
    print(f"  ratio p99 {args.kiosks} kiosks / 1 kiosk: "
          f"{percentile(loaded, 99) / percentile(alone, 99):.2f}")


if __name__ == "__main__":
    main()
