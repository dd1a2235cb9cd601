"""What PC/SC clients see of our readers: card presence and pcscd's event counter, through pyscard.

The emulator knows when vpcd talked to the card; a test wants to know when *clients* see it, which
is one pcscd poll later (pcscd polls vpcd every 400 ms). These helpers ask pcscd itself.

pcsc-lite puts a per-reader event counter in the upper 16 bits of the event state. Only pcscd's
polling thread moves it, once per insertion or removal it registers — unlike the presence bit,
which a client's failed power-down can clear on its own (docs/emulator.md, "Why a slot waits for
pcscd"). The counter is therefore how the slot learns that pcscd's polling thread has seen a change.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from mynacard.emulator.errors import PcscdError


def _context() -> int:
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        raise PcscdError(f"cannot reach pcscd: {scard.SCardGetErrorMessage(hresult)}")
    return context


def wait_for_presence(reader: str, present: bool, timeout: float = 5.0) -> bool:
    """Wait until pcscd reports a card in `reader` (or none); False on timeout."""
    from smartcard import scard

    context = _context()
    try:
        deadline = time.monotonic() + timeout
        state = scard.SCARD_STATE_UNAWARE
        while True:
            remaining = deadline - time.monotonic()
            hresult, states = scard.SCardGetStatusChange(
                context, max(0, int(remaining * 1000)), [(reader, state)]
            )
            if hresult == scard.SCARD_E_TIMEOUT or remaining <= 0:
                return False
            if hresult != scard.SCARD_S_SUCCESS:
                raise PcscdError(f"pcscd cannot watch {reader}: {scard.SCardGetErrorMessage(hresult)}")
            _, event_state, _ = states[0]
            if event_state & scard.SCARD_STATE_UNKNOWN:
                raise PcscdError(f"pcscd has no reader named {reader!r}.")
            if bool(event_state & scard.SCARD_STATE_PRESENT) == present and not (
                present and event_state & scard.SCARD_STATE_MUTE
            ):
                return True
            state = event_state & ~scard.SCARD_STATE_CHANGED
    finally:
        scard.SCardReleaseContext(context)


@dataclass(frozen=True)
class ReaderEvents:
    """One look at a reader: is a card reported, and how many changes pcscd's poller registered."""

    present: bool
    counter: int


class PcscdEvents:
    """pcscd's view of a reader, for VirtualSlot: a snapshot, and a wait for the poller's next change.

    Both answer "unknown" (None / False) rather than raise when pcscd or the reader is not there: the
    slot then simply does not wait, as before it knew about pcscd's poller.
    """

    def snapshot(self, reader: str) -> ReaderEvents | None:
        from smartcard import scard

        try:
            context = _context()
        except PcscdError:
            return None
        try:
            hresult, states = scard.SCardGetStatusChange(context, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
            if hresult != scard.SCARD_S_SUCCESS or states[0][1] & scard.SCARD_STATE_UNKNOWN:
                return None
            event_state = states[0][1]
            return ReaderEvents(bool(event_state & scard.SCARD_STATE_PRESENT), event_state >> 16)
        finally:
            scard.SCardReleaseContext(context)

    def wait_for_change(self, reader: str, counter: int, timeout: float) -> bool:
        """Wait until pcscd's event counter of `reader` is no longer `counter`; False on timeout."""
        from smartcard import scard

        try:
            context = _context()
        except PcscdError:
            return False
        try:
            deadline = time.monotonic() + timeout
            # pcscd answers at once if the counter we pass differs from its own, else when it changes.
            state = counter << 16
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                hresult, states = scard.SCardGetStatusChange(context, int(remaining * 1000), [(reader, state)])
                if hresult != scard.SCARD_S_SUCCESS:
                    return False
                event_state = states[0][1]
                if event_state & scard.SCARD_STATE_UNKNOWN:
                    return False
                if event_state >> 16 != counter:
                    return True
                state = event_state & ~scard.SCARD_STATE_CHANGED
        finally:
            scard.SCardReleaseContext(context)
