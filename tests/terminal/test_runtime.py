"""Journeys through the running kiosk: in-process cards through host's API, simulated printer,
acceptor and voice, and the test centre stand-in over real HTTP on loopback.

What each checks is what the person and the operator would see: the paper in the tray, the
cash ledger, the centre's ledger, and the card's own retry counter.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from centre_double import CentreDouble
from conftest import MOVED_OUT
from kiosk_harness import Journey, ResidentCard, copy_card, make_sim_kiosk, running
from mynacard.host.card import MyNumberCard
from mynacard.host.jpki import Key
from mynacard.host.transport import open_transport
from mynacard.terminal import machine as m
from mynacard.terminal.centre_client import HttpCentre
from mynacard.terminal.documents import Selection

S = m.State
SELECTION = Selection("juminhyo", "self", ("head_relation",), 1)


def start_session(j: Journey, card: Path) -> None:
    j.wait_state(S.IDLE)
    assert j.send(m.Start()).accepted
    assert j.send(m.Accept()).accepted
    j.sim.reader.insert(card)
    j.wait_state(S.PIN_ENTRY)


def authenticate(j: Journey, pin: str = "1234") -> None:
    assert j.send(m.SubmitPin(pin)).accepted
    j.wait_state(S.REMOVE_CARD)
    j.sim.reader.remove()
    j.wait_state(S.CHOOSE_DOCUMENT)


def pay(j: Journey, selection: Selection = SELECTION) -> None:
    assert j.send(m.ChooseDocument(selection)).accepted
    assert j.send(m.ConfirmFee()).accepted
    j.wait_state(S.PAYMENT)
    assert j.sim.payment.insert(100) and j.sim.payment.insert(500)


def pdf_text(pdf: bytes) -> str:
    """The text lines of the stand-in centre's one-page PDF."""
    return " ".join(line.decode() for line in re.findall(rb"\((.*?)\) '", pdf))


def test_complete_issuance_prints_the_resident_s_document_once(
        tmp_path: Path, centre: CentreDouble, centre_client: HttpCentre,
        resident_cards: list[ResidentCard]) -> None:
    owner = resident_cards[3]
    sim = make_sim_kiosk(centre_client)
    with running(sim) as j:
        start_session(j, copy_card(owner, tmp_path / "card"))
        assert j.sim.messages[-1]["tries_left"] == 3
        authenticate(j)
        pay(j)
        j.wait_state(S.COLLECT)
        assert j.send(m.DocumentTaken()).accepted
        result = j.result()
    assert result["result"] == "completed"
    txn = str(result["transaction_id"])
    [sheet] = sim.printer.tray
    assert sheet.transaction_id == txn
    text = pdf_text(sheet.pdf)
    assert owner.resident.name_roman in text and f"Transaction: {txn}" in text
    assert centre.ledger.transactions[txn].status == "settled"
    assert centre.ledger.transactions[txn].resident_serial == owner.serial
    [charge] = sim.payment.ledger
    assert (charge.kind, charge.transaction_id, charge.amount, charge.change) == ("capture", txn, 200, 400)
    assert txn not in sim.kiosk._documents  # wiped after printing
    states = [msg["state"] for msg in sim.messages if msg["msg"] == "STATE"]
    for expected in ("notice", "wait_card", "card_check", "pin_entry", "authenticating",
                     "remove_card", "choose_document", "confirm_fee", "payment", "fetch",
                     "print", "collect", "complete"):
        assert expected in states


def test_three_wrong_pins_block_the_card_for_real(
        tmp_path: Path, centre_client: HttpCentre, resident_cards: list[ResidentCard]) -> None:
    card = copy_card(resident_cards[4], tmp_path / "card")
    sim = make_sim_kiosk(centre_client)
    with running(sim) as j:
        start_session(j, card)
        for left in (2, 1):
            assert j.send(m.SubmitPin("9999")).accepted
            j.wait_for(lambda left=left: j.kiosk.machine.session.tries_left == left,
                       f"{left} tries left")
            j.wait_state(S.PIN_ENTRY)
        assert j.send(m.SubmitPin("9999")).error == "CONFIRM_LAST_TRY"
        assert j.send(m.SubmitPin("9999", confirm_last_try=True)).accepted
        result = j.result()
    assert (result["result"], result["reason"], result["municipal_window"]) == \
        ("card_refused", "pin_blocked", True)
    with MyNumberCard(open_transport(f"emulator:{card}")) as opened:
        assert opened.jpki.tries_left(Key.AUTH) == 0


