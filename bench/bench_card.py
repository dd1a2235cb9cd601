"""In-process card model speed (issue 2).

Prints:
- READ BINARY APDUs per second through `Card.execute` (256-byte responses), against a trivial
  baseline measured in the same run: the same loop over a function that only slices the EF;
- the overhead of a COMPUTE DIGITAL SIGNATURE (`80 2A 00 80`, SHA-256 DigestInfo) against a bare
  `cryptography` RSA-2048 PKCS#1 v1.5 signature with the same key, medians of interleaved runs
  (target ≤ 1.2).

Run: .venv/bin/python bench/bench_card.py [--card DIR]   (default: the demo card, in memory)
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from mynacard.applet_model.card import Card
from mynacard.applet_model.store import DirectoryStore, MemoryStore
from mynacard.codec.digest_info import PREFIXES

DEMO = Path(__file__).resolve().parent.parent / "emulator" / "demo_card"
DIGEST_INFO_SHA256 = PREFIXES["sha256"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--card", type=Path, default=DEMO, help="card image directory (read, never written)")
    parser.add_argument("--reads", type=int, default=20000)
    parser.add_argument("--signatures", type=int, default=300)
    args = parser.parse_args()

    image = DirectoryStore(args.card).load_image()
    card = Card.open(MemoryStore(image))
    send = card.execute
    send(bytes.fromhex("00A4040C0AD392F000260100000001"))
    send(bytes.fromhex("00A4020C02000A"))
    apdus = [bytes((0x00, 0xB0, i % 4, 0x00, 0x00)) for i in range(args.reads)]
    t = time.perf_counter()
    for apdu in apdus:
        send(apdu)
    card_s = time.perf_counter() - t
    content = image.applications["jpki"].files[0x000A].ljust(0x800, b"\xff")
    t = time.perf_counter()
    for apdu in apdus:
        offset = apdu[2] << 8
        content[offset:offset + 256] + b"\x90\x00"
    base_s = time.perf_counter() - t
    print(f"READ BINARY in-process: {args.reads / card_s:,.0f} APDUs/s "
          f"({card_s / args.reads * 1e6:.1f} µs each; bare slicing {base_s / args.reads * 1e6:.2f} µs)")

    pin = "1234"
    assert send(bytes.fromhex("00A4020C020018"))[-2:] == b"\x90\x00"
    verify = bytes.fromhex("00200080") + bytes((len(pin),)) + pin.encode()
    if send(verify)[-2:] != b"\x90\x00":
        raise SystemExit("the card's auth PIN is not the demo PIN 1234; pass a demo card")
    send(bytes.fromhex("00A4020C020017"))
    key = image.applications["jpki"].keys["auth"]
    card_times, bare_times = [], []
    for i in range(args.signatures):
        digest = hashlib.sha256(i.to_bytes(4, "big")).digest()
        apdu = bytes.fromhex("802A008033") + DIGEST_INFO_SHA256 + digest + b"\x00"
        t = time.perf_counter()
        response = send(apdu)
        card_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        bare = key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        bare_times.append(time.perf_counter() - t)
        assert response[:-2] == bare, "card and cryptography disagree on a deterministic signature"
    card_ms, bare_ms = statistics.median(card_times) * 1e3, statistics.median(bare_times) * 1e3
    print(f"80 2A signature: card {card_ms:.3f} ms, bare cryptography {bare_ms:.3f} ms, "
          f"overhead ratio {card_ms / bare_ms:.3f} (target <= 1.2)")


if __name__ == "__main__":
    main()
