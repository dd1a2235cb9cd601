"""Kiosk transaction time without human waits (issue 11, issue 16's target: 20 kiosks against
`mynacard serve --workers 2`, p99 < 0.5 s): p50/p99 with 1 kiosk and with N kiosks, and their ratio.

"Without human waits" = the time the kiosk itself works in one issuance: card check, PIN +
signature + centre session (authenticating), fetch + settle, and print (the simulated printer
takes no mechanical time here, so this is the software path around it). Measured from the
timestamps of the kiosk's own STATE messages. Every kiosk has its own emulated card and resident;
all talk over HTTP on loopback to the REAL centre — the CA service (OCSP), the register and the
issuance centre (its PDF included) — with the residents on the register and their cards issued by
it. The services run as `mynacard serve --workers W` in a process of their own (`--services
process`, the default) or in a thread of this one (`--services thread`).

The kiosks run in --kiosk-processes OS processes (bench/kiosk_fleet.py), each with its share of
kiosks and their cards, as a store has a computer per kiosk; this process only starts them and
collects each visit's machine time. Two arrival modes, both printed by default:

- `think`: 20 kiosks in use at once with people at them: seeded random human waits before each
  step (reading, typing the PIN, choosing, paying; kiosk_fleet.WAIT_RANGES, times --think-scale),
  which are not counted, so the kiosks' machine steps interleave as in a real store;
- `burst`: the worst case: every customer starts at the same instant and acts at once, so all N
  issuances queue on the service together.

The baseline is one kiosk alone (no waits), measured in the same run.

Run: .venv/bin/python bench/bench_kiosk.py [--kiosks 20] [--rounds 3] [--arrivals both|think|burst]
     [--think-scale 1.0] [--seed 1] [--kiosk-processes 10] [--services process|thread] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "terminal"))

from cryptography.hazmat.primitives.asymmetric import rsa
from kiosk_fleet import Group, HumanWaits, run_group
from kiosk_harness import ResidentCard
from real_centre import Services, register_resident
from register_server import free_port, seed_responder_keys


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


def measure(cards: list[ResidentCard], centre_url: str, token: str, processes: int, rounds: int,
            waits: HumanWaits) -> list[float]:
    """Machine seconds of every visit: `cards` split over `processes` kiosk processes (as evenly as
    they go), each round started together in all of them."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing of this one's threads
    processes = min(processes, len(cards))
    start = context.Barrier(processes, timeout=120)
    running = []
    for i in range(processes):
        kiosks = list(range(i, len(cards), processes))
        group = Group(kiosks, [cards[k] for k in kiosks], centre_url, token, rounds, waits)
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=run_group, args=(group, start, send), daemon=True)
        process.start()
        send.close()
        running.append((process, receive))
    outcomes = [receive.recv() for _process, receive in running]
    for process, _receive in running:
        process.join(30)
    broken = [o for o in outcomes if isinstance(o, str)]
    if broken:
        raise SystemExit(f"bench_kiosk: a kiosk process failed: {broken[0]}")
    visits = [visit for outcome in outcomes for visit in outcome]
    failed = [reason for _seconds, reason in visits if reason]
    if failed:
        raise SystemExit(f"bench_kiosk: {len(failed)} visits failed: {failed[:3]}")
    return [seconds for seconds, _reason in visits]


def report(label: str, times: list[float], alone: list[float] | None) -> None:
    ratio = f"   ratio p99 to 1 kiosk {percentile(times, 99) / percentile(alone, 99):5.2f}" if alone else ""
    print(f"  {label:<44} p50 {statistics.median(times) * 1000:7.1f} ms   "
          f"p99 {percentile(times, 99) * 1000:7.1f} ms{ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="visits per kiosk in each mode")
    parser.add_argument("--arrivals", choices=("both", "think", "burst"), default="both",
                        help="think: customers with seeded human waits (not counted), as in a store; burst: "
                        "all start at the same instant with no waits (the worst case); both (default)")
    parser.add_argument("--think-scale", type=float, default=1.0,
                        help="multiplies the human waits of --arrivals think (seconds before each step, "
                        "uniform: arrive 0–20, accept 2–5, card 1–3, pin 3–6, remove 1–2, choose 3–8, "
                        "confirm 1–3, pay 3–8, collect 1–3)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the human waits")
    parser.add_argument("--kiosk-processes", type=int, default=10,
                        help="OS processes the kiosks and their emulated cards are spread over (default 10: "
                        "two kiosks each)")
    parser.add_argument("--services", choices=("process", "thread"), default="process",
                        help="mynacard serve in its own process (default) or in a thread of this one")
    parser.add_argument("--workers", type=int, default=2, help="mynacard serve --workers, with --services process")
    args = parser.parse_args()
    ServeProcess.WORKERS = args.workers
    none = HumanWaits(0, args.seed)
    modes = {"think": HumanWaits(args.think_scale, args.seed), "burst": none}
    if args.arrivals != "both":
        modes = {args.arrivals: modes[args.arrivals]}
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        keys = [rsa.generate_private_key(65537, 2048) for _ in range(6)]
        kind = ServeProcess if args.services == "process" else Services
        services = kind(Path(tmp) / "data", keys, port=free_port()).start()
        try:
            cards = make_cards(services, args.kiosks, Path(tmp))
            url, token = f"{services.base}/centre", services.tokens["kiosk"]
            alone = measure(cards[:1], url, token, 1, max(args.rounds, 5), none)
            loaded = {mode: measure(cards, url, token, args.kiosk_processes, args.rounds, waits)
                      for mode, waits in modes.items()}
        finally:
            services.stop()
    loads.append(os.getloadavg()[0])
    where = (f"mynacard serve --workers {args.workers} in its own process" if args.services == "process"
             else "in a thread of this process")
    print("transaction time the kiosk works, human waits not counted (card check + PIN/signature/centre "
          f"session + fetch/settle + print hand-off); services: {where}; kiosks: {args.kiosks} in "
          f"{min(args.kiosk_processes, args.kiosks)} processes; load average (1 min) {loads[0]:.2f} before, {loads[1]:.2f} after")
    report(f"1 kiosk alone ({len(alone)} visits)", alone, None)
    titles = {"think": "with human waits", "burst": "all at once, no waits"}
    for mode, times in loaded.items():
        report(f"{args.kiosks} kiosks, {titles[mode]} ({len(times)} visits)", times, alone)
    if "think" in modes:
        print(f"  human waits (think): {modes['think'].describe()}")


if __name__ == "__main__":
    main()