def test_card_pulled_mid_read(tmp_path: Path, centre_client: HttpCentre,
                              resident_cards: list[ResidentCard]) -> None:
    sim = make_sim_kiosk(centre_client)
    sim.reader.pull_at_ins = 0xB0  # READ BINARY of the auth certificate
    with running(sim) as j:
        j.wait_state(S.IDLE)
        j.send(m.Start())
        j.send(m.Accept())
        sim.reader.insert(copy_card(resident_cards[5], tmp_path / "card"))
        result = j.result()
        assert result["result"] == "card_removed"
        j.wait_state(S.IDLE)
    assert sim.kiosk._transport is None


@pytest.mark.parametrize("fault, reason", [("jam_next", "media_jam"),
                                           ("hang_next", "print_cancelled")])
def test_a_print_fault_refunds_and_cancels_at_the_centre(
        tmp_path: Path, centre: CentreDouble, centre_client: HttpCentre,
        resident_cards: list[ResidentCard], fault: str, reason: str) -> None:
    """A jam, or a job that hangs until the print timeout cancels it: no paper, no charge."""
    from kiosk_harness import FAST

    sim = make_sim_kiosk(centre_client, FAST.with_timeouts(print=0.5, fetch=3.0))
    setattr(sim.printer, fault, 1)
    with running(sim) as j:
        start_session(j, copy_card(resident_cards[6], tmp_path / "card"))
        authenticate(j)
        pay(j)
        result = j.result()
    assert (result["result"], result["reason"]) == ("print_failed", reason)
    assert sim.printer.tray == []
    assert [(e.kind, e.amount) for e in sim.payment.ledger] == [("refund", 600)]
    assert sim.payment.cash_box == 0
    record = centre.ledger.transactions[str(result["transaction_id"])]
    assert (record.status, record.cancel_reason) == ("cancelled", reason)
    assert sim.kiosk._documents == {}


def test_timeout_returns_to_idle_with_the_card_released(
        tmp_path: Path, centre_client: HttpCentre, resident_cards: list[ResidentCard]) -> None:
    from kiosk_harness import FAST

    card = copy_card(resident_cards[8], tmp_path / "card")
    sim = make_sim_kiosk(centre_client, FAST.with_timeouts(pin_entry=0.3))
    with running(sim) as j:
        start_session(j, card)
        result = j.result()
        assert (result["result"], result["reason"]) == ("timeout", "pin_entry_timeout")
        j.wait_for(lambda: sim.kiosk._transport is None, "the card released")
        assert j.kiosk.machine.state is S.ENDED  # waits for the card to be taken
        sim.reader.remove()
        j.wait_state(S.IDLE)
    with MyNumberCard(open_transport(f"emulator:{card}")) as opened:
        assert opened.jpki.tries_left(Key.AUTH) == 3  # nothing spent


def test_a_resident_who_moved_out_is_refused(
        tmp_path: Path, centre_client: HttpCentre, resident_cards: list[ResidentCard]) -> None:
    sim = make_sim_kiosk(centre_client)
    with running(sim) as j:
        start_session(j, copy_card(resident_cards[MOVED_OUT], tmp_path / "card"))
        assert j.send(m.SubmitPin("1234")).accepted
        j.wait_state(S.REMOVE_CARD)
        sim.reader.remove()
        result = j.result()
    assert (result["result"], result["reason"], result["municipal_window"]) == \
        ("refused", "moved_out", True)
    assert ("go_to_window", "ja") in sim.voice.spoken


def test_a_document_arriving_after_its_session_ended_is_dropped(
        tmp_path: Path, centre: CentreDouble, centre_client: HttpCentre,
        resident_cards: list[ResidentCard], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from kiosk_harness import FAST

    original = centre._request_document

    def slow(body: dict[str, object]) -> tuple[int, dict[str, object]]:
        import time

        time.sleep(1.0)  # the centre answers after the kiosk gave up (fetch timeout 0.3 s)
        return original(body)

    monkeypatch.setattr(centre, "_request_document", slow)
    sim = make_sim_kiosk(centre_client, FAST.with_timeouts(fetch=0.3))
    with running(sim) as j:
        start_session(j, copy_card(resident_cards[16], tmp_path / "card"))
        authenticate(j)
        pay(j)
        result = j.result()
        assert (result["result"], result["reason"]) == ("centre_error", "fetch_timeout")
        txn = str(result["transaction_id"])
        j.wait_for(lambda: txn in centre.ledger.transactions
                   and centre.ledger.transactions[txn].status == "cancelled", "the late cancel")
        j.wait_for(lambda: not sim.kiosk._documents, "the late document dropped")
    assert sim.printer.tray == [] and [(e.kind, e.amount) for e in sim.payment.ledger] == [("refund", 600)]
