"""What PC/SC clients see of our readers: card presence, through pyscard.

The emulator knows when vpcd talked to the card; a test wants to know when *clients* see it, which
is one pcscd poll later (pcscd polls vpcd every 400 ms). These helpers ask pcscd itself.
"""

from __future__ import annotations

import time

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
