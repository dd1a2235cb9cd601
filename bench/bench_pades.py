"""PAdES signing through pcscd against the CMS signature of the same document (issue 12).

Prints, for the demo card in a virtual reader (pyscard → pcscd → vpcd → emulator):
- the median time of a PAdES B-B signature of a small PDF (`sign_pdf`: pyHanko builds the
  incremental update and the CMS, the card signs one DigestInfo), and of a visible one (Japanese
  font subset embedded);
- the median time of the detached CMS signature of the same bytes (`sign_detached`), measured in
  the same run, interleaved: the baseline; and the ratio between them — what PAdES costs on top of
  the one card signature both need.
The signing password is verified once per card session, as `mynacard card sign` does, and is not
part of either figure.

Run: .venv/bin/python bench/bench_pades.py [--runs N]
Uses a running pcscd (or starts a private one, and stops it again), never /etc's reader config.
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

from cryptography import x509
from virtual_card import card_in_virtual_reader

from mynacard.emulator.demo import copy_card, packaged_demo_card
from mynacard.host.card import MyNumberCard
from mynacard.host.jpki import Key
from mynacard.host.pades import PadesOptions, VisibleField, sign_pdf
from mynacard.host.signing import sign_detached
from mynacard.host.transport import open_transport
from mynacard.register_stub.person import DEMO_PINS

# The PAdES tests' hand-written PDF (tests/host_verify/pdf_files.py).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "host_verify"))
from pdf_files import minimal_pdf


def median_ms(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-pades-"))
    card_dir = copy_card(packaged_demo_card(), workdir / "card")
    pdf = minimal_pdf(2)
    visible = PadesOptions(visible=VisibleField.parse("1,50,50,300,110"))
    try:
        with card_in_virtual_reader(card_dir, "bench_pades") as reader, \
                MyNumberCard(open_transport(f"pcsc:{reader}")) as card:
            card.detect()
            card.jpki.verify_signing_password(DEMO_PINS.sign_password)
            certificate = x509.load_der_x509_certificate(card.jpki.signing_certificate())
            chain = [x509.load_der_x509_certificate(card.jpki.signing_ca_certificate())]

            def card_signs(digest_info: bytes) -> bytes:
                return card.jpki.compute_signature(digest_info, key=Key.SIGN)

            sign_pdf(pdf, certificate, chain, card_signs, visible)  # warm-up: imports, font loading
            cms, pades, pades_visible = [], [], []
            for _ in range(args.runs):  # interleaved, so all three see the same machine load
                cms.append(median_ms(lambda: sign_detached(pdf, certificate, card_signs), 1))
                pades.append(median_ms(lambda: sign_pdf(pdf, certificate, chain, card_signs), 1))
                pades_visible.append(median_ms(lambda: sign_pdf(pdf, certificate, chain, card_signs, visible), 1))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    baseline = statistics.median(cms)
    for label, times in (("PAdES B-B", pades), ("PAdES B-B, visible field (IPA Gothic)", pades_visible)):
        value = statistics.median(times)
        print(f"{label + ' through pcscd:':<52} median {value:7.1f} ms over {args.runs} runs — "
              f"ratio to CMS {value / baseline:.2f}")
    print(f"{'CMS detached signature through pcscd (baseline):':<52} median {baseline:7.1f} ms (same run)")


if __name__ == "__main__":
    main()
