"""The emulated card through the real PC/SC stack (issue 3): pyscard → pcscd → vpcd → our card.

Prints:
- the median round trip of READ BINARY (256-byte responses) for the demo card against the trivial
  echo card (emulator/echo_card.py) on the same vpcd slot in the same run, interleaved in rounds so
  that drift hits both alike — the ratio is what the card itself adds to the path (target ≤ 1.5);
- the time of a full read of the card from SCardConnect to the last byte: all 4 certificates
  (signing password verified for the signing one), the My Number and the four facts (text-AP PIN),
  the card face (照合番号A) — with 256-byte chunks as most clients read, and with extended Le;
  target under 100 ms.

Uses the running pcscd or starts one (and stops it if it started it). No assertions: figures.

Run: .venv/bin/python bench/bench_vpcd.py [--rounds 5] [--reads 300] [--full-reads 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from smartcard.System import readers

from mynacard.codec import tlv
from mynacard.emulator.cards import EchoCardSource, ImageCardSource
from mynacard.emulator.demo import copy_card, packaged_demo_card
from mynacard.emulator.pcsc_state import wait_for_presence
from mynacard.emulator.readers import VirtualReaders
from mynacard.emulator.slot import VirtualSlot

JPKI = "00A4040C0AD392F000260100000001"
TEXT = "00A4040C0AD3921000310001010408"
VISUAL = "00A4040C0AD3921000310001010402"
READ_256 = [0x00, 0xB0, 0x00, 0x00, 0x00]


def connect(reader_name: str):
    (reader,) = [r for r in readers() if str(r) == reader_name]
    connection = reader.createConnection()
    connection.connect()
    return connection


class Sender:
    def __init__(self, connection) -> None:
        self.connection = connection
        self.count = 0

    def __call__(self, apdu: str | bytes, data: bytes = b"") -> bytes:
        raw = bytes.fromhex(apdu) if isinstance(apdu, str) else apdu
        if data:
            raw += bytes([len(data)]) + data
        response, sw1, sw2 = self.connection.transmit(list(raw))
        self.count += 1
        if (sw1, sw2) != (0x90, 0x00):
            raise RuntimeError(f"{raw.hex().upper()} answered {sw1:02X}{sw2:02X}")
        return bytes(response)


def read_ef(send: Sender, fid: int, extended: bool, header: int = 4) -> bytes:
    send(f"00A4020C02{fid:04X}")
    head = send(f"00B00000{header:02X}")
    size, out = tlv.total_size(head), head
    if extended:  # the rest in one extended-Le READ BINARY (CI §1)
        return head + send(f"00B0{len(head):04X}00{size - len(head):04X}")
    while len(out) < size:
        chunk = min(256, size - len(out))
        out += send(f"00B0{len(out):04X}{chunk & 0xFF:02X}")
    return out


def full_read(reader_name: str, extended: bool, secrets: dict[str, bytes]) -> tuple[float, int]:
    """(seconds, APDUs) for everything a client reads from the card, from SCardConnect on."""
    started = time.perf_counter()
    connection = connect(reader_name)
    send = Sender(connection)
    send(JPKI)
    for fid in (0x000A, 0x000B, 0x0002):
        read_ef(send, fid, extended)
    send("00A4020C02001B")
    send("00200080", secrets["sign"])
    read_ef(send, 0x0001, extended)
    send(TEXT)
    send("00A4020C020011")
    send("00200080", secrets["text"])
    send("00A4020C020001")
    my_number = send("00B0000011")[3:15]
    read_ef(send, 0x0002, extended, header=7)
    send(VISUAL)
    send("00A4020C020013")
    send("00200080", my_number)
    face = read_ef(send, 0x0002, extended, header=7)
    elapsed = time.perf_counter() - started
    assert face[:2] == b"\xff\x20"
    connection.disconnect()
    connection.release()
    return elapsed, send.count


def round_trips(reader_name: str, prepare: Callable[[Sender], None], count: int) -> list[float]:
    connection = connect(reader_name)
    send = Sender(connection)
    prepare(send)
    transmit = connection.transmit
    for _ in range(20):  # warm-up
        transmit(READ_256)
    times = []
    for _ in range(count):
        t = time.perf_counter()
        transmit(READ_256)
        times.append(time.perf_counter() - t)
    connection.disconnect()
    connection.release()
    return times


def swap(slot: VirtualSlot, source: object) -> None:
    if not slot.exchange(source):  # type: ignore[arg-type]
        wait_for_presence(slot.reader, True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of echo vs card")
    parser.add_argument("--reads", type=int, default=300, help="READ BINARY per round and card")
    parser.add_argument("--full-reads", type=int, default=20, help="full reads per variant")
    args = parser.parse_args()

    from mynacard.register_stub.person import DEMO_PINS

    secrets = {"sign": DEMO_PINS.sign_password.encode(), "text": DEMO_PINS.text_pin.encode()}
    with tempfile.TemporaryDirectory() as tmp, VirtualReaders() as virtual:
        card = ImageCardSource(copy_card(packaged_demo_card(), Path(tmp) / "card"))
        echo = EchoCardSource(atr=card.load().os.getATR())  # same ATR: exchanging them is instant
        lease = virtual.lease(label="bench_vpcd")
        slot = VirtualSlot(lease.slot.reader, lease.slot.port, echo)
        try:
            slot.insert()
            wait_for_presence(slot.reader, True)
            print(f"reader {slot.reader!r}; pcscd pid {virtual.info.pid}"
                  + (" (started for this run)" if virtual.pcscd.started else " (already running)"))

            def select_cert(send: Sender) -> None:
                send(JPKI)
                send("00A4020C02000A")

            samples: dict[str, list[float]] = {"echo": [], "card": []}
            for _ in range(args.rounds):
                swap(slot, echo)
                samples["echo"] += round_trips(slot.reader, lambda send: None, args.reads)
                swap(slot, card)
                samples["card"] += round_trips(slot.reader, select_cert, args.reads)
            med = {name: statistics.median(values) * 1000 for name, values in samples.items()}
            p90 = {name: statistics.quantiles(values, n=10)[-1] * 1000 for name, values in samples.items()}
            print(f"READ BINARY (256 B) round trip, median of {len(samples['card'])}: "
                  f"echo card {med['echo']:.3f} ms (p90 {p90['echo']:.3f}), "
                  f"demo card {med['card']:.3f} ms (p90 {p90['card']:.3f})")
            print(f"ratio demo card / echo card: {med['card'] / med['echo']:.2f}  (target <= 1.5)")

            swap(slot, card)
            for extended in (False, True):
                runs = [full_read(slot.reader, extended, secrets) for _ in range(args.full_reads)]
                times = [t for t, _ in runs]
                label = "extended Le" if extended else "256-byte chunks"
                print(f"full read ({label}): median {statistics.median(times) * 1000:.1f} ms, "
                      f"max {max(times) * 1000:.1f} ms, {runs[0][1]} APDUs  (target < 100 ms)")
        finally:
            slot.remove()
            lease.release()


if __name__ == "__main__":
    main()
