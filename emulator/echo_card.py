"""The trivial echo card: the baseline the benchmarks measure the vpcd path with.

It does no card logic at all, so the time a client sees for it is the cost of the path alone
(pyscard → pcscd → vpcd → our vpcd client → card → back). To keep the bytes on the wire equal to a
real card's, a command with Le is answered with Le bytes of filler (a READ BINARY of 256 bytes
costs the same transfer as on the real card); a command without Le gets its data back.
"""

from __future__ import annotations

#: The JPKI contact ATR of OpenSC's table: announces T=1, which pcscd needs (virtual-reader.md §3).
ECHO_ATR = bytes.fromhex("3BE000FF8131FE4514")

_FILLER = bytes(range(256)) * 256


class EchoCard:
    """A vsmartcard SmartcardOS that answers every C-APDU with 9000."""

    def __init__(self, atr: bytes = ECHO_ATR) -> None:
        self.atr = atr

    def getATR(self) -> bytes:  # noqa: N802 - vsmartcard's SmartcardOS names
        return self.atr

    def powerUp(self) -> None:  # noqa: N802
        pass

    def powerDown(self) -> None:  # noqa: N802
        pass

    def reset(self) -> None:
        pass

    def execute(self, msg: bytes) -> bytes:
        data, le = _split_body(msg[4:])
        if le is not None:
            return _FILLER[:le] + b"\x90\x00"
        return data + b"\x90\x00"


def _split_body(body: bytes) -> tuple[bytes, int | None]:
    """(command data, Ne or None) of a C-APDU body, short or extended; lenient (it is an echo)."""
    if not body:
        return b"", None
    if len(body) == 1:
        return b"", body[0] or 256
    if body[0] == 0 and len(body) >= 3:
        if len(body) == 3:
            return b"", int.from_bytes(body[1:3], "big") or 65536
        lc = int.from_bytes(body[1:3], "big")
        data, rest = body[3 : 3 + lc], body[3 + lc :]
        return data, (int.from_bytes(rest, "big") or 65536) if len(rest) == 2 else None
    lc = body[0]
    data, rest = body[1 : 1 + lc], body[1 + lc :]
    return data, (rest[0] or 256) if len(rest) == 1 else None
