"""The kiosk at run time: carries out the state machine's effects with devices and the centre.

One asyncio loop owns the `KioskMachine`; everything that blocks runs in threads and comes back
as an event through `post`:
- the card and the centre share one serial lane (a one-thread executor), so a cancel at the
  centre always follows the request it cancels and a card is released only after the command
  in flight;
- printing runs in its own task and polls its own job id; cancelling asks the printer about that
  job id and reports what really happened (printed, or not);
- every report is stamped with the session it belongs to and dropped if that session is over.

Privacy: the PDF of a document lives in `_documents` only between fetch and print, keyed by
transaction id, and is dropped on `WipeDocument`; the journal logs states, transaction ids,
amounts and reason codes — never a PIN, a name, an address or a number.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from mynacard.host.errors import (
    CardError,
    CardRemoved,
    LastTryDeclined,
    NoCard,
    PinWrong,
)
from mynacard.host.errors import PinBlocked as HostPinBlocked
from mynacard.host.transport import Transport
from mynacard.terminal import machine as m
from mynacard.terminal.card_session import CardRefusal, CheckedCard, check_card, sign_challenge
from mynacard.terminal.centre_client import Centre, CentreError, IssuedDocument
from mynacard.terminal.config import KioskConfig
from mynacard.terminal.payment import PaymentAcceptor
from mynacard.terminal.printer import JobState, Printer, PrinterError
from mynacard.terminal.reader import CardReader
from mynacard.terminal.voice import Voice

T = TypeVar("T")

#: What the kiosk logs goes here; handlers are the embedder's (the CLI adds a file handler).
journal = logging.getLogger("mynacard.terminal.journal")


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class Devices:
    reader: CardReader
    printer: Printer
    payment: PaymentAcceptor
    voice: Voice


Listener = Callable[[dict[str, object]], None]


class Kiosk:
    """One kiosk: the machine, its devices, its centre. Start with `await kiosk.run()`."""

    def __init__(self, config: KioskConfig, devices: Devices, centre: Centre, *,
                 clock: m.Clock | None = None,
                 new_transaction_id: Callable[[], str] | None = None,
                 tick_interval: float = 0.1, print_poll: float = 0.05) -> None:
        self.config = config
        self.devices = devices
        self.centre = centre
        self.machine = m.KioskMachine(config, clock or SystemClock(),
                                      new_transaction_id or (lambda: uuid.uuid4().hex))
        self.tick_interval = tick_interval
        self.print_poll = print_poll
        self._listeners: list[Listener] = []
        name = config.kiosk_id
        self._lane = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{name}-lane")
        #: The printer, the acceptor and the voice: never held up behind the card or the centre,
        #: nor by other kiosks hosted in the same process.
        self._device_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix=f"{name}-devices")
        self._watch_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{name}-reader")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._transport: Transport | None = None
        self._checked: CheckedCard | None = None
        self._documents: dict[str, IssuedDocument] = {}
        self._jobs: dict[str, str] = {}
        self._cancel_requested: set[str] = set()
        self._tasks: set[asyncio.Future[None]] = set()
        self._last_view: dict[str, object] = {}
        #: Sessions by result since start, and money moved: the operator's view (no personal data).
        self.counters: Counter[str] = Counter()

    # --- the outside world --------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """`listener(message)` on every state/progress change and final result; returns an
        unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def state_message(self) -> dict[str, object]:
        return {"msg": "STATE", **self.machine.view(), "devices": self.device_info()}

    def health(self) -> dict[str, object]:
        """What an operator's monitoring reads: state, maintenance, devices, counters."""
        return {"kiosk_id": self.config.kiosk_id, "state": self.machine.state.value,
                "maintenance": self.machine.maintenance, "devices": self.device_info(),
                "counters": dict(self.counters)}

    def device_info(self) -> dict[str, object]:
        """Which devices are simulators (the web UI then shows their controls)."""
        from mynacard.terminal.payment import SimulatedAcceptor
        from mynacard.terminal.reader import SimulatedReader

        return {"reader": self.devices.reader.name,
                "reader_simulated": isinstance(self.devices.reader, SimulatedReader),
                "payment_simulated": isinstance(self.devices.payment, SimulatedAcceptor)}

    def submit(self, event: m.Event) -> m.Outcome:
        """Hand the machine an event (on the loop's thread) and carry out what it decides."""
        before = self.machine.state
        outcome = self.machine.handle(event)
        self._after(before, outcome.effects)
        return outcome

    def post(self, event: m.Event, session: int | None = None) -> None:
        """From any thread: a device's or the centre's report (dropped if `session` is over)."""
        loop = self._loop
        if loop is None or self._stopping:
            return

        def deliver() -> None:
            if session is not None and session != self.machine.session_no:
                if isinstance(event, m.DocumentFetched):
                    # Fetched after its session ended (and was wiped): drop it now.
                    self._documents.pop(event.transaction_id, None)
                return
            self.submit(event)

        loop.call_soon_threadsafe(deliver)

    async def run(self) -> None:
        """Watch the reader and the clock until `stop()`."""
        self._loop = asyncio.get_running_loop()
        watcher = self._loop.run_in_executor(self._watch_pool, self._watch_reader)
        try:
            while not self._stopping:
                before = self.machine.state
                self._after(before, self.machine.tick())
                await asyncio.sleep(self.tick_interval)
        finally:
            self._stopping = True
            await watcher
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await asyncio.get_running_loop().run_in_executor(self._lane, self._release_card)
            self.devices.reader.close()
            for pool in (self._lane, self._device_pool, self._watch_pool):
                pool.shutdown(wait=True)
            self._documents.clear()

    def stop(self) -> None:
        self._stopping = True

    def _watch_reader(self) -> None:
        while not self._stopping:
            present = self.devices.reader.wait_event(0.2)
            if present is not None:
                self.post(m.CardInserted() if present else m.CardRemoved())

    # --- effects ------------------------------------------------------------------------------

    def _after(self, before: m.State, effects: list[m.Effect]) -> None:
        view = self.machine.view()
        comparable = {k: v for k, v in view.items() if k != "seconds_left"}
        if comparable != self._last_view:
            self._last_view = comparable
            if self.machine.state is not before:
                journal.info("%s state %s -> %s", self.config.kiosk_id, before.value,
                             self.machine.state.value)
            self._emit({"msg": "STATE", **view, "devices": self.device_info()})
        for effect in effects:
            self._apply(effect, self.machine.session_no)

    def _emit(self, message: dict[str, object]) -> None:
        for listener in list(self._listeners):
            listener(message)

    def _spawn(self, work: asyncio.Future[None]) -> None:
        """Keep a reference until done (asyncio holds only weak ones), and await it on stop."""
        self._tasks.add(work)
        work.add_done_callback(self._tasks.discard)

    def _in_lane(self, work: Callable[[], m.Event | None], session: int) -> None:
        assert self._loop is not None

        def run() -> None:
            try:
                event = work()
            except Exception:  # noqa: BLE001 - a bug must not kill the lane; the state's timeout ends the session
                journal.exception("%s device operation failed", self.config.kiosk_id)
                event = None
            if event is not None:
                self.post(event, session)

        self._spawn(self._loop.run_in_executor(self._lane, run))

    async def _device(self, fn: Callable[..., T], *args: object) -> T:
        assert self._loop is not None
        return await self._loop.run_in_executor(self._device_pool, lambda: fn(*args))

    def _in_thread(self, work: Callable[[], None]) -> None:
        assert self._loop is not None
        self._spawn(self._loop.run_in_executor(self._device_pool, work))

    def _apply(self, effect: m.Effect, session: int) -> None:
        kiosk = self.config.kiosk_id
        match effect:
            case m.ReadCard():
                self._in_lane(self._read_card, session)
            case m.Authenticate(pin=pin, allow_last_try=allow):
                self._in_lane(lambda: self._authenticate(pin, allow), session)
            case m.ReleaseCard():
                self._in_lane(self._release_card, session)
            case m.AcceptCash(amount=amount):
                self.devices.payment.accept(
                    amount, lambda total: self.post(m.CashInserted(total), session))
            case m.StopCash():
                self.devices.payment.stop()
            case m.Capture(transaction_id=txn, amount=amount):
                change = self.devices.payment.capture(txn, amount)
                self.counters["yen_charged"] += amount
                journal.info("%s charged ¥%d for transaction %s (change ¥%d)", kiosk, amount,
                             txn, change)
            case m.Refund(reason=reason):
                returned = self.devices.payment.refund(reason)
                self.counters["yen_refunded"] += returned
                journal.info("%s refunded ¥%d (%s)", kiosk, returned, reason)
            case m.FetchDocument() as fetch:
                fee = self.machine.session.fee
                self._in_lane(lambda: self._fetch(fetch, fee), session)
            case m.Settle() as settle:
                self._in_lane(lambda: self._settle(settle), session)
            case m.CancelTransaction() as cancel:
                self._in_lane(lambda: self._cancel_transaction(cancel), session)
            case m.EndCentreSession() as end:
                self._in_lane(lambda: self._end_centre_session(end.session_id), session)
            case m.Print(transaction_id=txn, copies=copies):
                assert self._loop is not None
                self._spawn(asyncio.ensure_future(self._print(txn, copies, session)))
            case m.CancelPrint(transaction_id=txn):
                self._spawn(asyncio.ensure_future(self._cancel_print(txn, session)))
            case m.WipeDocument(transaction_id=txn):
                self._documents.pop(txn, None)
            case m.Speak(prompt=prompt):
                language = self.machine.language
                self._in_thread(lambda: self._speak(prompt, language))
            case m.Finished(result=result, reason=reason, transaction_id=txn):
                self.counters[f"result_{result.value}"] += 1
                journal.info("%s result %s (%s) transaction %s", kiosk, result.value, reason, txn)
                self._emit({"msg": "RESULT", "result": result.value, "reason": reason,
                            "transaction_id": txn,
                            "municipal_window": result in m.MUNICIPAL_WINDOW})

    # --- the card -------------------------------------------------------------------------------

    def _read_card(self) -> m.Event:
        self._release_card()
        try:
            self._transport = self.devices.reader.open()
            self._checked = check_card(self._transport, self.machine.clock.now())
            return m.CardChecked(self._checked.tries_left)
        except CardRefusal as refusal:
            self._release_card()
            return m.CardRefused(refusal.reason)
        except (CardRemoved, NoCard):
            self._release_card()
            return m.CardRemoved()
        except CardError:
            self._release_card()
            return m.CardRefused("card_unreadable")

    def _authenticate(self, pin: str, allow_last_try: bool) -> m.Event:
        checked = self._checked
        if checked is None:
            return m.CardRemoved()
        kiosk = self.config.kiosk_id
        try:
            challenge = self.centre.challenge(kiosk)
            signature = sign_challenge(checked, pin, challenge.challenge, allow_last_try)
            session = self.centre.open_session(kiosk, challenge.challenge_id, signature,
                                               checked.auth_certificate)
        except PinWrong as exc:
            return m.PinRejected(exc.tries_left)
        except HostPinBlocked:
            return m.PinBlocked()
        except LastTryDeclined:
            return m.PinRejected(1)
        except (CardRemoved, NoCard):
            return m.CardRemoved()
        except CardError:
            return m.AuthFailed(m.Result.DEVICE_ERROR, "card_unreadable")
        except CentreError as exc:
            result = m.Result.AUTH_REFUSED if exc.refused else m.Result.CENTRE_ERROR
            return m.AuthFailed(result, exc.code)
        return m.Authenticated(session.session_id, session.eligibility, session.documents)

    def _release_card(self) -> None:
        transport, self._transport, self._checked = self._transport, None, None
        if transport is not None:
            try:
                transport.close()
            except CardError:
                pass  # the card is gone already: nothing left open on it

    # --- the centre -----------------------------------------------------------------------------

    def _fetch(self, fetch: m.FetchDocument, fee: int) -> m.Event:
        txn = fetch.transaction_id
        try:
            document = self.centre.request_document(self.config.kiosk_id, fetch.session_id, txn,
                                                    fetch.selection)
        except CentreError as exc:
            result = m.Result.REFUSED if exc.refused else m.Result.CENTRE_ERROR
            return m.FetchFailed(txn, result, exc.code)
        if document.fee != fee:
            return m.FetchFailed(txn, m.Result.CENTRE_ERROR, "fee_mismatch")
        self._documents[txn] = document
        return m.DocumentFetched(txn, document.pages)

    def _settle(self, settle: m.Settle) -> m.Event:
        txn, amount = settle.transaction_id, settle.amount
        try:
            self.centre.settle(self.config.kiosk_id, settle.session_id, txn, amount)
        except CentreError as exc:
            return m.FetchFailed(txn, m.Result.CENTRE_ERROR, f"settle_{exc.code}")
        journal.info("%s transaction %s settled at the centre (¥%d held)", self.config.kiosk_id,
                     txn, amount)
        return m.Settled(txn)

    def _cancel_transaction(self, cancel: m.CancelTransaction) -> None:
        txn, reason = cancel.transaction_id, cancel.reason
        try:
            self.centre.cancel(self.config.kiosk_id, cancel.session_id, txn, reason)
            journal.info("%s transaction %s cancelled at the centre (%s)", self.config.kiosk_id,
                         txn, reason)
        except CentreError as exc:
            journal.warning("%s cancelling transaction %s at the centre failed: %s",
                            self.config.kiosk_id, txn, exc.code)

    def _end_centre_session(self, session_id: str) -> None:
        try:
            self.centre.end_session(self.config.kiosk_id, session_id)
        except CentreError as exc:
            journal.warning("%s ending the centre session failed: %s", self.config.kiosk_id,
                            exc.code)

    # --- the printer ----------------------------------------------------------------------------

    async def _print(self, txn: str, copies: int, session: int) -> None:
        document = self._documents.get(txn)
        if document is None:
            self.post(m.PrintFailed(txn, "no_document"), session)
            return
        printer = self.devices.printer
        try:
            job = await self._device(printer.submit, txn, document.pdf, copies)
        except PrinterError as exc:
            self.post(m.PrintFailed(txn, exc.reason), session)
            return
        self._jobs[txn] = job
        journal.info("%s transaction %s printing as job %s", self.config.kiosk_id, txn, job)
        if txn in self._cancel_requested:
            await self._cancel_print(txn, session)
            self._jobs.pop(txn, None)
            return
        while not self._stopping:
            state, reason = await self._device(printer.status, job)
            if state is JobState.DONE:
                self.post(m.Printed(txn), session)
                break
            if state in (JobState.FAILED, JobState.CANCELLED):
                if reason and reason != "cancelled":
                    await self._device(printer.cancel, job)  # never resumed after a fault
                self.post(m.PrintFailed(txn, reason or state.value), session)
                break
            if session != self.machine.session_no:
                # The session ended (and refunded) while the job waited: it must not print.
                await self._device(printer.cancel, job)
                break
            await asyncio.sleep(self.print_poll)
        self._jobs.pop(txn, None)

    async def _cancel_print(self, txn: str, session: int) -> None:
        """Runs on the loop thread, like `_print`, so a cancel can never slip between the job
        being submitted and its id being known."""
        job = self._jobs.get(txn)
        if job is None:
            self._cancel_requested.add(txn)  # `_print` cancels as soon as it has a job id
            return
        self._cancel_requested.discard(txn)
        if await self._device(self.devices.printer.cancel, job):
            self.post(m.PrintFailed(txn, "print_cancelled"), session)
        else:
            self.post(m.Printed(txn), session)

    def _speak(self, prompt: str, language: str) -> None:
        try:
            self.devices.voice.speak(prompt, language)
        except Exception:  # noqa: BLE001 - a mute speaker must not stop the kiosk
            journal.warning("%s voice prompt %s failed", self.config.kiosk_id, prompt)
