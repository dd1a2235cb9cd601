"""PC/SC through pyscard's low-level `smartcard.scard` module: readers, the Transport, card
events.

Low level on purpose: the host needs the raw PC/SC return codes to tell a person exactly what is
wrong (no pcscd, no reader, no card, card removed…), the reset disposition, SCardControl for the
reader's extended-APDU capability, and the event counter of SCardGetStatusChange — the only
way to notice a card that was pulled and put back between two looks at the reader.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from types import TracebackType

from smartcard import scard

from mynacard.host.errors import (
    CardRemoved,
    NoCard,
    NoReader,
    PcscUnavailable,
    ReaderBusy,
    TransportError,
)

PNP_READER = "\\\\?PnP?\\Notification"

#: PC/SC part 10: the feature list, FEATURE_GET_TLV_PROPERTIES and dwMaxAPDUDataSize.
_CM_IOCTL_GET_FEATURE_REQUEST = scard.SCARD_CTL_CODE(3400)
_FEATURE_GET_TLV_PROPERTIES = 0x12
_PROPERTY_MAX_APDU_DATA_SIZE = 0x0A

_SERVICE_DOWN = "the PC/SC service (pcscd) is not running: start it (for example `pcscd`, or " \
                "`systemctl start pcscd.socket`), or run `mynacard emulate` for a virtual card"


def _code(hresult: int) -> int:
    return hresult & 0xFFFFFFFF


def pcsc_error(hresult: int, reader: str | None, doing: str) -> TransportError:
    """The exception for a PC/SC failure, as a sentence a person can act on."""
    code = _code(hresult)
    where = f"reader '{reader}'" if reader else "the card reader"
    if code in (_code(scard.SCARD_E_NO_SERVICE), _code(scard.SCARD_E_SERVICE_STOPPED)):
        return PcscUnavailable(_SERVICE_DOWN)
    if code == _code(scard.SCARD_E_NO_READERS_AVAILABLE):
        return NoReader("no card reader is connected: plug one in (or run `mynacard emulate` "
                        "for a virtual one) and try again")
    if code in (_code(scard.SCARD_E_UNKNOWN_READER), _code(scard.SCARD_E_READER_UNAVAILABLE)):
        return NoReader(f"there is no {where} (any more): run `mynacard card readers` to see "
                        f"the names of the connected readers")
    if code == _code(scard.SCARD_E_NO_SMARTCARD):
        return NoCard(f"there is no card in {where}: insert the My Number Card (chip first, or "
                      f"lay it on a contactless reader) and try again")
    if code == _code(scard.SCARD_W_REMOVED_CARD):
        return CardRemoved(f"the card was removed from {where} while {doing}: put it back and "
                           f"start again (anything verified before is forgotten)")
    if code == _code(scard.SCARD_W_RESET_CARD):
        return CardRemoved(f"another program reset the card in {where} while {doing}: start "
                           f"again (anything verified before is forgotten)")
    if code in (_code(scard.SCARD_W_UNRESPONSIVE_CARD), _code(scard.SCARD_W_UNPOWERED_CARD)):
        return NoCard(f"the card in {where} does not answer: take it out, check it is the right "
                      f"way round (chip first) and insert it again")
    if code == _code(scard.SCARD_E_SHARING_VIOLATION):
        return ReaderBusy(f"another program holds {where} exclusively: close it and try again")
    if code == _code(scard.SCARD_E_NOT_TRANSACTED):
        return TransportError(f"{where} could not pass a command to the card while {doing} "
                              f"(the card may have been removed, or the reader refuses the "
                              f"command's size): check the card and try again")
    if code == _code(scard.SCARD_E_TIMEOUT):
        return NoCard(f"nothing happened at {where} before the time ran out")
    message = scard.SCardGetErrorMessage(hresult)
    return TransportError(f"PC/SC failed while {doing} on {where}: {message} (0x{code:08X})")


def _check(hresult: int, reader: str | None, doing: str) -> None:
    if hresult != scard.SCARD_S_SUCCESS:
        raise pcsc_error(hresult, reader, doing)


def _establish() -> int:
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    _check(hresult, None, "connecting to the PC/SC service")
    return context


def _list(context: int) -> list[str]:
    hresult, names = scard.SCardListReaders(context, [])
    if _code(hresult) == _code(scard.SCARD_E_NO_READERS_AVAILABLE):
        return []
    _check(hresult, None, "listing readers")
    return list(names)


# --- readers ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReaderInfo:
    name: str
    card_present: bool
    atr: bytes | None


def list_readers() -> list[ReaderInfo]:
    """Every reader PC/SC knows, with whether a card is in it (no card is connected to)."""
    context = _establish()
    try:
        names = _list(context)
        if not names:
            return []
        hresult, states = scard.SCardGetStatusChange(
            context, 0, [(name, scard.SCARD_STATE_UNAWARE) for name in names])
        _check(hresult, None, "reading reader states")
        return [ReaderInfo(name, bool(state & scard.SCARD_STATE_PRESENT),
                           bytes(atr) if state & scard.SCARD_STATE_PRESENT and atr else None)
                for name, state, atr in states]
    finally:
        scard.SCardReleaseContext(context)


# --- the transport ---------------------------------------------------------------------------------


class PcscTransport:
    """A shared connection to the card in one reader (T=1 preferred, else whatever the card
    offers). Closing resets the card, so a PIN verified here is not left open for the next
    program — and a program sharing the card learns (SCARD_W_RESET_CARD) that its selected AP
    and verified PINs are gone, instead of sending a command into the AP we selected."""

    def __init__(self, reader: str, *, extended_length: bool | None = None, exclusive: bool = False) -> None:
        """`extended_length`: None = ask the reader (PC/SC part 10 dwMaxAPDUDataSize); a reader
        that does not say (vpcd, many CCID readers) is tried, and the card layer falls back to
        short APDUs if an extended one is refused. `exclusive`: no other program may talk to the
        card while this connection is open (a conformance run must not have foreign commands —
        e.g. OpenSC probing every reader — slipped between its own)."""
        self.name = reader
        self._share = scard.SCARD_SHARE_EXCLUSIVE if exclusive else scard.SCARD_SHARE_SHARED
        self._context: int | None = _establish()
        self._card: int | None = None
        try:
            self._connect()
            self._extended = (self._reader_extended_length() if extended_length is None
                              else extended_length)
        except BaseException:
            self.close()
            raise

    def _connect(self) -> None:
        doing = "connecting to the card"
        hresult, card, protocol = scard.SCardConnect(
            self._context, self.name, self._share, scard.SCARD_PROTOCOL_T1)
        if _code(hresult) == _code(scard.SCARD_E_PROTO_MISMATCH):
            hresult, card, protocol = scard.SCardConnect(
                self._context, self.name, self._share,
                scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
        _check(hresult, self.name, doing)
        self._card = card
        self._set_protocol(protocol)
        self._atr = self._read_atr()

    def _set_protocol(self, protocol: int) -> None:
        self._protocol = protocol
        self._pci = scard.SCARD_PCI_T0 if protocol == scard.SCARD_PROTOCOL_T0 else scard.SCARD_PCI_T1

    def _read_atr(self) -> bytes:
        hresult, _reader, _state, _protocol, atr = scard.SCardStatus(self._card)
        _check(hresult, self.name, "reading the ATR")
        return bytes(atr)

    def _reader_extended_length(self) -> bool:
        """What the reader reports through PC/SC part 10; True when it reports nothing."""
        hresult, features = scard.SCardControl(self._card, _CM_IOCTL_GET_FEATURE_REQUEST, [])
        if hresult != scard.SCARD_S_SUCCESS:
            return True
        raw = bytes(features)
        code = None
        for i in range(0, len(raw) - 5, 6):
            if raw[i] == _FEATURE_GET_TLV_PROPERTIES and raw[i + 1] == 4:
                code = int.from_bytes(raw[i + 2 : i + 6], "big")
        if code is None:
            return True
        hresult, properties = scard.SCardControl(self._card, code, [])
        if hresult != scard.SCARD_S_SUCCESS:
            return True
        raw = bytes(properties)
        i = 0
        while i + 2 <= len(raw):
            tag, length = raw[i], raw[i + 1]
            if tag == _PROPERTY_MAX_APDU_DATA_SIZE:
                # 0 = short APDUs only; above 256 the reader carries extended ones.
                return int.from_bytes(raw[i + 2 : i + 2 + length], "little") > 256
            i += 2 + length
        return True

    @property
    def atr(self) -> bytes:
        return self._atr

    @property
    def extended_length(self) -> bool:
        return self._extended

    @property
    def protocol(self) -> str:
        return "T=0" if self._protocol == scard.SCARD_PROTOCOL_T0 else "T=1"

    def transmit(self, apdu: bytes) -> bytes:
        if self._card is None:
            raise CardRemoved(f"the connection to reader '{self.name}' is closed: open the card "
                              f"again")
        hresult, response = scard.SCardTransmit(self._card, self._pci, list(apdu))
        _check(hresult, self.name, "exchanging a command with the card")
        if len(response) < 2:
            # What pcscd passes on when the card vanished mid-command (seen with vpcd): success
            # with no status word. The next call would say SCARD_W_REMOVED_CARD once pcscd
            # notices; say it now.
            raise CardRemoved(f"the card in reader '{self.name}' stopped answering in the middle "
                              f"of a command (was it removed?): put it back and start again "
                              f"(anything verified before is forgotten)")
        return bytes(response)

    def reset(self) -> None:
        """Warm reset through SCardReconnect with SCARD_RESET_CARD."""
        if self._card is None:
            raise CardRemoved(f"the connection to reader '{self.name}' is closed: open the card "
                              f"again")
        hresult, protocol = scard.SCardReconnect(
            self._card, self._share,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1, scard.SCARD_RESET_CARD)
        _check(hresult, self.name, "resetting the card")
        self._set_protocol(protocol)
        self._atr = self._read_atr()

    def close(self) -> None:
        if self._card is not None:
            scard.SCardDisconnect(self._card, scard.SCARD_RESET_CARD)
            self._card = None
        if self._context is not None:
            scard.SCardReleaseContext(self._context)
            self._context = None

    def __enter__(self) -> PcscTransport:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def open_first_my_number_card(*, exclusive: bool = False) -> PcscTransport:
    """A transport to the first reader whose card answers the JPKI AID SELECT (CI §1: detection
    by AID, never by ATR); `NoCard` naming what was found otherwise."""
    from mynacard.host import aids
    from mynacard.host.channel import CardChannel

    readers = list_readers()
    if not readers:
        raise NoReader("no card reader is connected: plug one in (or run `mynacard emulate` for "
                       "a virtual one) and try again")
    seen: list[str] = []
    for info in readers:
        if not info.card_present:
            seen.append(f"'{info.name}' (empty)")
            continue
        try:
            transport = PcscTransport(info.name, exclusive=exclusive)
        except (NoCard, CardRemoved, ReaderBusy) as exc:
            seen.append(f"'{info.name}' ({exc.sentence})")
            continue
        if CardChannel(transport).try_select_ap(aids.JPKI):
            return transport
        transport.close()
        seen.append(f"'{info.name}' (another kind of card)")
    raise NoCard(f"no My Number Card in any reader — {', '.join(seen)}: insert the card, or name "
                 f"the reader with --reader")


# --- events ----------------------------------------------------------------------------------------


class EventKind(Enum):
    INSERTED = "inserted"
    REMOVED = "removed"


@dataclass(frozen=True)
class CardEvent:
    kind: EventKind
    reader: str
    #: The ATR of the card now in the reader; None for removals and for an insertion that was
    #: already followed by a removal when it was noticed.
    atr: bytes | None = None


@dataclass
class _ReaderState:
    state: int  # dwEventState as last seen, event counter in the upper 16 bits
    present: bool

    @property
    def counter(self) -> int:
        return (self.state >> 16) & 0xFFFF


class CardWatcher:
    """Card insertions and removals as a stream, from SCardGetStatusChange.

    pcsc-lite counts insertions and removals per reader in the upper 16 bits of dwEventState.
    The watcher compares that counter, not only the present/empty bit, so a card pulled out and
    put back while nobody was looking still yields `REMOVED` then `INSERTED`. `close()` may be
    called from another thread and ends a blocked wait (SCardCancel).
    """

    def __init__(self, readers: Sequence[str] | None = None, *, include_present: bool = True,
                 poll: float = 1.0) -> None:
        """`readers`: the readers to watch (None = all, following readers that come and go).
        `include_present`: report cards already in a reader as `INSERTED` first.
        `poll`: how often, at most, the counters are re-read even without a wake-up (pcsc-lite
        does not wake a waiter on counter changes while its known counter is 0)."""
        self._context: int | None = _establish()
        self._lock = threading.Lock()
        self._closed = False
        self._waiting = False
        self._follow_all = readers is None
        self._poll = poll
        self._pending: deque[CardEvent] = deque()
        self._known: dict[str, _ReaderState] = {}
        names = _list(self._context) if readers is None else list(readers)
        for name, state, atr in self._snapshot(names):
            present = bool(state & scard.SCARD_STATE_PRESENT)
            self._known[name] = _ReaderState(state & ~scard.SCARD_STATE_CHANGED, present)
            if include_present and present:
                self._pending.append(CardEvent(EventKind.INSERTED, name, bytes(atr) or None))
        self._pnp_state = scard.SCARD_STATE_UNAWARE

    def _snapshot(self, names: Sequence[str]) -> list[tuple[str, int, list[int]]]:
        if not names:
            return []
        hresult, states = scard.SCardGetStatusChange(
            self._context, 0, [(name, scard.SCARD_STATE_UNAWARE) for name in names])
        _check(hresult, None, "reading reader states")
        return list(states)

    def _diff(self, name: str, state: int, atr: list[int]) -> None:
        """Turn one reader's new state into events, counting missed transitions."""
        present = bool(state & scard.SCARD_STATE_PRESENT)
        unknown = bool(state & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE))
        if unknown:
            present = False
        old = self._known.get(name)
        if old is None:
            old = _ReaderState(0, False)
        new = _ReaderState(state & ~scard.SCARD_STATE_CHANGED, present)
        transitions = (new.counter - old.counter) & 0xFFFF if old.state else int(present)
        if (transitions % 2 == 1) != (present != old.present):
            # The counter and the bit disagree (a driver without a counter, or the first look):
            # the fewest transitions that explain the bit.
            transitions += 1
        level = old.present
        for i in range(transitions):
            level = not level
            if level:
                last = i == transitions - 1
                self._pending.append(CardEvent(EventKind.INSERTED, name,
                                               bytes(atr) if last and atr else None))
            else:
                self._pending.append(CardEvent(EventKind.REMOVED, name))
        self._known[name] = new

    def _refresh_readers(self) -> None:
        context = self._context
        if context is None:  # closed meanwhile: nothing left to watch
            return
        names = set(_list(context))
        for gone in sorted(set(self._known) - names):
            if self._known[gone].present:
                self._pending.append(CardEvent(EventKind.REMOVED, gone))
            del self._known[gone]
        for name, state, atr in self._snapshot(sorted(names - set(self._known))):
            self._diff(name, state, atr)

    def next_event(self, timeout: float | None = None) -> CardEvent | None:
        """The next event, or None when `timeout` seconds pass (or the watcher is closed)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._pending:
            wait = self._poll
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                wait = min(wait, remaining)
            if not self._wait_once(wait):
                return None
        return self._pending.popleft()

    def _wait_once(self, wait: float) -> bool:
        """One SCardGetStatusChange; False once the watcher is closed."""
        with self._lock:
            if self._closed:
                return False
            self._waiting = True
        try:
            names = list(self._known)
            request = [(name, self._known[name].state) for name in names]
            if self._follow_all:
                request.append((PNP_READER, self._pnp_state))
            if not request:
                time.sleep(wait)
                return True
            hresult, states = scard.SCardGetStatusChange(self._context, int(wait * 1000), request)
            code = _code(hresult)
            if code == _code(scard.SCARD_E_CANCELLED) or self._closed:
                return False
            if code == _code(scard.SCARD_E_TIMEOUT):
                # No wake-up; the counters may still have moved (see `poll`): look again.
                for name, state, atr in self._snapshot(names):
                    self._diff(name, state, atr)
                return True
            if code == _code(scard.SCARD_E_NO_READERS_AVAILABLE):
                self._refresh_readers()
                time.sleep(wait)
                return True
            _check(hresult, None, "waiting for card events")
            readers_changed = False
            for name, state, atr in states:
                if name == PNP_READER:
                    readers_changed = bool(state & scard.SCARD_STATE_CHANGED)
                    self._pnp_state = state & ~scard.SCARD_STATE_CHANGED
                else:
                    self._diff(name, state, atr)
            if readers_changed:
                self._refresh_readers()
            return True
        finally:
            with self._lock:
                self._waiting = False
                release = self._closed and self._context is not None
            if release:
                self._release()

    def __iter__(self) -> Iterator[CardEvent]:
        while True:
            event = self.next_event()
            if event is None:
                return
            yield event

    def close(self) -> None:
        """Stop watching; safe from another thread (a blocked wait returns None at once)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            waiting = self._waiting
            if waiting:
                scard.SCardCancel(self._context)
        if not waiting:
            self._release()

    def _release(self) -> None:
        with self._lock:
            context, self._context = self._context, None
        if context is not None:
            scard.SCardReleaseContext(context)

    def __enter__(self) -> CardWatcher:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def wait_for_card(reader: str | None = None, timeout: float | None = None) -> str:
    """The name of a reader holding a card (at once if one already does); `NoCard` on timeout."""
    with CardWatcher([reader] if reader else None, include_present=True) as watcher:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            event = watcher.next_event(remaining)
            if event is None:
                where = f"reader '{reader}'" if reader else "any reader"
                within = f" within {timeout:g} s" if timeout is not None else ""
                raise NoCard(f"no card was put in {where}{within}: insert the My Number Card "
                             f"and try again")
            if event.kind is EventKind.INSERTED:
                return event.reader
