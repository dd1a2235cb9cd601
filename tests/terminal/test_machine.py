"""The kiosk state machine with a fake clock: every transition, timeout, refusal and money rule.

No devices, no threads: each test feeds events and checks the state and the effects. The rules
under test are those of jpki-system.md §6 (hours, closed days, the PIN's three tries, card
removal before the choice, refusals) and of issue 11 (bound transaction ids, never charge
without a document, never print unsettled, refund on a jam).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar
from datetime import UTC, datetime, timedelta

import pytest

from mynacard.terminal import machine as m
from mynacard.terminal.config import ALWAYS_OPEN, JST, KioskConfig, ServiceHours
from mynacard.terminal.documents import Choice, DocumentOffer, Eligibility, Selection

S = m.State
E = TypeVar("E")
OPEN_TIME = datetime(2026, 11, 30, 10, 0, tzinfo=JST)
JUMINHYO = DocumentOffer("juminhyo", "住民票の写し", "Certificate of residence", 200,
                         (Choice("self", "本人", "Myself"), Choice("household", "世帯", "Household")),
                         (Choice("my_number", "個人番号", "My Number"),))
INKAN = DocumentOffer("inkan", "印鑑登録証明書", "Seal", 200, (Choice("self", "本人", "Me"),),
                      available=False, refusal="seal_not_registered")
DOCS = (JUMINHYO, INKAN)
SELECTION = Selection("juminhyo", "self", ("my_number",), 2)


@dataclass
class FakeClock:
    t: datetime = OPEN_TIME

    def now(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


class Driver:
    """A machine, its fake clock, and every effect it asked for."""

    def __init__(self, config: KioskConfig | None = None, at: datetime = OPEN_TIME) -> None:
        self.clock = FakeClock(at)
        ids = iter(f"txn-{n:04d}" for n in range(1, 1000))
        self.m = m.KioskMachine(config or KioskConfig(), self.clock, lambda: next(ids))
        self.effects: list[m.Effect] = []

    def send(self, event: m.Event) -> m.Outcome:
        outcome = self.m.handle(event)
        self.effects.extend(outcome.effects)
        return outcome

    def wait(self, seconds: float) -> list[m.Effect]:
        self.clock.advance(seconds)
        effects = self.m.tick()
        self.effects.extend(effects)
        return effects

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.effects if isinstance(e, kind)]

    @property
    def state(self) -> m.State:
        return self.m.state

    # --- walking to a state ---------------------------------------------------------------------

    def to(self, target: m.State, *, tries: int = 3, eligible: bool = True) -> Driver:
        steps: list[tuple[m.State, m.Event]] = [
            (S.NOTICE, m.Start()), (S.WAIT_CARD, m.Accept()), (S.CARD_CHECK, m.CardInserted()),
            (S.PIN_ENTRY, m.CardChecked(tries)), (S.AUTHENTICATING, m.SubmitPin("1234", True)),
            (S.REMOVE_CARD, m.Authenticated("sess-1", Eligibility(eligible, None if eligible
                                                                 else "moved_out"), DOCS)),
            (S.CHOOSE_DOCUMENT, m.CardRemoved()), (S.CONFIRM_FEE, m.ChooseDocument(SELECTION)),
            (S.PAYMENT, m.ConfirmFee()), (S.FETCH, m.CashInserted(1000)),
            (S.FETCH, m.DocumentFetched("txn-0001", 1)), (S.PRINT, m.Settled("txn-0001")),
            (S.COLLECT, m.Printed("txn-0001")), (S.COMPLETE, m.DocumentTaken()),
        ]
        for expected, event in steps:
            if self.state is target:
                return self
            outcome = self.send(event)
            assert outcome.accepted, (event, outcome)
            assert self.state is expected, (event, self.state)
        assert self.state is target
        return self


# --- hours and closed days ----------------------------------------------------------------------


@pytest.mark.parametrize("when, open_", [
    (datetime(2026, 11, 30, 6, 29, tzinfo=JST), False),
    (datetime(2026, 11, 30, 6, 30, tzinfo=JST), True),
    (datetime(2026, 11, 30, 22, 59, tzinfo=JST), True),
    (datetime(2026, 11, 30, 23, 0, tzinfo=JST), False),
    (datetime(2026, 12, 28, 12, 0, tzinfo=JST), True),
    (datetime(2026, 12, 29, 12, 0, tzinfo=JST), False),
    (datetime(2027, 1, 1, 12, 0, tzinfo=JST), False),
    (datetime(2027, 1, 3, 12, 0, tzinfo=JST), False),
    (datetime(2027, 1, 4, 12, 0, tzinfo=JST), True),
    (datetime(2026, 11, 30, 1, 0, tzinfo=UTC), True),  # 10:00 in Japan
])
def test_service_hours_and_year_end_closure(when: datetime, open_: bool) -> None:
    d = Driver(at=when)
    assert d.state is (S.IDLE if open_ else S.OUT_OF_SERVICE)


def test_the_kiosk_closes_at_23_00_and_reopens_at_06_30() -> None:
    d = Driver(at=datetime(2026, 11, 30, 22, 59, 59, tzinfo=JST))
    assert d.state is S.IDLE
    d.wait(1)
    assert d.state is S.OUT_OF_SERVICE
    outcome = d.send(m.Start())
    assert outcome.error == m.BAD_STATE and d.state is S.OUT_OF_SERVICE
    d.wait(7.5 * 3600)
    assert d.state is S.IDLE


def test_a_session_under_way_at_closing_time_finishes() -> None:
    d = Driver(at=datetime(2026, 11, 30, 22, 59, 0, tzinfo=JST)).to(S.CHOOSE_DOCUMENT)
    d.wait(61)
    assert d.state is S.CHOOSE_DOCUMENT


@pytest.mark.parametrize("when", [datetime(2026, 11, 30, 3, 0, tzinfo=JST),
                                  datetime(2026, 12, 31, 23, 59, 59, tzinfo=JST),
                                  datetime(2027, 1, 1, 0, 0, tzinfo=JST)])
def test_a_kiosk_configured_always_open(when: datetime) -> None:
    assert Driver(KioskConfig(hours=ALWAYS_OPEN), at=when).state is S.IDLE


def test_maintenance_days_and_the_maintenance_switch() -> None:
    day = datetime(2026, 11, 30, 12, 0, tzinfo=JST)
    config = KioskConfig(hours=ServiceHours(maintenance_days=frozenset({day.date()})))
    assert Driver(config, at=day).state is S.OUT_OF_SERVICE
    d = Driver()
    d.send(m.SetMaintenance(True))
    assert d.state is S.OUT_OF_SERVICE and d.m.view()["maintenance"] is True
    d.send(m.SetMaintenance(False))
    assert d.state is S.IDLE


def test_maintenance_waits_for_the_session_to_end() -> None:
    d = Driver().to(S.PIN_ENTRY)
    d.send(m.SetMaintenance(True))
    assert d.state is S.PIN_ENTRY
    d.send(m.Cancel())
    d.send(m.CardRemoved())
    d.send(m.Acknowledge())
    assert d.state is S.OUT_OF_SERVICE


# --- the happy path and what it asks of the devices ----------------------------------------------


def test_complete_issuance_charges_once_after_printing_and_wipes_everything() -> None:
    d = Driver().to(S.COMPLETE)
    kinds = [type(e) for e in d.effects if not isinstance(e, m.Speak)]
    # Order matters: cash held → document fetched → settled → printed → captured → wiped.
    assert kinds.index(m.FetchDocument) < kinds.index(m.Settle) < kinds.index(m.Print) \
        < kinds.index(m.Capture) < kinds.index(m.WipeDocument)
    assert d.of(m.Capture) == [m.Capture("txn-0001", 400)]  # ¥200 × 2 copies
    assert d.of(m.Refund) == [] and d.of(m.CancelTransaction) == []
    assert d.of(m.Print) == [m.Print("txn-0001", 2)]
    assert d.of(m.Finished) == [m.Finished(m.Result.COMPLETED, None, "txn-0001")]
    assert d.of(m.EndCentreSession) == [m.EndCentreSession("sess-1")]
    assert d.m.session.centre_session is None and d.m.session.selection is None
    d.wait(10)
    assert d.state is S.IDLE


def test_the_pin_never_stays_in_the_machine_or_in_a_repr() -> None:
    d = Driver().to(S.PIN_ENTRY)
    d.send(m.SubmitPin("9876"))
    auth = d.of(m.Authenticate)[0]
    assert auth.pin == "9876" and "9876" not in repr(auth) and "9876" not in repr(m.SubmitPin("9876"))
    assert "9876" not in repr(vars(d.m)) and "9876" not in repr(d.m.view())


def test_the_card_already_on_the_reader_is_read_when_the_notice_is_accepted() -> None:
    d = Driver()
    d.send(m.CardInserted())
    d.send(m.Start())
    d.send(m.Accept())
    assert d.state is S.CARD_CHECK and d.of(m.ReadCard)


# --- card check -------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["not_my_number_card", "juki_card", "certificate_expired",
                                    "pin_blocked", "card_unreadable"])
def test_unusable_cards_go_to_the_municipal_window(reason: str) -> None:
    d = Driver().to(S.CARD_CHECK)
    d.send(m.CardRefused(reason))
    view = d.m.view()
    assert d.state is S.ENDED
    assert view["result"] == "card_refused" and view["reason"] == reason
    assert view["municipal_window"] is True
    assert m.Speak("go_to_window") in d.effects and d.of(m.ReleaseCard)


def test_a_card_reporting_zero_tries_is_blocked() -> None:
    d = Driver().to(S.CARD_CHECK)
    d.send(m.CardChecked(0))
    assert d.state is S.ENDED and d.m.view()["reason"] == "pin_blocked"


def test_card_pulled_mid_read_ends_the_session_and_releases_the_card() -> None:
    d = Driver().to(S.CARD_CHECK)
    d.send(m.CardRemoved())
    assert d.state is S.ENDED and d.m.view()["result"] == "card_removed"
    assert d.of(m.ReleaseCard)
    d.wait(20)
    assert d.state is S.IDLE


# --- PIN entry --------------------------------------------------------------------------------


def test_pin_tries_are_shown_and_the_last_try_must_be_confirmed() -> None:
    d = Driver().to(S.PIN_ENTRY)
    assert d.m.view()["tries_left"] == 3 and d.m.view()["last_try"] is False
    d.send(m.SubmitPin("0000"))
    d.send(m.PinRejected(2))
    assert d.state is S.PIN_ENTRY and d.m.view()["tries_left"] == 2
    d.send(m.SubmitPin("0000"))
    d.send(m.PinRejected(1))
    assert d.m.view()["last_try"] is True and m.Speak("last_try") in d.effects
    refused = d.send(m.SubmitPin("0000"))
    assert refused.error == "CONFIRM_LAST_TRY" and d.state is S.PIN_ENTRY
    d.send(m.SubmitPin("0000", confirm_last_try=True))
    assert d.of(m.Authenticate)[-1].allow_last_try is True
    d.send(m.PinBlocked())
    assert d.state is S.ENDED and d.m.view()["reason"] == "pin_blocked"
    assert d.m.view()["municipal_window"] is True


@pytest.mark.parametrize("pin", ["123", "12345", "12a4", "", "１２３４"])
def test_a_malformed_pin_is_refused_before_the_card_sees_it(pin: str) -> None:
    d = Driver().to(S.PIN_ENTRY)
    outcome = d.send(m.SubmitPin(pin))
    assert outcome.error == "BAD_VALUE" and d.state is S.PIN_ENTRY and not d.of(m.Authenticate)


def test_the_card_pulled_during_authentication() -> None:
    d = Driver().to(S.AUTHENTICATING)
    d.send(m.CardRemoved())
    assert d.m.view()["result"] == "card_removed"


@pytest.mark.parametrize("result, window", [(m.Result.AUTH_REFUSED, True),
                                            (m.Result.CENTRE_ERROR, False)])
def test_authentication_refused_or_failed(result: m.Result, window: bool) -> None:
    d = Driver().to(S.AUTHENTICATING)
    d.send(m.AuthFailed(result, "certificate_revoked"))
    assert d.m.view()["result"] == result.value and d.m.view()["municipal_window"] is window


# --- card removal and the left-behind guard -------------------------------------------------------


def test_no_progress_until_the_card_is_removed_and_the_reminder_repeats() -> None:
    d = Driver(KioskConfig(reminder=5)).to(S.REMOVE_CARD)
    assert d.of(m.ReleaseCard)  # the card is released as soon as authentication succeeded
    assert d.send(m.ChooseDocument(SELECTION)).error == m.BAD_STATE
    assert d.wait(5) == [m.Speak("take_card")]
    assert d.wait(5) == [m.Speak("take_card")]
    d.send(m.StopReminder())
    assert d.wait(5) == []
    d.send(m.CardRemoved())
    assert d.state is S.CHOOSE_DOCUMENT


def test_a_card_never_removed_ends_the_session_and_keeps_reminding() -> None:
    d = Driver(KioskConfig(reminder=5).with_timeouts(remove_card=30, ended=10)).to(S.REMOVE_CARD)
    d.wait(30)
    assert d.state is S.ENDED and d.m.view()["result"] == "timeout"
    d.wait(10)
    assert d.state is S.ENDED  # idle only once the card is taken
    assert d.wait(5) == [m.Speak("take_card")]
    d.send(m.CardRemoved())
    assert d.state is S.IDLE


def test_a_refused_resident_is_told_after_removing_the_card() -> None:
    d = Driver().to(S.REMOVE_CARD, eligible=False)
    d.send(m.CardRemoved())
    view = d.m.view()
    assert view["result"] == "refused" and view["reason"] == "moved_out"
    assert view["municipal_window"] is True and d.of(m.EndCentreSession)


def test_authenticated_after_the_card_was_already_taken_goes_straight_to_the_choice() -> None:
    d = Driver().to(S.AUTHENTICATING)
    d.m.card_present = False  # the person lifted the card as the signature completed
    d.send(m.Authenticated("sess-1", Eligibility(True), DOCS))
    assert d.state is S.CHOOSE_DOCUMENT


# --- choosing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("selection, error", [
    (Selection("koseki", "self", (), 1), "unknown_document"),
    (Selection("inkan", "self", (), 1), "seal_not_registered"),
    (Selection("juminhyo", "everyone", (), 1), "unknown_scope"),
    (Selection("juminhyo", "self", ("juminhyo_code",), 1), "unknown_option"),
    (Selection("juminhyo", "self", (), 0), "copies_out_of_range"),
    (Selection("juminhyo", "self", (), 11), "copies_out_of_range"),
])
def test_choices_the_offer_does_not_allow(selection: Selection, error: str) -> None:
    d = Driver().to(S.CHOOSE_DOCUMENT)
    outcome = d.send(m.ChooseDocument(selection))
    assert outcome.error == error and d.state is S.CHOOSE_DOCUMENT


def test_the_choice_view_lists_the_offer_and_back_returns_to_it() -> None:
    d = Driver().to(S.CHOOSE_DOCUMENT)
    documents = d.m.view()["documents"]
    assert isinstance(documents, list)
    codes = [doc["code"] for doc in documents]
    assert codes == ["juminhyo", "inkan"]
    d.send(m.ChooseDocument(SELECTION))
    assert d.m.view()["fee"] == 400 and d.m.view()["transaction_id"] == "txn-0001"
    d.send(m.Back())
    assert d.state is S.CHOOSE_DOCUMENT
    d.send(m.ChooseDocument(SELECTION))
    assert d.m.view()["transaction_id"] == "txn-0002"  # a new choice is a new transaction


# --- payment, fetch, print: the money rules -----------------------------------------------------


def test_payment_progress_and_change() -> None:
    d = Driver().to(S.PAYMENT)
    assert d.of(m.AcceptCash) == [m.AcceptCash(400)]
    d.send(m.CashInserted(100))
    assert d.state is S.PAYMENT and d.m.view()["paid"] == 100
    d.send(m.CashInserted(600))
    assert d.state is S.FETCH and m.StopCash() in d.effects


def test_cancel_during_payment_refunds() -> None:
    d = Driver().to(S.PAYMENT)
    d.send(m.CashInserted(100))
    d.send(m.Cancel())
    assert d.of(m.Refund) and not d.of(m.Capture) and d.state is S.ENDED


def test_payment_timeout_refunds() -> None:
    d = Driver().to(S.PAYMENT)
    d.send(m.CashInserted(100))
    d.wait(120)
    assert d.m.view()["result"] == "timeout" and d.of(m.Refund) and not d.of(m.Capture)


def test_a_document_for_another_transaction_is_never_taken() -> None:
    d = Driver().to(S.FETCH)
    d.send(m.DocumentFetched("txn-9999", 1))
    d.send(m.Settled("txn-9999"))
    assert d.state is S.FETCH and not d.of(m.Settle) and not d.of(m.Print)


def test_printing_starts_only_after_the_centre_settled() -> None:
    d = Driver().to(S.FETCH)
    d.send(m.Settled("txn-0001"))  # settled before fetched: out of order, ignored
    assert not d.of(m.Print)
    d.send(m.DocumentFetched("txn-0001", 1))
    assert d.of(m.Settle) == [m.Settle("txn-0001", "sess-1", 400)] and not d.of(m.Print)
    d.send(m.Settled("txn-0001"))
    assert d.state is S.PRINT and d.of(m.Print)


@pytest.mark.parametrize("result", [m.Result.CENTRE_ERROR, m.Result.REFUSED])
def test_fetch_failure_refunds_and_cancels(result: m.Result) -> None:
    d = Driver().to(S.FETCH)
    d.send(m.FetchFailed("txn-0001", result, "deceased"))
    assert d.m.view()["result"] == result.value and d.of(m.Refund)
    assert d.of(m.CancelTransaction) and not d.of(m.Print)


def test_paper_jam_refunds_cancels_and_never_charges() -> None:
    d = Driver().to(S.PRINT)
    d.send(m.PrintFailed("txn-0001", "media_jam"))
    view = d.m.view()
    assert view["result"] == "print_failed" and view["reason"] == "media_jam"
    assert d.of(m.Refund) == [m.Refund("media_jam")] and not d.of(m.Capture)
    assert d.of(m.CancelTransaction) == [m.CancelTransaction("txn-0001", "sess-1", "media_jam")]
    assert d.of(m.WipeDocument) == [m.WipeDocument("txn-0001")]


def test_print_timeout_cancels_the_job_and_waits_for_the_printer_s_answer() -> None:
    d = Driver(KioskConfig().with_timeouts(print=100, fetch=10)).to(S.PRINT)
    d.wait(100)
    assert d.of(m.CancelPrint) == [m.CancelPrint("txn-0001")] and d.state is S.PRINT
    assert not d.of(m.Refund)
    d.send(m.PrintFailed("txn-0001", "print_cancelled"))
    assert d.of(m.Refund) and not d.of(m.Capture)


def test_a_job_that_printed_before_its_cancel_is_charged() -> None:
    d = Driver().to(S.PRINT)
    d.send(m.Cancel())
    assert d.of(m.CancelPrint) and d.state is S.PRINT
    d.send(m.Printed("txn-0001"))
    assert d.state is S.COLLECT and d.of(m.Capture) and not d.of(m.Refund)


def test_a_printer_that_answers_nothing_refunds() -> None:
    d = Driver(KioskConfig().with_timeouts(print=100, fetch=10)).to(S.PRINT)
    d.wait(100)
    d.wait(10)
    assert d.m.view()["reason"] == "printer_not_answering" and d.of(m.Refund)
    assert not d.of(m.Capture)


def test_the_document_left_behind_reminder() -> None:
    d = Driver(KioskConfig(reminder=4).with_timeouts(collect=12)).to(S.COLLECT)
    assert d.wait(4) == [m.Speak("take_document")]
    d.wait(8)
    assert d.state is S.COMPLETE and d.m.view()["reason"] == "document_not_confirmed"


# --- cancel and timeouts everywhere -------------------------------------------------------------

ENDING_STATES = [S.NOTICE, S.WAIT_CARD, S.CARD_CHECK, S.PIN_ENTRY, S.AUTHENTICATING,
                 S.REMOVE_CARD, S.CHOOSE_DOCUMENT, S.CONFIRM_FEE, S.PAYMENT, S.FETCH]


@pytest.mark.parametrize("state", ENDING_STATES)
def test_cancel_anywhere_returns_to_a_clean_idle_with_the_card_released(state: m.State) -> None:
    d = Driver().to(state)
    if state is S.PAYMENT:
        d.send(m.CashInserted(100))
    d.send(m.Cancel())
    assert d.state is S.ENDED and d.m.view()["result"] == "cancelled"
    assert d.of(m.ReleaseCard)
    assert d.of(m.Finished)
    assert bool(d.of(m.Refund)) is (state in (S.PAYMENT, S.FETCH))
    if d.m.card_present:
        d.send(m.CardRemoved())
    d.send(m.Acknowledge())
    assert d.state is S.IDLE and d.m.session == m.Session()


@pytest.mark.parametrize("state", ENDING_STATES)
def test_every_state_times_out_to_idle(state: m.State) -> None:
    config = KioskConfig()
    d = Driver(config).to(state)
    d.wait(config.timeouts[state.value])
    assert d.state is S.ENDED and d.of(m.ReleaseCard)
    assert d.m.view()["reason"] == f"{state.value}_timeout"
    if d.m.card_present:
        d.send(m.CardRemoved())
    d.wait(config.timeouts["ended"])
    assert d.state is S.IDLE and d.m.session == m.Session()


def test_a_state_does_not_time_out_early() -> None:
    d = Driver().to(S.PIN_ENTRY)
    d.wait(59.9)
    assert d.state is S.PIN_ENTRY and 0 < d.m.seconds_left() < 1  # type: ignore[operator]


@pytest.mark.parametrize("state", [S.IDLE, S.OUT_OF_SERVICE])
def test_nothing_to_cancel_outside_a_session(state: m.State) -> None:
    d = Driver(at=OPEN_TIME if state is S.IDLE else datetime(2026, 11, 30, 3, tzinfo=JST))
    assert d.send(m.Cancel()).error == m.BAD_STATE


@pytest.mark.parametrize("event", [m.Accept(), m.SubmitPin("1234"), m.ChooseDocument(SELECTION),
                                   m.ConfirmFee(), m.Back(), m.DocumentTaken(), m.Acknowledge()])
def test_commands_out_of_turn_are_bad_state(event: m.Event) -> None:
    d = Driver()
    outcome = d.send(event)
    assert outcome.error == m.BAD_STATE and outcome.effects == [] and d.state is S.IDLE


def test_reports_after_a_cancel_change_nothing() -> None:
    d = Driver().to(S.FETCH)
    d.send(m.Cancel())
    before = (d.state, len(d.effects))
    for late in (m.DocumentFetched("txn-0001", 1), m.Settled("txn-0001"), m.Printed("txn-0001"),
                 m.PinRejected(2), m.CashInserted(1000)):
        assert d.send(late).accepted
    assert (d.state, len(d.effects)) == before


def test_language_switch_and_the_view_carries_no_secret() -> None:
    d = Driver()
    assert d.send(m.SetLanguage("en")).accepted and d.m.language == "en"
    assert d.send(m.SetLanguage("fr")).error == "BAD_VALUE"
