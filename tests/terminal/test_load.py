"""Load: 20 kiosks with their own emulated cards (in-process) and different residents issue at
once against one centre, with injected print jams and print timeouts (hung jobs).

Whatever the faults, the paper, the cash and the centre's ledger must agree:
- every printed document names the resident whose card was used at that kiosk, and belongs to
  that resident's transaction at the centre;
- no transaction is printed twice;
- every charge (cash captured) matches a printed document and a settled transaction, and every
  failed print was refunded and cancelled at the centre.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import logging

import pytest

from centre_double import CentreDouble
from conftest import MOVED_OUT
from fleet import run_fleet
from kiosk_harness import FAST, ResidentCard, copy_card
from mynacard.terminal.centre_client import HttpCentre

KIOSKS = 20


def test_twenty_kiosks_with_jams_and_print_timeouts_keep_paper_cash_and_centre_in_step(
        tmp_path: Path, centre: CentreDouble, centre_client: HttpCentre,
        resident_cards: list[ResidentCard], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mynacard.terminal.journal")
    cards = [c for i, c in enumerate(resident_cards) if i != MOVED_OUT][:KIOSKS]
    dirs = [copy_card(card, tmp_path / f"card-{i}") for i, card in enumerate(cards)]
    visits, sims = run_fleet(cards, dirs, centre_client,
                             config=FAST.with_timeouts(print=1.0, fetch=15.0),
                             jam_every=5, hang_every=5)
    assert [v.error for v in visits if v.error] == []
    results = Counter(str(v.result["result"]) for v in visits)
    reasons = [v.result["reason"] for v in visits if v.result["result"] not in ("completed", "print_failed")]
    assert results == {"completed": 12, "print_failed": 8}, (results, reasons)

    printed: Counter[str] = Counter()
    for visit, sim in zip(visits, sims, strict=True):
        txn = str(visit.result["transaction_id"])
        record = centre.ledger.transactions[txn]
        assert record.resident_serial == visit.card.serial  # bound to this kiosk's resident
        sheets = sim.printer.tray
        captures = [e for e in sim.payment.ledger if e.kind == "capture"]
        refunds = [e for e in sim.payment.ledger if e.kind == "refund"]
        for sheet in sheets:
            printed[sheet.transaction_id] += 1
            names = re.findall(rb"\(Resident: (.*?)\) '", sheet.pdf)
            assert names == [visit.card.resident.name_roman.encode()]
            assert sheet.transaction_id == txn
        if visit.result["result"] == "completed":
            assert len(sheets) == 1 and record.status == "settled"
            assert [(c.transaction_id, c.amount) for c in captures] == [(txn, record.fee)]
            assert refunds == [] and sim.payment.cash_box == record.fee
        else:
            assert visit.result["reason"] in ("media_jam", "print_cancelled")
            assert sheets == [] and captures == [] and sim.payment.cash_box == 0
            assert [r.amount for r in refunds] == [1000]
            assert record.status == "cancelled"
        assert sim.kiosk._documents == {}  # nothing left in memory either
    assert all(n == 1 for n in printed.values()) and len(printed) == 12

    # The journal of 20 sessions names no one: no name, address, My Number or PIN (transaction
    # ids are random hex, so they are taken out before looking for the 4-digit PIN).
    journal = re.sub(r"[0-9a-f]{32}", "<txn>", caplog.text)
    assert journal.count("result ") == KIOSKS
    for card in cards:
        for secret in (card.resident.name, *card.resident.name.split("\u3000"),
                       card.resident.name_roman, card.resident.address, card.resident.my_number,
                       card.pin):
            assert secret not in journal
