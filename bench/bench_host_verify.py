"""The clerk check through pcscd (issue 4): full read + verification of the card.

Prints, for the demo card in a virtual reader (pyscard → pcscd → vpcd → emulator):
- the median time of a complete clerk check (open the card, read the card face with 照合番号B,
  the four facts and My Number with the card-info PIN, the integrity record, the CV certificates,
  the auth certificate; verify every signature; two chip challenges; photo to PNG) — target
  under 200 ms — and its APDU count;
- the same check in-process (no pcscd) measured in the same run, and the ratio between them:
  what the PC/SC path costs;
- the host's verification alone (the same bytes, no card): what the checks themselves cost.

Run: .venv/bin/python bench/bench_host_verify.py [--runs N]
Uses a running pcscd (or starts a private one, and stops it again), never /etc's reader config.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from virtual_card import card_in_virtual_reader

from mynacard.emulator.demo import copy_card, packaged_demo_card
from mynacard.emulator.inprocess import InProcessTransport
from mynacard.host import cvc
from mynacard.host.card import MyNumberCard
from mynacard.host.clerk import ApplicationForm, ClerkSecrets, run_clerk_check
from mynacard.host.records import CardFace, CvCertificate, FourFacts, IntegrityRecord, MyNumberRecord
from mynacard.host.transport import open_transport
from mynacard.host.trust import default_trust
from mynacard.host.verify import verify_certificate
from mynacard.register_stub.person import (
    DEMO_CARD_EXPIRY,
    DEMO_PERSON,
    DEMO_PINS,
    DEMO_SECURITY_CODE,
    verification_code_b,
)

APPLICATION = ApplicationForm(my_number=DEMO_PERSON.my_number, name=DEMO_PERSON.name,
                          address=DEMO_PERSON.card_address, birth=DEMO_PERSON.birth_date.isoformat(),
                          sex=DEMO_PERSON.sex)
SECRETS = ClerkSecrets(code_b=verification_code_b(DEMO_PERSON.birth_date, DEMO_CARD_EXPIRY, DEMO_SECURITY_CODE),
                       text_pin=DEMO_PINS.text_pin)


#: The demo card chains to the test authority, which is trusted only on request (fail closed).
TRUST = default_trust(trust_test_authority=True)


def clerk_check(open_card) -> tuple[float, int]:
    """Seconds for open + full check, and the APDUs it took; fails loudly if the check fails."""
    started = time.perf_counter()
    card = open_card()
    try:
        card.detect()
        report = run_clerk_check(card, APPLICATION, SECRETS, trust=TRUST)
        elapsed = time.perf_counter() - started
        if not report.passed:
            raise SystemExit("the clerk check failed on the demo card:\n" + report.render())
        return elapsed, card.apdu_count
    finally:
        card.close()


def verification_only(card_dir: Path, runs: int) -> float:
    """Median seconds of the host's checks on bytes already read (no card at all)."""
    card = MyNumberCard(InProcessTransport.from_directory(card_dir))
    card.detect()
    card.visual.verify_code_b(SECRETS.code_b)
    face = card.visual.card_face().raw
    visual_cv = card.visual.cv_certificate().raw
    card.text.verify_pin(SECRETS.text_pin)
    my_number = card.text.my_number_record().physical
    facts = card.text.four_facts().raw
    integrity = card.text.integrity_record().raw
    text_cv = card.text.cv_certificate().raw
    auth = card.jpki.auth_certificate()
    card.close()
    from cryptography import x509

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        issuer = CvCertificate.parse(visual_cv, "visual")
        cvc.verify_cv_certificate(issuer, TRUST.cv_roots, "visual")
        cvc.verify_card_face(CardFace.parse(face), issuer.public_key)
        text_issuer = CvCertificate.parse(text_cv, "text")
        cvc.verify_cv_certificate(text_issuer, TRUST.cv_roots, "text")
        cvc.verify_text_integrity(IntegrityRecord.parse(integrity), text_issuer.public_key,
                                  my_number=MyNumberRecord.parse(my_number),
                                  four_facts=FourFacts.parse(facts))
        verify_certificate(x509.load_der_x509_certificate(auth), TRUST.auth)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-host-verify-"))
    card_dir = copy_card(packaged_demo_card(), workdir / "card")
    try:
        with card_in_virtual_reader(card_dir, "bench_host_verify") as reader:
            clerk_check(lambda: MyNumberCard(open_transport(f"pcsc:{reader}")))  # warm-up
            clerk_check(lambda: MyNumberCard(InProcessTransport.from_directory(card_dir)))
            pcsc_times, inproc_times = [], []
            apdus = 0
            for _ in range(args.runs):  # interleaved, so both see the same machine load
                seconds, apdus = clerk_check(lambda: MyNumberCard(open_transport(f"pcsc:{reader}")))
                pcsc_times.append(seconds)
                inproc_times.append(clerk_check(lambda: MyNumberCard(InProcessTransport.from_directory(card_dir)))[0])
        verify_seconds = verification_only(card_dir, args.runs)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    through_pcscd = statistics.median(pcsc_times) * 1000
    in_process = statistics.median(inproc_times) * 1000
    print(f"clerk check (full read + verification) through pcscd: median {through_pcscd:.1f} ms over "
          f"{args.runs} runs, {apdus} APDUs — target < 200 ms: {'met' if through_pcscd < 200 else 'MISSED'}")
    print(f"same check in-process (baseline, same run):            median {in_process:.1f} ms — "
          f"pcscd/in-process ratio {through_pcscd / in_process:.2f}")
    print(f"host verification alone (bytes already read):          median {verify_seconds * 1000:.1f} ms")


if __name__ == "__main__":
    main()
