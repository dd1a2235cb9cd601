"""The CUPS printer adapter against Debian's cups-pdf, in a private cupsd (cups_harness.py).

The paper here is the PDF cups-pdf writes; `pdftotext` (poppler) reads it back, independently
of the kiosk, to check whose document came out and for which transaction.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import cups_harness
from centre_double import CentreDouble, make_pdf
from kiosk_harness import ResidentCard, copy_card, make_sim_kiosk, running
from mynacard.terminal import machine as m
from mynacard.terminal.centre_client import HttpCentre
from mynacard.terminal.documents import Selection
from mynacard.terminal.printer import CupsPrinter, JobState

pytestmark = pytest.mark.skipif(cups_harness.missing() is not None,
                                reason=cups_harness.missing() or "")


@pytest.fixture(scope="module")
def cups() -> Iterator[cups_harness.PrivateCups]:
    server = cups_harness.start()
    yield server
    server.stop()


@pytest.fixture
def printer(cups: cups_harness.PrivateCups) -> CupsPrinter:
    return CupsPrinter(cups_harness.QUEUE, server=cups.socket)


def wait_done(printer: CupsPrinter, job: str) -> tuple[JobState, str | None]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state, reason = printer.status(job)
        if state is not JobState.PENDING:
            return state, reason
        time.sleep(0.1)
    raise AssertionError(f"job {job} still pending after 30 s")


def pdf_to_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_a_job_is_printed_under_its_transaction_id_and_not_kept_in_the_spool(
        cups: cups_harness.PrivateCups, printer: CupsPrinter) -> None:
    txn = f"cupstest{uuid.uuid4().hex}"
    job = printer.submit(txn, make_pdf([f"Transaction: {txn}", "Resident: SATO HANAKO"]), 1)
    assert job.startswith(cups_harness.QUEUE)
    assert wait_done(printer, job) == (JobState.DONE, None)
    text = pdf_to_text(cups.output_for(txn))
    assert f"Transaction: {txn}" in text and "Resident: SATO HANAKO" in text
    assert not list((cups.root / "spool").glob("d*")), "CUPS kept a copy of the document"
    assert printer.cancel(job) is False  # printed already: cancelling cannot un-print it


def test_a_stopped_printer_fails_the_job_and_cancel_keeps_it_off_paper(
        cups: cups_harness.PrivateCups, printer: CupsPrinter) -> None:
    subprocess.run([cups_harness.tool("cupsdisable"), "-h", cups.socket, cups_harness.QUEUE], check=True)
    try:
        txn = f"cupstest{uuid.uuid4().hex}"
        job = printer.submit(txn, make_pdf([f"Transaction: {txn}"]), 1)
        assert printer.status(job) == (JobState.FAILED, "printer_paused")
        assert printer.cancel(job) is True
    finally:
        subprocess.run([cups_harness.tool("cupsenable"), "-h", cups.socket, cups_harness.QUEUE], check=True)
    time.sleep(1)
    assert not list(cups.output_dir.glob(f"{txn}*.pdf"))
    assert printer.status(job) == (JobState.CANCELLED, "cancelled")


def test_complete_issuance_on_cups_pdf_names_the_right_resident(
        tmp_path: Path, cups: cups_harness.PrivateCups, printer: CupsPrinter,
        centre: CentreDouble, centre_client: HttpCentre,
        resident_cards: list[ResidentCard]) -> None:
    owner = resident_cards[9]
    sim = make_sim_kiosk(centre_client)
    sim.kiosk.devices.printer = printer
    with running(sim) as j:
        j.wait_state(m.State.IDLE)
        j.send(m.Start())
        j.send(m.Accept())
        sim.reader.insert(copy_card(owner, tmp_path / "card"))
        j.wait_state(m.State.PIN_ENTRY)
        j.send(m.SubmitPin("1234"))
        j.wait_state(m.State.REMOVE_CARD)
        sim.reader.remove()
        j.wait_state(m.State.CHOOSE_DOCUMENT)
        j.send(m.ChooseDocument(Selection("juminhyo", "household", (), 1)))
        j.send(m.ConfirmFee())
        j.wait_state(m.State.PAYMENT)
        sim.payment.insert(500)
        j.wait_state(m.State.COLLECT, timeout=30)
        j.send(m.DocumentTaken())
        result = j.result()
    txn = str(result["transaction_id"])
    text = pdf_to_text(cups.output_for(txn))
    assert f"Resident: {owner.resident.name_roman}" in text and f"Transaction: {txn}" in text
    assert centre.ledger.transactions[txn].status == "settled"
    assert [(e.kind, e.amount) for e in sim.payment.ledger] == [("capture", 200)]
