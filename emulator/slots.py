"""Sharing the vpcd slots between processes, so two cards never go into one slot.

vpcd serves one card per slot; a second card connecting to a busy slot is accepted into the listen
backlog and then hangs silently until the first leaves (virtual-reader.md §8.4). Every mynacard
process therefore leases a slot by holding an exclusive flock on `slots/vpcd-<port>.lock` in the
runtime directory while it serves a card there. The kernel drops the lock when the process dies,
so a crashed emulator never leaves a slot "taken". Programs that are not mynacard (a vicc, say) do
not take these locks; VirtualSlot.insert detects them by vpcd never talking to our card.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path

from mynacard.emulator.errors import SlotBusy
from mynacard.emulator.paths import private_dir, runtime_dir
from mynacard.emulator.pcscd import ReaderSlot


def _lock_path(slot: ReaderSlot) -> Path:
    return private_dir(runtime_dir() / "slots") / f"vpcd-{slot.port}.lock"


@dataclass
class SlotLease:
    """An exclusive claim on one slot; `release()` (or the process ending) gives it back."""

    slot: ReaderSlot
    index: int
    _fd: int | None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _try_lock(slot: ReaderSlot, label: str) -> int | None:
    fd = os.open(_lock_path(slot), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps({"pid": os.getpid(), "card": label}).encode(), 0)
    return fd


def holder(slot: ReaderSlot) -> dict[str, object] | None:
    """Who leases the slot ({"pid", "card"}), or None if it is free."""
    path = _lock_path(slot)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                record = json.loads(os.pread(fd, 4096, 0) or b"{}")
            except ValueError:
                record = {}
            return record if isinstance(record, dict) and record else {"pid": None, "card": "?"}
        return None
    finally:
        os.close(fd)


def lease_slot(slots: list[ReaderSlot], index: int | None, label: str,
               skip: AbstractSet[int] = frozenset()) -> SlotLease:
    """Lease slot `index` (0-based in `slots`), or the first free one not in `skip` if None."""
    if not slots:
        raise SlotBusy("pcscd offers no vpcd slot.")
    if index is not None:
        if not 0 <= index < len(slots):
            raise SlotBusy(f"there is no slot {index}: pcscd offers slots 0 to {len(slots) - 1}.")
        fd = _try_lock(slots[index], label)
        if fd is None:
            who = holder(slots[index]) or {}
            raise SlotBusy(
                f"slot {index} ({slots[index].reader}) is in use by process {who.get('pid')} "
                f"({who.get('card')}); choose another with --slot, or leave it out to get a free one."
            )
        return SlotLease(slots[index], index, fd)
    for i, slot in enumerate(slots):
        if i in skip:
            continue
        fd = _try_lock(slot, label)
        if fd is not None:
            return SlotLease(slot, i, fd)
    raise SlotBusy(
        f"all {len(slots)} vpcd slots are in use; stop an emulator (`mynacard pcscd status` lists them)."
    )
