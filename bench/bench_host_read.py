"""Host full read of a card (issue 4): time and APDU count, through pcscd and in-process.

A full read = open the card and detect it (AID SELECT), then the My Number and four facts
(card-info PIN), the card face (照合番号B), all four JPKI certificates (signing password) — each
secret verified the safe way (tries read first).

Prints, for each transport (in-process; pcscd with extended APDUs; pcscd with short APDUs):
- the median time of a full read, and its ratio to the in-process read measured in the same run;
- the APDUs sent, by command, against the minimum: READ BINARY against what the object sizes
  allow (⌈n/256⌉ short READs per object, or one extended READ per EF), and the whole exchange
  against the fewest SELECT/VERIFY/READ commands that can fetch the same data.

Run: .venv/bin/python bench/bench_host_read.py [--rounds N] [--card DIR] [--no-pcscd]
(default: a temporary copy of the demo card; pcscd is used or started through the emulator).
"""

from __future__ import annotations

import argparse
import math
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mynacard.host.card import MyNumberCard
from mynacard.host.jpki import Certificate
from mynacard.host.transport import Transport, open_transport

#: The demo card's documented secrets (照合番号B is derived from its person below).
DEMO_SECRETS = {"text_pin": "1234", "sign_password": "ABC123"}


def demo_code_b() -> str:
    from mynacard.register_stub.person import (
        DEMO_CARD_EXPIRY,
        DEMO_PERSON,
        DEMO_SECURITY_CODE,
        verification_code_b,
    )

    return verification_code_b(DEMO_PERSON.birth_date, DEMO_CARD_EXPIRY, DEMO_SECURITY_CODE)


def full_read(transport: Transport, code_b: str) -> tuple[MyNumberCard, list[int]]:
    """One full read; returns the card (for its counters) and the object sizes read."""
    card = MyNumberCard(transport)
    card.detect()  # leaves the card-info AP selected: read it first
    card.text.verify_pin(DEMO_SECRETS["text_pin"])
    number = card.text.my_number_record()
    facts = card.text.four_facts()
    card.visual.verify_code_b(code_b)
    face = card.visual.card_face()
    card.jpki.verify_signing_password(DEMO_SECRETS["sign_password"])
    certs = [card.jpki.certificate(c) for c in (Certificate.AUTH, Certificate.AUTH_CA,
                                                Certificate.SIGN, Certificate.SIGN_CA)]
    sizes = [len(number.physical), len(facts.raw), len(face.raw)] + [len(c) for c in certs]
    return card, sizes


def minimum(sizes: list[int], extended: bool) -> dict[str, int]:
    """The fewest commands that fetch the same data: 3 AP SELECTs, one EF SELECT per object and
    per secret, 3 VERIFYs, and READs as the sizes allow."""
    reads = len(sizes) if extended else sum(math.ceil(n / 256) for n in sizes)
    return {"SELECT": 3 + len(sizes) + 3, "VERIFY": 3, "READ BINARY": reads}


def measure(label: str, opener: Callable[[], Transport], rounds: int, code_b: str) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        transport = opener()
        card, sizes = full_read(transport, code_b)
        card.close()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    counts = card.count_summary()
    least = minimum(sizes, card.channel.extended)
    total_min = sum(least.values())
    print(f"\n{label}: full read median {median * 1000:.2f} ms over {rounds} rounds "
          f"(extended APDUs: {'yes' if card.channel.extended else 'no'})")
    print(f"  objects read: {len(sizes)}, {sum(sizes)} bytes: {sizes}")
    for name, n in counts.items():
        floor = least.get(name)
        print(f"  {name:<22} {n:>3}" + (f"   minimum {floor}" if floor is not None else ""))
    print(f"  READ BINARY sent {counts.get('READ BINARY', 0)}, minimum the sizes allow "
          f"{least['READ BINARY']}")
    print(f"  all APDUs sent {card.apdu_count}, minimum {total_min} (the difference: one tries "
          f"query before each of the 3 VERIFYs, and the detection SELECT of a second AP)")
    return median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--card", type=Path, help="card image directory (a copy is used)")
    parser.add_argument("--no-pcscd", action="store_true", help="in-process only")
    args = parser.parse_args()

    from mynacard.emulator.demo import packaged_demo_card

    source = args.card or packaged_demo_card()
    work = Path(tempfile.mkdtemp(prefix="bench-host-"))
    card_dir = work / "card"
    shutil.copytree(source, card_dir)
    code_b = demo_code_b()
    try:
        base = measure("in-process (emulator transport)",
                       lambda: open_transport(f"emulator:{card_dir}"), args.rounds, code_b)
        if not args.no_pcscd:
            with CardInVirtualReader(card_dir) as reader:
                from mynacard.host.pcsc import PcscTransport

                ext = measure(f"pcscd, {reader}, extended APDUs",
                              lambda: PcscTransport(reader), args.rounds, code_b)
                short = measure(f"pcscd, {reader}, short APDUs only",
                                lambda: PcscTransport(reader, extended_length=False),
                                args.rounds, code_b)
            print(f"\nratio pcscd/in-process: extended {ext / base:.1f}, short {short / base:.1f}; "
                  f"pcscd full read {ext * 1000:.1f} ms (target for read + verification: < 200 ms)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


class CardInVirtualReader:
    """The demo card in a vpcd slot of pcscd (started on demand), through the emulator's API."""

    def __init__(self, card_dir: Path) -> None:
        self.card_dir = card_dir

    def __enter__(self) -> str:
        from mynacard.emulator.cards import ImageCardSource
        from mynacard.emulator.pcsc_state import wait_for_presence
        from mynacard.emulator.pcscd import PcscdLease
        from mynacard.emulator.slot import VirtualSlot
        from mynacard.emulator.slots import lease_slot

        self.pcscd = PcscdLease()
        info = self.pcscd.acquire()
        self.lease = lease_slot(info.slots, None, "bench_host_read")
        slot = self.lease.slot
        self.slot = VirtualSlot(slot.reader, slot.port, ImageCardSource(self.card_dir))
        self.slot.insert()
        if not wait_for_presence(slot.reader, True, 5.0):
            raise SystemExit(f"pcscd did not see the card in {slot.reader}")
        return slot.reader

    def __exit__(self, *exc: object) -> None:
        self.slot.remove()
        self.lease.release()
        self.pcscd.release()


if __name__ == "__main__":
    raise SystemExit(main())
