"""A fake vpcd on the other end of a socket pair, for the emulator's unit tests.

The VirtualSlot under test connects through an injected `connect` callable; each call hands it one
end of a fresh socketpair and gives the test the other end as a `FakeVpcd`, which speaks vpcd's
side of the wire protocol (virtual-reader.md §3) byte for byte.
"""

from __future__ import annotations

import socket
import struct
import threading

from mynacard.emulator.slot import VirtualSlot
from mynacard.emulator.trace import ApduTracer
from mynacard.emulator.vpcd import VpcdSocket


class FakeVpcd:
    """vpcd's end of one card connection."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        sock.settimeout(5)

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, payload: bytes) -> None:
        self.sock.sendall(struct.pack(">H", len(payload)) + payload)

    def recv_frame(self) -> bytes | None:
        header = self._exactly(2)
        if header is None:
            return None
        return self._exactly(struct.unpack(">H", header)[0])

    def atr(self) -> bytes | None:
        self.send(b"\x04")
        return self.recv_frame()

    def apdu(self, hex_apdu: str) -> bytes | None:
        self.send(bytes.fromhex(hex_apdu.replace(" ", "")))
        return self.recv_frame()

    def at_eof(self, timeout: float = 5) -> bool:
        """True if the card closed its end (nothing more will come)."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except OSError:
            return True

    def close(self) -> None:
        self.sock.close()

    def _exactly(self, count: int) -> bytes | None:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                return None
            data += chunk
        return data


class RecordingCard:
    """A SmartcardOS that records what it was asked and answers from a script."""

    ATR = bytes.fromhex("3BE000FF8131FE4514")

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.answer: bytes | Exception = b"\x90\x00"

    def getATR(self) -> bytes:  # noqa: N802
        return self.ATR

    def powerUp(self) -> None:  # noqa: N802
        self.calls.append("powerUp")

    def powerDown(self) -> None:  # noqa: N802
        self.calls.append("powerDown")

    def reset(self) -> None:
        self.calls.append("reset")

    def execute(self, msg: bytes) -> bytes:
        self.calls.append(msg.hex().upper())
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class Harness:
    """A VirtualSlot wired to fake vpcd connections; `vpcd()` waits for the next one."""

    def __init__(self, source: object, tracer: ApduTracer | None = None) -> None:
        self._connections: list[FakeVpcd] = []
        self._ready = threading.Condition()
        self.connects = 0
        self.refuse = False
        self.slot = VirtualSlot("Fake PCD 00 00", 1, source, connect=self._connect, tracer=tracer)  # type: ignore[arg-type]

    def _connect(self) -> VpcdSocket:
        if self.refuse:
            raise ConnectionRefusedError(111, "Connection refused")
        ours, theirs = socket.socketpair()
        with self._ready:
            self.connects += 1
            self._connections.append(FakeVpcd(theirs))
            self._ready.notify_all()
        return VpcdSocket(ours)

    def vpcd(self, index: int = -1, timeout: float = 5) -> FakeVpcd:
        with self._ready:
            assert self._ready.wait_for(lambda: self._connections, timeout), "the card never connected"
            return self._connections[index]

    def wait_connects(self, count: int, timeout: float = 5) -> FakeVpcd:
        with self._ready:
            assert self._ready.wait_for(lambda: self.connects >= count, timeout), "the card did not reconnect"
            return self._connections[-1]

    def insert(self) -> FakeVpcd:
        """Insert without waiting (nothing polls yet), then play vpcd's accept: 04 → ATR."""
        self.slot.insert(wait=False)
        vpcd = self.vpcd()
        assert vpcd.atr() == RecordingCard.ATR
        return vpcd
