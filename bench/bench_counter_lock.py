"""The cost of one retry counter across processes (issue 8, defect 1).

Every VERIFY with a value now takes the card directory's flock and re-reads `state.json` under it
before deciding; the VERIFY query re-reads it too; READ BINARY does not touch the state at all.
This prints, for a copy of the demo card on disk, the median time per command of
- the locked path (`DirectoryStore` as the card uses it), and
- the unlocked path measured in the same run: the same store with the flock and the re-read taken
  out (the in-memory copy trusted, as before issue 8) — the baseline,
and their ratio, for a wrong VERIFY, a right VERIFY (two durable writes each), the VERIFY query
and READ BINARY. Rounds interleave the two paths so that disk noise hits both alike.

Run: .venv/bin/python bench/bench_counter_lock.py [--rounds N] [--dir DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from mynacard.applet_model.card import Card
from mynacard.applet_model.state import CardState
from mynacard.applet_model.store import DirectoryStore
from mynacard.emulator.demo import copy_card, packaged_demo_card

SELECT_JPKI = bytes.fromhex("00A4040C0AD392F000260100000001")
SELECT_AUTH_PIN = bytes.fromhex("00A4020C020018")
SELECT_AUTH_CERT = bytes.fromhex("00A4020C02000A")
WRONG = bytes.fromhex("002000800439393939")
RIGHT = bytes.fromhex("002000800431323334")  # the demo auth PIN
QUERY = bytes.fromhex("00200080")
READ = bytes.fromhex("00B0000000")


class UnlockedStore(DirectoryStore):
    """The baseline: the same durable writes, but no flock and no re-read of state.json."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._cached = super().load_state()

    def load_state(self) -> CardState:
        return self._cached.copy()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[CardState]:
        yield self._cached.copy()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        yield

    def save_state(self, state: CardState) -> None:
        super().save_state(state)
        self._cached = state.copy()


def timed(card: Card, setup: list[bytes], command: bytes, times: int) -> list[float]:
    for apdu in setup:
        card.execute(apdu)
    out = []
    for _ in range(times):
        t = time.perf_counter()
        card.execute(command)
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20, help="interleaved rounds (default 20)")
    parser.add_argument("--dir", type=Path, help="where to copy the demo card (default: a temporary directory)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        card_dir = copy_card(packaged_demo_card(), Path(tmp) / "card")
        results: dict[str, dict[str, list[float]]] = {}
        for _ in range(args.rounds):
            for label, store in (("locked", DirectoryStore(card_dir)), ("unlocked", UnlockedStore(card_dir))):
                card = Card.open(store)
                card.power_up()
                row = results.setdefault(label, {})
                pin = [SELECT_JPKI, SELECT_AUTH_PIN]
                row.setdefault("wrong VERIFY", []).extend(timed(card, pin, WRONG, 1))
                row.setdefault("right VERIFY", []).extend(timed(card, pin, RIGHT, 1))
                row.setdefault("VERIFY query", []).extend(timed(card, pin, QUERY, 5))
                row.setdefault("READ BINARY", []).extend(timed(card, [SELECT_JPKI, SELECT_AUTH_CERT], READ, 20))
    print(f"demo card on disk ({card_dir.parent}), {args.rounds} interleaved rounds, medians:")
    for command in results["locked"]:
        locked = statistics.median(results["locked"][command]) * 1e6
        unlocked = statistics.median(results["unlocked"][command]) * 1e6
        print(f"  {command:<13} locked {locked:9.1f} µs   unlocked {unlocked:9.1f} µs   "
              f"ratio {locked / unlocked:5.2f}")


if __name__ == "__main__":
    main()
