"""The cards one process serves in virtual readers: a pcscd lease, slot leases and the slots.

`mynacard emulate`, the pytest plugin and the benchmark all go through this, so they all share
pcscd and the slots the same way (pcscd.py, slots.py) and clean up the same way.
"""

from __future__ import annotations

from collections.abc import Callable

from mynacard.emulator.cards import CardSource
from mynacard.emulator.errors import SlotBusy
from mynacard.emulator.pcscd import PcscdInfo, PcscdLease
from mynacard.emulator.slot import VirtualSlot
from mynacard.emulator.slots import SlotLease, lease_slot
from mynacard.emulator.trace import ApduTracer


class VirtualReaders:
    """Open with `open()`, add cards with `add()`, and always `close()` (also a context manager)."""

    def __init__(self, tracer: ApduTracer | None = None,
                 on_event: Callable[[VirtualSlot, str], None] | None = None) -> None:
        self.tracer = tracer
        self.on_event = on_event
        self.pcscd = PcscdLease()
        self.slots: list[VirtualSlot] = []
        self._leases: dict[int, SlotLease] = {}

    @property
    def info(self) -> PcscdInfo:
        if self.pcscd.info is None:
            raise RuntimeError("VirtualReaders.open() was not called")
        return self.pcscd.info

    def open(self) -> PcscdInfo:
        """Use the running pcscd, or start one with our private reader config."""
        return self.pcscd.acquire()

    def lease(self, slot_index: int | None = None, label: str = "card") -> SlotLease:
        """Claim a slot (a given one, or the first free) without putting a card in it yet."""
        return lease_slot(self.info.slots, slot_index, label)

    def add(self, source: CardSource, slot_index: int | None = None, *, insert: bool = True) -> VirtualSlot:
        """Lease a slot, put the card from `source` in it, and return the slot.

        Without `slot_index`, a slot that turns out to be held by a program outside mynacard (vpcd
        never talks to our card) is skipped for the next free one.
        """
        skipped: set[int] = set()
        while True:
            lease = lease_slot(self.info.slots, slot_index, source.label, skip=skipped)
            slot = self.attach(lease, source)
            if not insert:
                return slot
            try:
                slot.insert()
                return slot
            except SlotBusy:
                self.detach(slot)
                if slot_index is not None:
                    raise
                skipped.add(lease.index)
            except BaseException:
                self.detach(slot)
                raise

    def attach(self, lease: SlotLease, source: CardSource) -> VirtualSlot:
        """A VirtualSlot for a source on a slot already leased (the lease is released on detach)."""
        slot = VirtualSlot(lease.slot.reader, lease.slot.port, source, tracer=self.tracer, on_event=self.on_event)
        self._leases[id(slot)] = lease
        self.slots.append(slot)
        return slot

    def detach(self, slot: VirtualSlot) -> None:
        """Remove the slot's card, forget the slot and give its lease back."""
        slot.remove()
        self.slots.remove(slot)
        self._leases.pop(id(slot)).release()

    def close(self) -> bool:
        """Remove every card, give back the slots and pcscd; True if pcscd was stopped."""
        for slot in list(self.slots):
            self.detach(slot)
        return self.pcscd.release()

    def __enter__(self) -> VirtualReaders:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
