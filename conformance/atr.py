"""Reading an ATR as ISO/IEC 7816-3 and PC/SC part 3 define it (CI §1, §1.1).

The suite needs three facts from it: whether the reader reached the card through its contacts or
over Type B (a synthesised ATR), which protocols a contact ATR announces (T=1 on this card), and
whether the check byte is right.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce


class AtrError(ValueError):
    """The bytes are not an ATR."""


@dataclass(frozen=True)
class Atr:
    raw: bytes
    protocols: tuple[int, ...]
    historical: bytes
    tck: int | None

    @property
    def tck_ok(self) -> bool:
        """TCK present and XOR of T0..TCK is 0, or absent when only T=0 is announced (ISO 7816-3 §8.2.5)."""
        if self.tck is None:
            return self.protocols in ((), (0,))
        return reduce(lambda a, b: a ^ b, self.raw[1:], 0) == 0

    @property
    def contactless(self) -> bool:
        """PC/SC part 3 synthesised Type A/B ATR: `3B 8n 80 01` + historical bytes + TCK."""
        return len(self.raw) >= 5 and self.raw[0] == 0x3B and self.raw[1] & 0xF0 == 0x80 \
            and self.raw[2] == 0x80 and self.raw[3] == 0x01


def parse_atr(raw: bytes) -> Atr:
    if len(raw) < 2 or raw[0] not in (0x3B, 0x3F):
        raise AtrError("an ATR starts with TS = 3B or 3F")
    t0 = raw[1]
    hist_len = t0 & 0x0F
    y = t0 >> 4
    i = 2
    protocols: list[int] = []
    while True:
        for bit in (0x1, 0x2, 0x4):  # TA, TB, TC
            if y & bit:
                i += 1
        if not y & 0x8:
            break
        if i >= len(raw):
            raise AtrError("the ATR ends inside its interface bytes")
        td = raw[i]
        i += 1
        protocols.append(td & 0x0F)
        y = td >> 4
    if i + hist_len > len(raw):
        raise AtrError("the ATR is shorter than its historical bytes")
    historical = raw[i : i + hist_len]
    i += hist_len
    tck = raw[i] if i < len(raw) else None
    if i + (1 if tck is not None else 0) != len(raw):
        raise AtrError("the ATR has bytes after its check byte")
    return Atr(raw, tuple(dict.fromkeys(protocols)), historical, tck)
