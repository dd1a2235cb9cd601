"""Command APDU decoding (ISO/IEC 7816-3 §12.1, cases 1–4, short and extended).

The card sees the APDU exactly as the client gave it to SCardTransmit (virtual-reader.md §3), so
this is the single place where lengths are checked: anything that does not parse as one of the
seven encodings is answered `6700` without being interpreted further.
"""

from __future__ import annotations

from dataclasses import dataclass


class MalformedAPDU(ValueError):
    """The bytes are not a well-formed command APDU (answered 6700)."""


@dataclass(frozen=True, slots=True)
class CommandAPDU:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    #: Ne, the maximum response length the client accepts; None when there is no Le field.
    ne: int | None = None
    extended: bool = False

    @property
    def p1p2(self) -> int:
        return (self.p1 << 8) | self.p2

    @property
    def case(self) -> int:
        """ISO case 1–4 (1: no data, no Le; 2: Le only; 3: data only; 4: both)."""
        if self.data:
            return 4 if self.ne is not None else 3
        return 2 if self.ne is not None else 1

    @classmethod
    def parse(cls, raw: bytes) -> CommandAPDU:
        n = len(raw)
        if n < 4:
            raise MalformedAPDU(f"{n} bytes is shorter than an APDU header")
        cla, ins, p1, p2 = raw[0], raw[1], raw[2], raw[3]
        if n == 4:
            return cls(cla, ins, p1, p2)
        b4 = raw[4]
        if n == 5:
            return cls(cla, ins, p1, p2, ne=b4 or 256)
        if b4 != 0:
            if n == 5 + b4:
                return cls(cla, ins, p1, p2, raw[5:])
            if n == 6 + b4:
                return cls(cla, ins, p1, p2, raw[5:-1], ne=raw[-1] or 256)
            raise MalformedAPDU(f"Lc {b4} does not match the {n - 5} bytes that follow")
        # b4 == 0 and more bytes follow: extended length.
        if n < 7:
            raise MalformedAPDU("extended length field is truncated")
        ext = (raw[5] << 8) | raw[6]
        if n == 7:
            return cls(cla, ins, p1, p2, ne=ext or 65536, extended=True)
        if ext == 0:
            raise MalformedAPDU("extended Lc of 0")
        if n == 7 + ext:
            return cls(cla, ins, p1, p2, raw[7:], extended=True)
        if n == 9 + ext:
            le = (raw[-2] << 8) | raw[-1]
            return cls(cla, ins, p1, p2, raw[7:-2], ne=le or 65536, extended=True)
        raise MalformedAPDU(f"extended Lc {ext} does not match the {n - 7} bytes that follow")

    def encode(self) -> bytes:
        """The wire form; extended when asked or when a length needs it."""
        header = bytes((self.cla, self.ins, self.p1, self.p2))
        ext = self.extended or len(self.data) > 255 or (self.ne or 0) > 256
        body = b""
        if self.data:
            body += (b"\x00" + len(self.data).to_bytes(2, "big")) if ext else bytes((len(self.data),))
            body += self.data
        if self.ne is not None:
            if ext:
                body += (b"" if self.data else b"\x00") + (self.ne % 65536).to_bytes(2, "big")
            else:
                body += bytes((self.ne % 256,))
        return header + body
