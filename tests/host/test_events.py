"""How CardWatcher turns reader states into events, on synthetic SCardGetStatusChange states
(the end-to-end versions through pcscd are in test_pcsc_e2e.py)."""

from __future__ import annotations

from collections import deque

import pytest
from smartcard import scard

from mynacard.host.pcsc import CardWatcher, EventKind, _ReaderState

PRESENT, EMPTY = scard.SCARD_STATE_PRESENT, scard.SCARD_STATE_EMPTY
ATR = [0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14]


def watcher_seeing(state: int, present: bool) -> CardWatcher:
    """A watcher without a PC/SC context, whose reader 'R' was last seen in `state`."""
    watcher = object.__new__(CardWatcher)
    watcher._pending = deque()
    watcher._known = {"R": _ReaderState(state, present)}
    return watcher


def events(watcher: CardWatcher) -> list[tuple[EventKind, bool]]:
    return [(e.kind, e.atr is not None) for e in watcher._pending]


@pytest.mark.parametrize("before, after, expected", [
    # pulled out and put back while nobody waited: the bit is unchanged, the counter moved by 2
    ((5, True), (7, True), [(EventKind.REMOVED, False), (EventKind.INSERTED, True)]),
    # put in and pulled out again: empty both times
    ((4, False), (6, False), [(EventKind.INSERTED, False), (EventKind.REMOVED, False)]),
    ((5, True), (6, False), [(EventKind.REMOVED, False)]),
    ((4, False), (7, True), [(EventKind.INSERTED, False), (EventKind.REMOVED, False),
                             (EventKind.INSERTED, True)]),
    ((5, True), (5, True), []),
    # a driver without a counter: the bit alone decides
    ((0, False), (0, True), [(EventKind.INSERTED, True)]),
])
def test_counter_decides(before, after, expected) -> None:
    count, was = before
    watcher = watcher_seeing((count << 16) | (PRESENT if was else EMPTY), was)
    count, now = after
    watcher._diff("R", (count << 16) | (PRESENT if now else EMPTY) | scard.SCARD_STATE_CHANGED,
                  ATR if now else [])
    assert events(watcher) == expected
    assert watcher._known["R"].present is now
    assert not watcher._known["R"].state & scard.SCARD_STATE_CHANGED
