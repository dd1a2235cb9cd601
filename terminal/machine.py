"""The kiosk's state machine: pure decisions, no I/O, driven by events and a clock.

`KioskMachine.handle(event)` takes a command from the person at the kiosk (or the integrator) or
a report from a device or the centre, changes state, and returns the `Effect`s the runtime must
carry out (read the card, print, refund, speak …). `tick()` is called by the runtime whenever
time passes; it applies service hours and per-state timeouts. The clock is injected, so tests
drive every transition, timeout and closing hour with a fake one.

The money and paper rules live here, where they can be tested exhaustively:
- cash is held in escrow until the document is printed, then captured; every other way out of a
  session after cash went in refunds it (`_end`);
- the centre is told the transaction is settled before printing starts, and a print failure
  cancels the transaction at the centre and refunds;
- every document, settlement and print carries the session's transaction id, and a report
  about another transaction id is ignored, never taken as "the next one".

The PIN passes through (`SubmitPin` → `Authenticate`) and is never stored in the machine.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from mynacard.terminal.config import KioskConfig
from mynacard.terminal.documents import (
    DocumentOffer,
    Eligibility,
    Selection,
    SelectionError,
    validate_selection,
)

#: The auth PIN has 3 tries (jpki-system.md §6.2 step 4; CI §6.1).
AUTH_PIN_MAX_TRIES = 3
_PIN_RE = re.compile(r"[0-9]{4}")


class State(StrEnum):
    OUT_OF_SERVICE = "out_of_service"
    IDLE = "idle"
    NOTICE = "notice"
    WAIT_CARD = "wait_card"
    CARD_CHECK = "card_check"
    PIN_ENTRY = "pin_entry"
    AUTHENTICATING = "authenticating"
    REMOVE_CARD = "remove_card"
    CHOOSE_DOCUMENT = "choose_document"
    CONFIRM_FEE = "confirm_fee"
    PAYMENT = "payment"
    FETCH = "fetch"
    PRINT = "print"
    COLLECT = "collect"
    COMPLETE = "complete"
    ENDED = "ended"


class Result(StrEnum):
    """How a session ended: the `result` of the final message."""

    COMPLETED = "completed"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"
    CARD_REFUSED = "card_refused"  # not a My Number Card, 住基カード, expired, PIN blocked
    CARD_REMOVED = "card_removed"  # pulled out while it was being read
    AUTH_REFUSED = "auth_refused"  # the centre refused the certificate or the signature
    REFUSED = "refused"  # eligibility refusal of §6.2 (moved out, support measure, …)
    CENTRE_ERROR = "centre_error"
    PRINT_FAILED = "print_failed"
    DEVICE_ERROR = "device_error"


#: Results after which the person must go to the municipal window.
MUNICIPAL_WINDOW = frozenset({Result.CARD_REFUSED, Result.AUTH_REFUSED, Result.REFUSED})

#: States in which a session runs (cancel is allowed, the session is wiped when it ends).
SESSION_STATES = frozenset(State) - {State.OUT_OF_SERVICE, State.IDLE, State.COMPLETE,
                                     State.ENDED}


class Clock(Protocol):
    def now(self) -> datetime: ...


# --- events -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """The person touched 証明書交付 on the idle screen."""


@dataclass(frozen=True)
class Accept:
    """The person accepted the notice (terms, privacy)."""


@dataclass(frozen=True)
class SubmitPin:
    pin: str = field(repr=False)
    #: Spending the last try must be confirmed (the screen warned "1 try left").
    confirm_last_try: bool = False


@dataclass(frozen=True)
class ChooseDocument:
    selection: Selection


@dataclass(frozen=True)
class ConfirmFee:
    pass


@dataclass(frozen=True)
class Back:
    """From the fee confirmation back to the choice of document."""


@dataclass(frozen=True)
class Cancel:
    pass


@dataclass(frozen=True)
class Acknowledge:
    """The person closed the result screen."""


@dataclass(frozen=True)
class StopReminder:
    """The stop button of the left-behind voice reminder."""


@dataclass(frozen=True)
class SetMaintenance:
    on: bool


@dataclass(frozen=True)
class SetLanguage:
    language: str


@dataclass(frozen=True)
class CardInserted:
    pass


@dataclass(frozen=True)
class CardRemoved:
    pass


@dataclass(frozen=True)
class CardChecked:
    tries_left: int


@dataclass(frozen=True)
class CardRefused:
    reason: str


@dataclass(frozen=True)
class PinRejected:
    tries_left: int


@dataclass(frozen=True)
class PinBlocked:
    pass


@dataclass(frozen=True)
class Authenticated:
    session_id: str
    eligibility: Eligibility
    documents: tuple[DocumentOffer, ...]


@dataclass(frozen=True)
class AuthFailed:
    result: Result
    reason: str


@dataclass(frozen=True)
class CashInserted:
    total: int


@dataclass(frozen=True)
class DocumentFetched:
    transaction_id: str
    pages: int


@dataclass(frozen=True)
class FetchFailed:
    transaction_id: str
    result: Result
    reason: str


@dataclass(frozen=True)
class Settled:
    transaction_id: str


@dataclass(frozen=True)
class Printed:
    transaction_id: str


@dataclass(frozen=True)
class PrintFailed:
    transaction_id: str
    reason: str


@dataclass(frozen=True)
class DocumentTaken:
    pass


Event = (Start | Accept | SubmitPin | ChooseDocument | ConfirmFee | Back | Cancel | Acknowledge
         | StopReminder | SetMaintenance | SetLanguage | CardInserted | CardRemoved | CardChecked
         | CardRefused | PinRejected | PinBlocked | Authenticated | AuthFailed | CashInserted
         | DocumentFetched | FetchFailed | Settled | Printed | PrintFailed | DocumentTaken)


# --- effects ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadCard:
    """Detect the card, read the auth certificate and the auth PIN's tries (spends none)."""


