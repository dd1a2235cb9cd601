"""Kiosk transaction time without human waits (issue 11): p50/p99 with 1 kiosk and with N
concurrent kiosks, and their ratio.

"Without human waits" = the time the kiosk itself works in one issuance: card check, PIN +
signature + centre session (authenticating), fetch + settle, and print (the simulated printer
takes no mechanical time here, so this is the software path around it). Measured from the
timestamps of the kiosk's own STATE messages. Every kiosk has its own in-process emulated card
and resident; all talk over HTTP on loopback to the REAL centre — the CA service (OCSP), the
register and the issuance centre (its PDF included) — with the residents on the register and
their cards issued by it. The kiosks run in one process, as an integrator hosting several
terminals would. The services run as `mynacard serve` in a process of their own (`--services
process`, the default: a centre is a server of its own) or in a thread of this one (`--services
thread`: everything under one interpreter lock). The baseline is one kiosk alone, measured in the
same run.

Run: .venv/bin/python bench/bench_kiosk.py [--kiosks 20] [--rounds 3] [--services process|thread] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "terminal"))

from cryptography.hazmat.primitives.asymmetric import rsa
from fleet import run_fleet
from kiosk_harness import FAST, ResidentCard
from real_centre import Services, register_resident
from register_server import free_port, seed_responder_keys

from mynacard.terminal.centre_client import HttpCentre


class ServeProcess(Services):
    """`mynacard serve --workers WORKERS` in a process of its own (the register then makes fresh keys per card)."""

    WORKERS = 2

    def start(self) -> ServeProcess:
        import httpx

        seed_responder_keys(self.data_dir, self.card_keys[:2])
        self._process = subprocess.Popen(
            [sys.executable, "-m", "mynacard", "serve", "--data", str(self.data_dir), "--port", str(self.port),
             "--workers", str(self.WORKERS)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base}/centre/openapi.json", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise SystemExit("bench_kiosk: mynacard serve did not start")
            time.sleep(0.2)

    @property
    def tokens(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in json.loads((self.data_dir / "tokens.json").read_text()).items()}

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(30)


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
    parser.add_argument("--services", choices=("process", "thread"), default="process",
                        help="mynacard serve in its own process (default) or in a thread of this one")
    parser.add_argument("--workers", type=int, default=2, help="mynacard serve --workers, with --services process")
    args = parser.parse_args()
    ServeProcess.WORKERS = args.workers
    with tempfile.TemporaryDirectory() as tmp:
        keys = [rsa.generate_private_key(65537, 2048) for _ in range(6)]
        kind = ServeProcess if args.services == "process" else Services
        services = kind(Path(tmp) / "data", keys, port=free_port()).start()
        try:
            cards = make_cards(services, args.kiosks, Path(tmp))
            client = HttpCentre(f"{services.base}/centre", services.tokens["kiosk"])
            alone = measure(cards, client, 1, max(args.rounds, 5))
            loaded = measure(cards, client, args.kiosks, args.rounds)
        finally:
            services.stop()
    where = (f"as mynacard serve --workers {args.workers}" if args.services == "process"
             else "in a thread of this process")
    print("transaction time without human waits (card check + PIN/signature/centre session + "
          f"fetch/settle + print hand-off); services {where}")
    for label, times in ((f"1 kiosk ({len(alone)} visits)", alone),
                         (f"{args.kiosks} concurrent kiosks ({len(loaded)} visits)", loaded)):
        print(f"  {label:<36} p50 {statistics.median(times) * 1000:7.1f} ms   "
              f"p99 {percentile(times, 99) * 1000:7.1f} ms")
    print(f"  ratio p99 {args.kiosks} kiosks / 1 kiosk: "
          f"{percentile(loaded, 99) / percentile(alone, 99):.2f}")


if __name__ == "__main__":
    main()
