"""Cash payment: a simulated coin and note acceptor with escrow, change and refund.

Cash inserted is held in escrow, not in the cash box: the state machine captures it only after
the document is printed (`capture`, which pays out the change) and refunds it on every other
way out (`refund`). The ledger records each capture and refund with its transaction id, so a
test (or an auditor) can check every charge against a printed document.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

#: Japanese coins and notes the acceptor takes (the ¥2000 note is rare in machines).
DENOMINATIONS = (10, 50, 100, 500, 1000, 5000, 10000)


class PaymentError(Exception):
    pass


class PaymentAcceptor(Protocol):
    def accept(self, amount: int, on_total: Callable[[int], None]) -> None:
        """Open the slot for `amount` yen; `on_total(escrow)` after each coin or note."""
        ...

    def stop(self) -> None:
        """Close the slot; the escrow stays held."""
        ...

    def capture(self, transaction_id: str, amount: int) -> int:
        """Move `amount` to the cash box and pay the rest of the escrow out; returns the change."""
        ...

    def refund(self, reason: str) -> int:
        """Pay the whole escrow back; returns how much."""
        ...


@dataclass(frozen=True)
class LedgerEntry:
    kind: str  # "capture" or "refund"
    transaction_id: str | None
    amount: int
    change: int = 0


@dataclass
class SimulatedAcceptor:
    """The acceptor a person (or a test) feeds with `insert(yen)`."""

    escrow: int = 0
    cash_box: int = 0
    ledger: list[LedgerEntry] = field(default_factory=list)
    _open_for: int | None = None
    _on_total: Callable[[int], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def accept(self, amount: int, on_total: Callable[[int], None]) -> None:
        with self._lock:
            self._open_for, self._on_total = amount, on_total

    def stop(self) -> None:
        with self._lock:
            self._open_for, self._on_total = None, None

    @property
    def accepting(self) -> bool:
        return self._open_for is not None

    def insert(self, yen: int) -> bool:
        """A coin or note; False (returned at once) if the slot is closed or it is not money."""
        with self._lock:
            if self._open_for is None or yen not in DENOMINATIONS:
                return False
            self.escrow += yen
            total, callback = self.escrow, self._on_total
        if callback is not None:
            callback(total)
        return True

    def capture(self, transaction_id: str, amount: int) -> int:
        with self._lock:
            if amount > self.escrow:
                raise PaymentError(f"cannot take ¥{amount}: only ¥{self.escrow} was paid")
            change = self.escrow - amount
            self.cash_box += amount
            self.escrow = 0
            self.ledger.append(LedgerEntry("capture", transaction_id, amount, change))
            return change

    def refund(self, reason: str) -> int:
        with self._lock:
            returned, self.escrow = self.escrow, 0
            if returned:
                self.ledger.append(LedgerEntry("refund", None, returned))
            return returned