@dataclass(frozen=True)
class Authenticate:
    """Verify the PIN, have the card sign the centre's challenge, open a centre session."""

    pin: str = field(repr=False)
    allow_last_try: bool


@dataclass(frozen=True)
class ReleaseCard:
    """Close the connection to the card with a reset: nothing verified stays open on it."""


@dataclass(frozen=True)
class AcceptCash:
    amount: int


@dataclass(frozen=True)
class StopCash:
    """Close the acceptor's slot; the escrow stays held."""


@dataclass(frozen=True)
class Capture:
    """Take `amount` from the escrow into the cash box and pay out the change."""

    transaction_id: str
    amount: int


@dataclass(frozen=True)
class Refund:
    """Return everything in escrow."""

    reason: str


@dataclass(frozen=True)
class FetchDocument:
    transaction_id: str
    session_id: str
    selection: Selection


@dataclass(frozen=True)
class Settle:
    transaction_id: str
    session_id: str
    amount: int


@dataclass(frozen=True)
class CancelTransaction:
    transaction_id: str
    session_id: str
    reason: str


@dataclass(frozen=True)
class Print:
    transaction_id: str
    copies: int


@dataclass(frozen=True)
class CancelPrint:
    transaction_id: str


@dataclass(frozen=True)
class WipeDocument:
    transaction_id: str


@dataclass(frozen=True)
class EndCentreSession:
    session_id: str


@dataclass(frozen=True)
class Speak:
    prompt: str


@dataclass(frozen=True)
class Finished:
    """The final result of a session, for the integrator."""

    result: Result
    reason: str | None
    transaction_id: str | None


Effect = (ReadCard | Authenticate | ReleaseCard | AcceptCash | StopCash | Capture | Refund
          | FetchDocument | Settle | CancelTransaction | Print | CancelPrint | WipeDocument
          | EndCentreSession | Speak | Finished)


@dataclass(frozen=True)
class Outcome:
    """What `handle` did: `error` is set (and nothing changed) when the event was refused."""

    effects: list[Effect]
    error: str | None = None
    detail: str | None = None

    @property
    def accepted(self) -> bool:
        return self.error is None


BAD_STATE = "BAD_STATE"


