"""Kiosk transaction time without human waits (issue 11): p50/p99 with 1 kiosk and with N
concurrent kiosks, and their ratio.

"Without human waits" = the time the kiosk itself works in one issuance: card check, PIN +
signature + centre session (authenticating), fetch + settle, and print (the simulated printer
takes no mechanical time here, so this is the software path around it). Measured from the
timestamps of the kiosk's own STATE messages. Every kiosk has its own in-process emulated card
and resident; all talk to the test centre stand-in (tests/terminal/centre_double.py) over HTTP
on loopback, in one process, as an integrator hosting several terminals would.

Run: .venv/bin/python bench/bench_kiosk.py [--kiosks 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "terminal"))

from centre_double import TOKEN, CentreDouble, Resident
from cryptography.hazmat.primitives.asymmetric import rsa
from fleet import run_fleet
from kiosk_harness import FAST, ResidentCard

from mynacard.terminal.centre_client import HttpCentre


def make_cards(n: int, root: Path) -> list[ResidentCard]:
    from mynacard.applet_model.store import DirectoryStore
    from mynacard.ca.authority import load_test_authority
    from mynacard.ca.keys import KeyPool
    from mynacard.register_stub import my_number
    from mynacard.register_stub.person import DEMO_PINS, CardDetails, Person
    from mynacard.register_stub.personalise import personalise

    authority = load_test_authority()
    keys = KeyPool([rsa.generate_private_key(65537, 2048) for _ in range(6)])
    cards = []
    for i in range(n):
        base = f"{27182818000 + i * 7:011d}"
        person = Person(family_name="試験", given_name=f"太郎{i}", address=f"東京都千代田区見本町3-{i + 1}",
                        birth_date=date(1970, 1, 1 + i % 28), sex="1",
                        my_number=base + str(my_number.check_digit(base)), municipality_code="13101")
        made = personalise(person, CardDetails(date(2035, 1, 1), "1357"), DEMO_PINS,
                           authority=authority, key_source=keys)
        DirectoryStore.create(root / f"card-{i}", made.image)
        cards.append(ResidentCard(root / f"card-{i}", made.auth_certificate.serial,
                                  Resident(person.name, f"BENCH {i}", person.card_address,
                                           person.my_number)))
    return cards


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
    from mynacard.ca.authority import load_test_authority

    with tempfile.TemporaryDirectory() as tmp:
        cards = make_cards(args.kiosks, Path(tmp))
        double = CentreDouble({c.serial: c.resident for c in cards},
                              load_test_authority().auth_ca.certificate).start()
        try:
            client = HttpCentre(double.url, TOKEN)
            alone = measure(cards, client, 1, max(args.rounds, 5))
            loaded = measure(cards, client, args.kiosks, args.rounds)
        finally:
            double.close()
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
