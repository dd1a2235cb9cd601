"""A card image in a virtual reader for a benchmark: a leased vpcd slot of pcscd (a running one,
or a private one started and stopped again), the card inserted and seen by pcscd, everything
given back at the end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mynacard.emulator.cards import ImageCardSource
from mynacard.emulator.pcsc_state import wait_for_presence
from mynacard.emulator.pcscd import PcscdLease
from mynacard.emulator.slot import VirtualSlot
from mynacard.emulator.slots import lease_slot


@contextmanager
def card_in_virtual_reader(card_dir: Path, holder: str) -> Iterator[str]:
    """Yields the PC/SC reader name holding the card at `card_dir`."""
    pcscd = PcscdLease()
    info = pcscd.acquire()
    lease = lease_slot(info.slots, None, holder)
    slot = VirtualSlot(lease.slot.reader, lease.slot.port, ImageCardSource(card_dir))
    try:
        slot.insert()
        if not wait_for_presence(lease.slot.reader, True, 5.0):
            raise SystemExit(f"pcscd did not see the card in {lease.slot.reader}")
        yield lease.slot.reader
    finally:
        if slot.inserted:
            slot.remove()
        lease.release()
        pcscd.release()
