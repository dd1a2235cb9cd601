"""The My Number and the four facts read with secure messaging (CI §11) against the plain read.

One round = open the card, detect it, VERIFY the card-info PIN (tries read first), read EF 0001
and EF 0002 — plain, or after `start_secure_messaging()` (EF 0006 read, RSA-OAEP session key,
SM SELECT + SM READ per EF). Both are measured in the same run, alternating, in-process and
through pcscd (vpcd), and the SM/plain ratio is printed with the APDUs each sent.

Run: .venv/bin/python bench/bench_sm_read.py [--rounds N] [--no-pcscd]
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

from mynacard.host.card import MyNumberCard
from mynacard.host.transport import Transport, open_transport

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_host_read import CardInVirtualReader

TEXT_PIN = "1234"  # the demo card's documented card-info PIN


def read(transport: Transport, secure: bool) -> MyNumberCard:
    card = MyNumberCard(transport)
    card.detect()
    card.text.verify_pin(TEXT_PIN)
    if secure:
        card.text.start_secure_messaging()
    card.text.my_number_record()
    card.text.four_facts()
    return card


def measure(label: str, opener: Callable[[], Transport], rounds: int) -> float:
    times: dict[bool, list[float]] = {False: [], True: []}
    apdus: dict[bool, int] = {}
    for _ in range(rounds):
        for secure in (False, True):
            start = time.perf_counter()
            card = read(opener(), secure)
            card.close()
            times[secure].append(time.perf_counter() - start)
            apdus[secure] = card.apdu_count
    plain, sm = statistics.median(times[False]), statistics.median(times[True])
    print(f"\n{label}, median of {rounds} rounds:")
    print(f"  plain read           {plain * 1000:8.2f} ms   {apdus[False]} APDUs")
    print(f"  secure messaging     {sm * 1000:8.2f} ms   {apdus[True]} APDUs")
    print(f"  ratio SM/plain       {sm / plain:8.2f}")
    return sm / plain


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--no-pcscd", action="store_true", help="in-process only")
    args = parser.parse_args()

    from mynacard.emulator.demo import packaged_demo_card

    work = Path(tempfile.mkdtemp(prefix="bench-sm-"))
    card_dir = work / "card"
    shutil.copytree(packaged_demo_card(), card_dir)
    try:
        measure("in-process (emulator transport)", lambda: open_transport(f"emulator:{card_dir}"), args.rounds)
        if not args.no_pcscd:
            with CardInVirtualReader(card_dir) as reader:
                from mynacard.host.pcsc import PcscTransport

                measure(f"pcscd, {reader} (exclusive)", lambda: PcscTransport(reader, exclusive=True), args.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
