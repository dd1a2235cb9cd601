"""Taking the card out of the reader and putting it back (eid-mw's "robot", anchors.md §3).

A few cases need the card to leave the field: security status must be gone (CI §4), a blocked
secret must stay blocked, a spent try must stay spent. `Robot` is the one thing those cases ask
for; what does it is a person at the reader (`ManualRobot`), the emulator's control channel (any
object with the emulator client's `remove()`/`insert()` methods, injected by whoever builds the
runner — conformance never imports the emulator), or nobody (the cases are SKIPPED).
"""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TextIO, runtime_checkable

from mynacard.host.transport import ReinsertableTransport


@runtime_checkable
class CardMover(Protocol):
    """Anything that can take the card out and put it back (the emulator's control client, a
    reader card fixture)."""

    def remove(self) -> None: ...

    def insert(self) -> None: ...


@runtime_checkable
class Robot(CardMover, Protocol):
    """Moves the card. After `insert()` the runner reconnects through the transport."""

    description: str


class ManualRobot:
    """Asks a person at the reader and waits for Enter (`--robot manual`)."""

    description = "a person at the reader (--robot manual)"

    def __init__(self, ask: Callable[[str], str] | None = None, out: TextIO | None = None) -> None:
        self._ask = ask or input
        self._out = out or sys.stderr

    def _prompt(self, text: str) -> None:
        print(text, file=self._out, flush=True)
        self._ask("press Enter when done ")

    def remove(self) -> None:
        self._prompt("ROBOT: take the card out of the reader (or out of the field).")

    def insert(self) -> None:
        self._prompt("ROBOT: put the card back into the reader.")


class ClientRobot:
    """Adapts any client with `remove()` and `insert()` (e.g. the emulator's control client)."""

    def __init__(self, client: CardMover, description: str) -> None:
        if not isinstance(client, CardMover):
            raise TypeError(f"a robot client needs remove() and insert() methods; {type(client).__name__} lacks them")
        self._client = client
        self.description = description

    def remove(self) -> None:
        self._client.remove()

    def insert(self) -> None:
        self._client.insert()


class ControlChannelRobot:
    """The emulator's control channel (docs/emulator.md): JSON lines over its private UNIX socket.

    Spoken here rather than imported, so that conformance depends on the emulator's documented
    protocol only: `{"op": "remove", "card": N}` → `{"ok": true, …}` or `{"ok": false, "error": …}`.
    """

    def __init__(self, socket_path: Path | str, card: int | str = 0, timeout: float = 15.0,
                 settle: float = 0.5) -> None:
        self.path = Path(socket_path)
        self.card = card
        self.timeout = timeout
        #: How long the card stays out: longer than pcscd's 400 ms poll, so that PC/SC clients see
        #: the removal as they would a card taken out by hand.
        self.settle = settle
        self.description = f"the emulator's control channel ({self.path}, card {card})"

    def _request(self, op: str) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(self.timeout)
            try:
                sock.connect(str(self.path))
                sock.sendall(json.dumps({"op": op, "card": self.card}).encode() + b"\n")
                line = sock.makefile("rb").readline()
            except OSError as exc:
                raise RobotError(f"cannot reach the emulator's control channel {self.path}: {exc.strerror or exc}") from None
        try:
            answer = json.loads(line) if line else {}
        except ValueError:
            answer = {}
        if not answer.get("ok"):
            raise RobotError(f"the emulator refused '{op}': {answer.get('error', 'no answer')}")

    def remove(self) -> None:
        self._request("remove")
        time.sleep(self.settle)

    def insert(self) -> None:
        self._request("insert")


class ReinsertRobot:
    """For a transport that can power-cycle its own card (the in-process emulator's `reinsert()`)."""

    def __init__(self, transport: ReinsertableTransport) -> None:
        self._transport = transport
        self.description = "the in-process emulator (power off and on)"

    def remove(self) -> None:
        """Nothing to do yet: `insert` powers the card down and up again."""

    def insert(self) -> None:
        self._transport.reinsert()


class RobotError(RuntimeError):
    """The robot could not move the card; the sentence says why."""