@dataclass
class Session:
    """Everything one resident's visit holds; replaced by a fresh one when the visit ends."""

    tries_left: int | None = None
    centre_session: str | None = None
    eligibility: Eligibility | None = None
    documents: tuple[DocumentOffer, ...] = ()
    selection: Selection | None = None
    transaction_id: str | None = None
    fee: int = 0
    escrow: int = 0
    captured: bool = False
    fetched: bool = False
    settled: bool = False
    printing: bool = False
    cancelling_print: bool = False
    pages: int = 0
    result: Result | None = None
    reason: str | None = None
    acknowledged: bool = False


class KioskMachine:
    """See the module docstring. `new_transaction_id` is injected so tests can predict ids."""

    def __init__(self, config: KioskConfig, clock: Clock,
                 new_transaction_id: Callable[[], str]) -> None:
        self.config = config
        self.clock = clock
        self.new_transaction_id = new_transaction_id
        self.state = State.IDLE
        self.previous: State | None = None
        self.session = Session()
        #: Incremented when a session ends: the runtime drops reports about older sessions.
        self.session_no = 0
        self.card_present = False
        self.maintenance = False
        self.language = "ja"
        self.reminders_muted = False
        self._deadline: datetime | None = None
        self._reminder_at: datetime | None = None
        self.tick()

    # --- public ---------------------------------------------------------------------------------

    def handle(self, event: Event) -> Outcome:
        effects: list[Effect] = []
        error = self._dispatch(event, effects)
        if error is not None:
            return Outcome([], *error)
        return Outcome(effects)

    def tick(self) -> list[Effect]:
        """Apply the clock: service hours in idle, timeouts and reminders elsewhere."""
        now = self.clock.now()
        effects: list[Effect] = []
        if self.state in (State.IDLE, State.OUT_OF_SERVICE):
            open_now = self.config.hours.is_open(now) and not self.maintenance
            if self.state is State.IDLE and not open_now:
                self._go(State.OUT_OF_SERVICE)
            elif self.state is State.OUT_OF_SERVICE and open_now:
                self._go(State.IDLE)
            return effects
        if self._reminder_at is not None and now >= self._reminder_at:
            self._reminder_at = now + timedelta(seconds=self.config.reminder)
            if not self.reminders_muted:
                effects.append(Speak(self._reminder_prompt()))
        if self._deadline is not None and now >= self._deadline:
            self._deadline = None
            self._timeout(effects)
        return effects

    @property
    def deadline(self) -> datetime | None:
        return self._deadline

    def seconds_left(self) -> float | None:
        if self._deadline is None:
            return None
        return max(0.0, (self._deadline - self.clock.now()).total_seconds())

    # --- dispatch -------------------------------------------------------------------------------

    def _dispatch(self, event: Event, fx: list[Effect]) -> tuple[str, str] | None:
        s = self.session
        match event:
            case SetMaintenance(on=on):
                self.maintenance = on
                fx.extend(self.tick())
                return None
            case SetLanguage(language=language):
                if language not in ("ja", "en"):
                    return ("BAD_VALUE", "language must be 'ja' or 'en'")
                self.language = language
                return None
            case StopReminder():
                self.reminders_muted = True
                return None
            case CardInserted():
                self.card_present = True
                if self.state is State.WAIT_CARD:
                    self._go(State.CARD_CHECK)
                    fx.append(ReadCard())
                return None
            case CardRemoved():
                return self._card_removed(fx)
            case Cancel():
                return self._cancel(fx)
        state = self.state
        match (state, event):
            case (State.IDLE, Start()):
                self._go(State.NOTICE)
                fx.append(Speak("notice"))
            case (State.OUT_OF_SERVICE, Start()):
                return (BAD_STATE, "the kiosk is out of service (outside service hours, a "
                                   "closed day or maintenance)")
            case (State.NOTICE, Accept()):
                self._go(State.WAIT_CARD)
                if self.card_present:
                    self._go(State.CARD_CHECK)
                    fx.append(ReadCard())
                else:
                    fx.append(Speak("insert_card"))
            case (State.CARD_CHECK, CardChecked(tries_left=tries)):
                if tries <= 0:
                    self._end(Result.CARD_REFUSED, "pin_blocked", fx)
                else:
                    s.tries_left = tries
                    self._go(State.PIN_ENTRY)
                    fx.append(Speak("last_try" if tries == 1 else "enter_pin"))
            case (State.CARD_CHECK, CardRefused(reason=reason)):
                self._end(Result.CARD_REFUSED, reason, fx)
            case (State.PIN_ENTRY, SubmitPin(pin=pin, confirm_last_try=confirm)):
                if not (_PIN_RE.fullmatch(pin) and pin.isascii()):
                    return ("BAD_VALUE", "the PIN has 4 digits; nothing was sent to the card")
                if s.tries_left == 1 and not confirm:
                    return ("CONFIRM_LAST_TRY", "only 1 try is left: a wrong PIN blocks the "
                                                "card; confirm to use it")
                self._go(State.AUTHENTICATING)
                fx.append(Authenticate(pin, allow_last_try=s.tries_left == 1 and confirm))
            case (State.AUTHENTICATING, PinRejected(tries_left=tries)):
                s.tries_left = tries
                self._go(State.PIN_ENTRY)
                fx.append(Speak("last_try" if tries == 1 else "pin_wrong"))
            case (State.AUTHENTICATING, PinBlocked()):
                s.tries_left = 0
                self._end(Result.CARD_REFUSED, "pin_blocked", fx)
            case (State.AUTHENTICATING, Authenticated(session_id=sid, eligibility=el,
                                                       documents=docs)):
                s.centre_session, s.eligibility, s.documents = sid, el, docs
                fx.append(ReleaseCard())
                if self.card_present:
                    self._go(State.REMOVE_CARD)
                    self._remind(fx)
                else:
                    self._after_removal(fx)
            case (State.AUTHENTICATING, AuthFailed(result=result, reason=reason)):
                self._end(result, reason, fx)
            case (State.CHOOSE_DOCUMENT, ChooseDocument(selection=selection)):
                try:
                    offer = validate_selection(s.documents, selection, self.config.max_copies)
                except SelectionError as exc:
                    return (exc.reason, str(exc))
                s.selection = selection
                s.fee = offer.fee * selection.copies
                s.transaction_id = self.new_transaction_id()
                self._go(State.CONFIRM_FEE)
                fx.append(Speak("confirm_fee"))
            case (State.CONFIRM_FEE, Back()):
                s.selection, s.fee, s.transaction_id = None, 0, None
                self._go(State.CHOOSE_DOCUMENT)
            case (State.CONFIRM_FEE, ConfirmFee()):
                self._go(State.PAYMENT)
                fx.extend([AcceptCash(s.fee), Speak("insert_cash")])
            case (State.PAYMENT, CashInserted(total=total)):
                s.escrow = total
                if total >= s.fee:
                    assert s.transaction_id and s.centre_session and s.selection
                    self._go(State.FETCH)
                    fx.extend([StopCash(), FetchDocument(s.transaction_id, s.centre_session,
                                                         s.selection)])
            case (State.FETCH, DocumentFetched(transaction_id=txn, pages=pages)):
                if txn != s.transaction_id or s.fetched:
                    return None  # a report about another transaction: never "the next one"
                assert s.centre_session
                s.fetched, s.pages = True, pages
                fx.append(Settle(txn, s.centre_session, s.fee))
            case (State.FETCH, Settled(transaction_id=txn)):
                if txn != s.transaction_id or not s.fetched:
                    return None
                s.settled, s.printing = True, True
                assert s.selection
                self._go(State.PRINT)
                fx.extend([Print(txn, s.selection.copies), Speak("printing")])
            case (State.FETCH, FetchFailed(transaction_id=txn, result=result, reason=reason)):
                if txn != s.transaction_id:
                    return None
                self._end(result, reason, fx)
            case (State.PRINT, Printed(transaction_id=txn)):
                if txn != s.transaction_id:
                    return None
                s.printing = False
                s.captured = True
                fx.extend([Capture(txn, s.fee), WipeDocument(txn)])
                self._go(State.COLLECT)
                self._remind(fx)
            case (State.PRINT, PrintFailed(transaction_id=txn, reason=reason)):
                if txn != s.transaction_id:
                    return None
                s.printing = False
                self._end(Result.PRINT_FAILED, reason, fx)
            case (State.COLLECT, DocumentTaken()):
                self._complete(fx, None)
            case (State.COMPLETE | State.ENDED, Acknowledge()):
                s.acknowledged = True
                if not self.card_present:
                    self._go(State.IDLE)
                    fx.extend(self.tick())
            case (_, Start() | Accept() | SubmitPin() | ChooseDocument() | ConfirmFee() | Back()
                  | Acknowledge() | DocumentTaken()):
                return (BAD_STATE, f"{type(event).__name__} is not possible in state "
                                   f"{state.value}")
            case _:
                pass  # a device report that no longer matters (e.g. after a cancel)
        return None

    # --- transitions ----------------------------------------------------------------------------

    def _go(self, state: State) -> None:
        self.previous, self.state = self.state, state
        if state in (State.IDLE, State.OUT_OF_SERVICE):
            self.session = Session()  # the result screen is gone: nothing of the visit remains
        seconds = self.config.timeout(state.value)
        self._deadline = (self.clock.now() + timedelta(seconds=seconds)
                          if seconds is not None else None)
        if state not in (State.REMOVE_CARD, State.COLLECT, State.ENDED):
            self._reminder_at = None

    def _remind(self, fx: list[Effect]) -> None:
        """Start the left-behind reminder of this state (card or document), spoken now and then
        every `config.reminder` seconds until the thing is taken or the stop button pressed."""
        self.reminders_muted = False
        self._reminder_at = self.clock.now() + timedelta(seconds=self.config.reminder)
        fx.append(Speak(self._reminder_prompt()))

    def _reminder_prompt(self) -> str:
        return "take_document" if self.state is State.COLLECT else "take_card"

    def _card_removed(self, fx: list[Effect]) -> tuple[str, str] | None:
        self.card_present = False
        state = self.state
        if state in (State.CARD_CHECK, State.PIN_ENTRY, State.AUTHENTICATING):
            self._end(Result.CARD_REMOVED, "card_removed_during_session", fx)
        elif state is State.REMOVE_CARD:
            self._reminder_at = None
            self._after_removal(fx)
        elif state is State.ENDED:
            self._reminder_at = None
            if self.session.acknowledged or self._deadline is None:
                self._go(State.IDLE)
                fx.extend(self.tick())
        return None

    def _after_removal(self, fx: list[Effect]) -> None:
        eligibility = self.session.eligibility
        if eligibility is not None and not eligibility.eligible:
            self._end(Result.REFUSED, eligibility.reason or "not_eligible", fx)
            return
        self._go(State.CHOOSE_DOCUMENT)
        fx.append(Speak("choose_document"))

    def _cancel(self, fx: list[Effect]) -> tuple[str, str] | None:
        s = self.session
        if self.state is State.PRINT:
            # The job may be on paper already: ask the printer, and let its answer (Printed or
            # PrintFailed) decide between charging and refunding.
            if not s.cancelling_print and s.transaction_id:
                s.cancelling_print = True
                fx.append(CancelPrint(s.transaction_id))
            return None
        if self.state is State.COLLECT:
            self._complete(fx, "document_not_confirmed")
            return None
        if self.state not in SESSION_STATES:
            return (BAD_STATE, f"there is no session to cancel in state {self.state.value}")
        self._end(Result.CANCELLED, "cancelled_by_user", fx)
        return None

    def _timeout(self, fx: list[Effect]) -> None:
        s = self.session
        state = self.state
        if state is State.PRINT:
            if not s.cancelling_print and s.transaction_id:
                s.cancelling_print = True
                fx.append(CancelPrint(s.transaction_id))
                grace = self.config.timeout("fetch") or 30.0
                self._deadline = self.clock.now() + timedelta(seconds=grace)
            else:
                # The printer answers neither the job nor its cancellation: refund, never charge.
                self._end(Result.PRINT_FAILED, "printer_not_answering", fx)
            return
        if state is State.COLLECT:
            self._complete(fx, "document_not_confirmed")
        elif state is State.COMPLETE:
            self._go(State.IDLE)
            fx.extend(self.tick())
        elif state is State.ENDED:
            if self.card_present:
                self._deadline = None  # idle comes when the card is taken
            else:
                self._go(State.IDLE)
                fx.extend(self.tick())
        elif state in (State.CARD_CHECK, State.AUTHENTICATING, State.FETCH):
            self._end(Result.DEVICE_ERROR if state is State.CARD_CHECK else Result.CENTRE_ERROR,
                      f"{state.value}_timeout", fx)
        else:
            self._end(Result.TIMEOUT, f"{state.value}_timeout", fx)

    def _cleanup(self, fx: list[Effect], *, refund_reason: str) -> None:
        """What every end of a session owes: the card released, cash not earned returned, the
        centre told, the document and the session wiped."""
        s = self.session
        fx.append(ReleaseCard())
        if self.state is State.PAYMENT:
            fx.append(StopCash())
        if s.escrow and not s.captured:
            fx.append(Refund(refund_reason))
        if s.transaction_id and s.centre_session and not s.captured and (
                self.state in (State.FETCH, State.PRINT)):  # the centre knows it from FETCH on
            fx.append(CancelTransaction(s.transaction_id, s.centre_session, refund_reason))
        if s.transaction_id and (s.fetched or self.state is State.FETCH):
            fx.append(WipeDocument(s.transaction_id))
        if s.centre_session:
            fx.append(EndCentreSession(s.centre_session))

    def _end(self, result: Result, reason: str, fx: list[Effect]) -> None:
        self._cleanup(fx, refund_reason=reason)
        txn = self.session.transaction_id
        self.session = Session(result=result, reason=reason, transaction_id=txn)
        self.session_no += 1
        self._go(State.ENDED)
        fx.append(Finished(result, reason, txn))
        if result in MUNICIPAL_WINDOW:
            fx.append(Speak("go_to_window"))
        if self.card_present:
            self._remind(fx)
        else:
            fx.append(Speak("ended"))

    def _complete(self, fx: list[Effect], reason: str | None) -> None:
        s = self.session
        fx.append(ReleaseCard())
        if s.centre_session:
            fx.append(EndCentreSession(s.centre_session))
        txn = s.transaction_id
        self.session = Session(result=Result.COMPLETED, reason=reason, transaction_id=txn)
        self.session_no += 1
        self._go(State.COMPLETE)
        fx.extend([Finished(Result.COMPLETED, reason, txn), Speak("thank_you")])

    # --- what the screen shows ----------------------------------------------------------------

    def view(self) -> dict[str, object]:
        """The state and what the screen needs for it: never a PIN, a name or a number."""
        s = self.session
        data: dict[str, object] = {"state": self.state.value,
                                   "previous": self.previous.value if self.previous else None,
                                   "card_present": self.card_present,
                                   "language": self.language,
                                   "seconds_left": self.seconds_left()}
        if self.state is State.PIN_ENTRY:
            data.update(tries_left=s.tries_left, max_tries=AUTH_PIN_MAX_TRIES,
                        last_try=s.tries_left == 1)
        if self.state is State.CHOOSE_DOCUMENT:
            data["documents"] = [d.as_dict() for d in s.documents]
        if self.state in (State.CONFIRM_FEE, State.PAYMENT, State.FETCH, State.PRINT,
                          State.COLLECT):
            data.update(fee=s.fee, paid=s.escrow, transaction_id=s.transaction_id,
                        selection=s.selection.as_dict() if s.selection else None)
        if self.state is State.PRINT:
            data.update(pages=s.pages, cancelling=s.cancelling_print)
        if self.state in (State.REMOVE_CARD, State.COLLECT, State.ENDED):
            data["reminder"] = self._reminder_at is not None and not self.reminders_muted
        if self.state in (State.COMPLETE, State.ENDED):
            data.update(result=s.result.value if s.result else None, reason=s.reason,
                        transaction_id=s.transaction_id,
                        municipal_window=s.result in MUNICIPAL_WINDOW)
        if self.state is State.OUT_OF_SERVICE:
            data["maintenance"] = self.maintenance
        return data
