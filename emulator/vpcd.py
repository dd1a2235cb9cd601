"""The card side of vsmartcard's vpcd wire protocol (virtual-reader.md §3), with the stdlib only.

vpcd is the reader driver pcscd loads; for each slot it listens on a TCP port and the card process
connects to it. Both directions carry frames: a big-endian uint16 length, then that many bytes.
From vpcd, a 1-byte frame is a control byte (power off/on, reset, "send your ATR") and anything
longer is a C-APDU exactly as the client gave it to SCardTransmit. The card answers the ATR request
and every APDU with exactly one frame and nothing else.

We own this client because Debian's python3-virtualsmartcard does not import on bookworm and PyPI
has none, and because of the latency trap of §7: vpcd 0.8 writes length and payload in two
`send()`s, so Nagle plus delayed ACK stalls every APDU by ~44 ms unless the card re-arms
TCP_QUICKACK before every `recv()` (Linux clears it again after each ACK). We also send our own
frames as one `sendall` with TCP_NODELAY, so we never cause the same stall on vpcd's side.
"""

from __future__ import annotations

import socket
import struct

#: Control bytes from vpcd (virtual-reader.md §3). Only GET_ATR gets a reply.
POWER_OFF = 0x00
POWER_ON = 0x01
RESET = 0x02
GET_ATR = 0x04

#: The largest payload a frame can carry (uint16 length).
MAX_PAYLOAD = 0xFFFF

#: Answer to anything the card cannot answer properly: "no precise diagnosis" (ISO 7816-4).
SW_NO_DIAGNOSIS = bytes.fromhex("6F00")

_LENGTH = struct.Struct(">H")
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


def encode_frame(payload: bytes) -> bytes:
    """Length prefix + payload. Empty frames are refused: vpcd takes one as "card removed"."""
    if not payload:
        raise ValueError("a vpcd frame must not be empty: vpcd would eject the card")
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"a vpcd frame holds at most {MAX_PAYLOAD} bytes, not {len(payload)}")
    return _LENGTH.pack(len(payload)) + payload


class VpcdSocket:
    """A card's connection to one vpcd slot: whole frames in, whole frames out."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._tcp = sock.family in (socket.AF_INET, socket.AF_INET6)
        if self._tcp:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @classmethod
    def connect(cls, host: str, port: int, timeout: float = 2.0) -> VpcdSocket:
        """Connect to vpcd's listening port (this is what "inserts" the card for pcscd)."""
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.settimeout(None)
        return cls(sock)

    def recv_frame(self) -> bytes | None:
        """The next frame's payload, or None when vpcd closed the connection (or we shut it down)."""
        header = self._recv_exactly(_LENGTH.size)
        if header is None:
            return None
        (length,) = _LENGTH.unpack(header)
        if length == 0:
            return b""
        return self._recv_exactly(length)

    def send_frame(self, payload: bytes) -> None:
        """One `sendall` of length + payload, so the frame leaves in a single segment."""
        self._sock.sendall(encode_frame(payload))

    def shutdown(self) -> None:
        """Wake a thread blocked in `recv_frame` (it then sees EOF); safe to call from any thread."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        self._sock.close()

    def _recv_exactly(self, count: int) -> bytes | None:
        chunks: list[bytes] = []
        while count:
            if self._tcp and _QUICKACK is not None:
                self._sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            try:
                chunk = self._sock.recv(count)
            except OSError:
                return None
            if not chunk:
                return None
            chunks.append(chunk)
            count -= len(chunk)
        return b"".join(chunks)

