"""Command and response APDUs (ISO/IEC 7816-4 cases 1–4, short and extended).

Only the encoder lives on the host side: the card is the one that has to reject malformed input.
A command picks the short form whenever it fits, because most readers and clients stay with short
APDUs (CI §1); `extended=True` is asked for explicitly by a caller that knows the transport carries
extended APDUs (a whole EF in one READ BINARY).
"""

from __future__ import annotations

from dataclasses import dataclass

from mynacard.host.sw import SW

#: Largest Le a short APDU can carry (encoded as 00) and the largest extended Le (encoded 00 00).
SHORT_LE_MAX = 256
EXTENDED_LE_MAX = 65536


@dataclass(frozen=True)
class Command:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    #: Expected response length; None = no Le field (case 1/3).
    le: int | None = None

    def needs_extended(self) -> bool:
        return len(self.data) > 255 or (self.le is not None and self.le > SHORT_LE_MAX)

    def encode(self, extended: bool = False) -> bytes:
        """The wire bytes; extended form when asked or when the fields do not fit short."""
        for name, value in (("CLA", self.cla), ("INS", self.ins), ("P1", self.p1), ("P2", self.p2)):
            if not 0 <= value <= 0xFF:
                raise ValueError(f"{name} must be one byte, not {value}")
        if len(self.data) > 65535:
            raise ValueError(f"command data of {len(self.data)} bytes does not fit an APDU")
        if self.le is not None and not 1 <= self.le <= EXTENDED_LE_MAX:
            raise ValueError(f"Le must be 1–{EXTENDED_LE_MAX}, not {self.le}")
        header = bytes((self.cla, self.ins, self.p1, self.p2))
        if not (extended or self.needs_extended()):
            body = b""
            if self.data:
                body += bytes((len(self.data),)) + self.data
            if self.le is not None:
                body += bytes((self.le % 256,))
            return header + body
        body = b""
        if self.data:
            body += b"\x00" + len(self.data).to_bytes(2, "big") + self.data
        if self.le is not None:
            le = (self.le % EXTENDED_LE_MAX).to_bytes(2, "big")
            body += le if self.data else b"\x00" + le
        return header + body


@dataclass(frozen=True)
class Response:
    data: bytes
    sw: int

    @classmethod
    def parse(cls, raw: bytes) -> Response:
        if len(raw) < 2:
            raise ValueError(f"a response APDU has at least 2 bytes (SW1 SW2), got {len(raw)}")
        return cls(bytes(raw[:-2]), int.from_bytes(raw[-2:], "big"))

    @property
    def ok(self) -> bool:
        return self.sw == SW.OK

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF
