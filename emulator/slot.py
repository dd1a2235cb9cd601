"""One virtual reader slot: a card is inserted, served over vpcd, reset, faulted and removed.

Inserting = connecting to the slot's vpcd port (vpcd accepts one card per slot and starts polling
it); removing = closing that connection (vpcd sees EOF, pcscd reports "Card Removed"). A serving
thread answers vpcd's frames; control requests (insert/remove/reset/faults) come from any other
thread. The card lock makes a removal wait for the answer of a command in progress, so a normal
removal never cuts a command in half — only the `remove` fault and a torn write do that.

A change is over only once pcscd's polling thread has registered it: `insert` returns after
pcscd counted the insertion, and after a removal the slot stays empty — vpcd finds nobody to
accept — until pcscd counted the removal. Otherwise a card pulled in the middle of a command and
put back within one 400 ms poll is never reported: the client's failed power-down marks the reader
empty, the poller never saw the card go, so it takes the next card for the old one and announces
nothing (docs/emulator.md, "Why a slot waits for pcscd").

If pcscd goes away while a card is inserted (vpcd closes the connection without our asking), the
slot keeps the card and reconnects as soon as pcscd listens again, like a card that stays in a
reader while the daemon restarts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from mynacard.codec.redaction import RedactionPolicy
from mynacard.emulator.cards import CardSource, LoadedCard
from mynacard.emulator.errors import EmulatorError, SlotBusy
from mynacard.emulator.faults import Fault, FaultPlan
from mynacard.emulator.pcsc_state import PcscdEvents, ReaderEvents
from mynacard.emulator.trace import ApduTracer
from mynacard.emulator.vpcd import (
    GET_ATR,
    MAX_PAYLOAD,
    POWER_OFF,
    POWER_ON,
    RESET,
    SW_NO_DIAGNOSIS,
    VpcdSocket,
)

log = logging.getLogger(__name__)

#: How long vpcd may take to notice a new card: it accepts on its 400 ms presence poll.
FIRST_POLL_TIMEOUT = 3.0

#: Pause between two connection attempts while pcscd is away.
RECONNECT_PAUSE = 0.1

#: How long to wait for pcscd's poller to register an insertion or removal (5 polls): past it the
#: slot goes on and logs a warning (pcscd stuck, or a reader pcscd does not know by our name).
SEEN_TIMEOUT = 2.0

# Why the serving of one connection ended.
_VPCD_CLOSED = "vpcd closed the connection"
_REMOVED = "removed"
_PULLED = "pulled out in the middle of a command"
_POWER_LOST = "lost power in the middle of a command (torn write)"


class VirtualSlot:
    """A vpcd slot and the card (if any) in it."""

    def __init__(
        self,
        reader: str,
        port: int,
        source: CardSource,
        *,
        host: str = "127.0.0.1",
        tracer: ApduTracer | None = None,
        connect: Callable[[], VpcdSocket] | None = None,
        on_event: Callable[[VirtualSlot, str], None] | None = None,
        pcscd_events: PcscdEvents | None = None,
    ) -> None:
        self.reader = reader
        self.port = port
        self.source = source
        self.faults = FaultPlan()
        self._connect = connect or (lambda: VpcdSocket.connect(host, port))
        #: pcscd's view of the reader; a slot on an injected connection (a fake vpcd) has no pcscd.
        self._pcscd = pcscd_events if pcscd_events is not None or connect is not None else PcscdEvents()
        self.tracer = tracer
        self._on_event = on_event
        #: Guards the card and the connection (the serving thread takes it per command).
        self._lock = threading.RLock()
        #: Serialises insert/remove/exchange requests coming from several threads.
        self._ops = threading.RLock()
        self._card: LoadedCard | None = None
        self._conn: VpcdSocket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._polled = threading.Event()
        self._connect_error: OSError | None = None
        #: pcscd's view just before this card's removal, taken by whoever ends the connection.
        self._before_removal: ReaderEvents | None = None
        self._redaction = RedactionPolicy()
        #: "empty", "connecting", "inserted" or "waiting for pcscd".
        self.state = "empty"
        self.last_event = ""
        self.commands = 0

    # -- control, from any thread -------------------------------------------------------------

    @property
    def inserted(self) -> bool:
        """A card is in the slot (possibly waiting for pcscd to come back)."""
        return self.state != "empty"

    def insert(self, *, wait: bool = True, timeout: float = FIRST_POLL_TIMEOUT) -> None:
        """Load the card from its source and put it in the slot.

        With `wait`, return only once vpcd has talked to the card (pcscd then sees it within one
        poll); raise if it does not, which means pcscd is not there or another card holds the slot.
        """
        with self._ops:
            self._insert(wait, timeout)

    def _insert(self, wait: bool, timeout: float) -> None:
        with self._lock:
            if self.inserted:
                raise SlotBusy(f"there is already a card in {self.reader}; remove it first.")
        if self._thread is not None:
            self._thread.join()  # the last card's thread waits until pcscd saw it go; let it end
        before = self._pcscd_snapshot()
        with self._lock:
            self._card = self.source.load()
            self._before_removal = None
            self._stop = threading.Event()
            self._polled.clear()
            self._connect_error = None
            self._redaction.power_cycle()
            self.state = "connecting"
            self._thread = threading.Thread(
                target=self._run, args=(self._stop,), name=f"vpcd-{self.port}", daemon=True
            )
            self._thread.start()
        if wait and not self._polled.wait(timeout):
            error = self._connect_error
            self.remove()
            if error is not None:
                raise EmulatorError(
                    f"nothing listens on the vpcd port {self.port} of {self.reader} "
                    f"({error.strerror or error}); start pcscd first (`mynacard pcscd start`)."
                )
            raise SlotBusy(
                f"{self.reader} did not talk to the card within {timeout:g} s: another program "
                "probably holds this slot (vpcd serves one card per slot); choose another with --slot."
            )
        if wait and before is not None:
            self._await_pcscd(before.counter, "insertion")

    def remove(self, timeout: float = 5.0) -> bool:
        """Take the card out (after the answer to a command in progress); False if it was empty."""
        with self._ops, self._lock:
            thread = self._thread
            if thread is None or not self.inserted:
                return False
            self._stop.set()
            if self._conn is not None:
                self._before_removal = self._pcscd_snapshot()
                self._conn.shutdown()
        thread.join(timeout)
        return True

    def exchange(self, source: CardSource) -> bool:
        """Put another card in the slot at once, without pcscd seeing a removal and an insertion.

        For test suites: a real removal and insertion costs two of pcscd's 400 ms polls, while an
        exchange between two PC/SC connections is invisible to clients — every connection powers
        the card up afresh. Armed faults are dropped with the old card. pcscd keeps the ATR it
        read at insertion, so a card with another ATR (and an empty slot) gets a real removal and
        insertion instead. True if the exchange was instant, False if it was a real insertion.
        """
        with self._ops:
            return self._exchange(source)

    def _exchange(self, source: CardSource) -> bool:
        card = source.load()
        with self._lock:
            same_atr = self._card is not None and self._card.os.getATR() == card.os.getATR()
            if self.inserted and self.state == "inserted" and same_atr:
                self.source = source
                self._card = card
                self.faults.clear()
                self.commands = 0
                self._redaction.power_cycle()
                self._event("card exchanged")
                return True
        self.remove()
        self.source = source
        self.insert()
        return False

    def reset(self) -> None:
        """Warm-reset the card: it forgets its selected DF and verified PINs, keeps its counters."""
        with self._lock:
            card = self._require_card()
            card.os.reset()
            self._redaction.power_cycle()
            self._event("reset by the control channel")

    def arm_fault(self, fault: Fault) -> None:
        """Arm a delay or a removal for the next matching command(s)."""
        self.faults.arm(fault)
        self._event(f"fault armed: {fault.kind}" + (f" on INS {fault.ins:02X}" if fault.ins is not None else ""))

    def inject_torn_write(self) -> None:
        """Make the card's next durable write tear: the card loses power in the middle of it."""
        with self._lock:
            card = self._require_card()
            if card.store is None:
                raise EmulatorError(f"the card in {self.reader} has no store that can tear a write.")
            card.store.inject_torn_write()
            self._event("fault armed: torn write on the next state write")

    def status(self) -> dict[str, Any]:
        return {
            "reader": self.reader,
            "port": self.port,
            "card": self.source.label,
            "state": self.state,
            "commands": self.commands,
            "faults": [fault.describe() for fault in self.faults.pending()],
            "last_event": self.last_event,
        }

    def _require_card(self) -> LoadedCard:
        if not self.inserted or self._card is None:
            raise EmulatorError(f"there is no card in {self.reader}; insert one first.")
        return self._card

    def _event(self, text: str) -> None:
        self.last_event = text
        if self.tracer is not None:
            self.tracer.event(self.reader, text)
        if self._on_event is not None:
            self._on_event(self, text)

    # -- the serving thread -------------------------------------------------------------------

    def _run(self, stop: threading.Event) -> None:
        again = False
        while not stop.is_set():
            try:
                conn = self._connect()
            except OSError as exc:
                self._connect_error = exc
                stop.wait(RECONNECT_PAUSE)
                continue
            with self._lock:
                if stop.is_set():
                    conn.close()
                    break
                self._conn = conn
                self.state = "inserted"
            self._event("inserted again: pcscd is back" if again else "inserted")
            ended = self._serve(conn, stop)
            if ended == _VPCD_CLOSED and not stop.is_set():
                with self._lock:
                    self._conn = None
                    conn.close()
                self._power_down()
                self.state = "waiting for pcscd"
                self._event("pcscd closed the reader; the card stays in and waits for pcscd to come back")
                again = True
                continue
            if ended in (_PULLED, _POWER_LOST):  # a fault ended it: remove() did not look at pcscd
                self._before_removal = self._pcscd_snapshot()
            # Say it is out before vpcd can see EOF, so whoever watches vpcd finds the slot empty.
            self._finish(ended)
            conn.close()
            before = self._before_removal
            if before is not None and before.present:
                self._await_pcscd(before.counter, "removal")
            return
        self._finish(_REMOVED)

    def _pcscd_snapshot(self) -> ReaderEvents | None:
        return None if self._pcscd is None else self._pcscd.snapshot(self.reader)

    def _await_pcscd(self, counter: int, change: str) -> None:
        """Wait until pcscd's poller registered the change (its event counter left `counter`)."""
        assert self._pcscd is not None
        if not self._pcscd.wait_for_change(self.reader, counter, SEEN_TIMEOUT):
            log.warning("pcscd did not register the %s in %s within %g s", change, self.reader, SEEN_TIMEOUT)

    def _finish(self, ended: str) -> None:
        with self._lock:
            self._conn = None
            self.state = "empty"
            if ended in (_PULLED, _POWER_LOST):
                self._card = None
        self._event(_REMOVED if ended == _VPCD_CLOSED else ended)

    def _serve(self, conn: VpcdSocket, stop: threading.Event) -> str:
        while True:
            frame = conn.recv_frame()
            if frame is None:
                return _REMOVED if stop.is_set() else _VPCD_CLOSED
            self._polled.set()
            if len(frame) == 1:
                if not self._control(conn, frame[0]):
                    return _VPCD_CLOSED
            elif frame:
                ended = self._command(conn, frame, stop)
                if ended is not None:
                    return ended

    def _control(self, conn: VpcdSocket, byte: int) -> bool:
        """Handle a control byte; False if the connection failed."""
        with self._lock:
            card = self._card
            assert card is not None
            try:
                if byte == GET_ATR:
                    conn.send_frame(card.os.getATR())
                elif byte == POWER_ON:
                    card.os.powerUp()
                elif byte == POWER_OFF:
                    card.os.powerDown()
                    self._redaction.power_cycle()
                elif byte == RESET:
                    card.os.reset()
                    self._redaction.power_cycle()
                else:
                    log.warning("vpcd sent the unknown control byte %02X; ignored", byte)
            except OSError:
                return False
            except Exception:
                # The card must stay in the reader; a broken power handler is a bug to see, not a crash.
                log.exception("the card failed to handle vpcd control byte %02X", byte)
        return True

    def _command(self, conn: VpcdSocket, apdu: bytes, stop: threading.Event) -> str | None:
        """Answer one C-APDU; the reason the serving ends if it does (a fault), else None."""
        arrived, started = time.time(), time.perf_counter()
        delay, removal = self.faults.take(apdu)
        if delay:
            self._event(f"fault: delaying INS {apdu[1]:02X} by {delay * 1000:g} ms")
            if stop.wait(delay):
                self._trace(apdu, None, arrived, started)
                return _REMOVED
        if removal is not None and not removal.execute:
            self._trace(apdu, None, arrived, started)
            return _PULLED
        with self._lock:
            if stop.is_set():
                return _REMOVED
            card = self._card
            assert card is not None
            self.commands += 1
            try:
                response = card.os.execute(apdu)
            except card.power_lost:
                self._trace(apdu, None, arrived, started)
                return _POWER_LOST
            except Exception:
                log.exception("the card raised while executing INS %02X; answered 6F00", apdu[1])
                response = SW_NO_DIAGNOSIS
            if not 2 <= len(response) <= MAX_PAYLOAD:
                log.error("the card answered %d bytes, which vpcd cannot carry; answered 6F00", len(response))
                response = SW_NO_DIAGNOSIS
            if removal is not None:
                self._trace(apdu, None, arrived, started)
                return _PULLED
            # Traced before it is sent: whoever got the answer finds it in the trace already.
            self._trace(apdu, response, arrived, started)
            try:
                conn.send_frame(response)
            except OSError:
                return _VPCD_CLOSED
        return None

    def _trace(self, apdu: bytes, response: bytes | None, arrived: float, started: float) -> None:
        if self.tracer is not None:
            self.tracer.exchange(self.reader, self._redaction, apdu, response, arrived,
                                  time.perf_counter() - started)

    def _power_down(self) -> None:
        with self._lock:
            if self._card is not None:
                try:
                    self._card.os.powerDown()
                except Exception:
                    log.exception("the card failed to power down")
            self._redaction.power_cycle()
