"""Faults armed on a slot, fired by the next matching commands.

Three kinds (docs/emulator.md, "Faults"):
- `delay`: the card takes `ms` longer to answer (before it executes the command) — for client
  timeouts; a removal requested during the delay pulls the card before it executes anything;
- `remove`: the card is pulled out in the middle of the command — after executing it (state
  written, no answer: the worst case for a client) or before (`execute=False`);
- `torn-write`: not here — it is armed on the card's store at once (`store.inject_torn_write()`),
  because only the card knows when it writes; see VirtualSlot.inject_torn_write.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass

FAULT_KINDS = ("delay", "remove")


@dataclass
class Fault:
    kind: str
    #: Fire only on commands with this INS (None: any command).
    ins: int | None = None
    #: How many matching commands it applies to (a removal fires once whatever this says).
    count: int = 1
    delay_ms: float = 0.0
    #: `remove`: whether the card executes the command before it is pulled.
    execute: bool = True

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; the faults are {', '.join(FAULT_KINDS)}, torn-write")
        if self.ins is not None and not 0 <= self.ins <= 0xFF:
            raise ValueError(f"INS must be a byte, not {self.ins}")
        if self.count < 1:
            raise ValueError("a fault must apply to at least one command")
        if self.delay_ms < 0:
            raise ValueError("a delay cannot be negative")

    def matches(self, apdu: bytes) -> bool:
        return self.ins is None or (len(apdu) >= 2 and apdu[1] == self.ins)

    def describe(self) -> dict[str, object]:
        out = asdict(self)
        out["ins"] = None if self.ins is None else f"{self.ins:02X}"
        return out


class FaultPlan:
    """The armed faults of one slot; taken by the serving thread, armed from any thread."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def arm(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, apdu: bytes) -> tuple[float, Fault | None]:
        """(total delay in seconds, the removal to perform or None) for this command; uses them up."""
        delay = 0.0
        removal = None
        with self._lock:
            for fault in list(self._faults):
                if not fault.matches(apdu):
                    continue
                if fault.kind == "delay":
                    delay += fault.delay_ms / 1000
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                elif removal is None:
                    removal = fault
                    self._faults.remove(fault)
        return delay, removal
