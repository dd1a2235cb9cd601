"""BER-TLV as the card stores it: multi-byte tags (`FF 20`, `DF 21`, `7F 21`, `5F 4E`) and
short/long-form lengths. EFs are fixed-size and padded with filler after the object (CI §4), so
the outer header is what tells a reader how many bytes to fetch.

Every parsed element keeps its exact encoding (`Tlv.encoded`), because the J-LIS signatures of
CI §7–§8 are computed over TLV encodings and a verifier must hash the bytes the card sent, not a
re-encoding.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

#: Enough to hold any header this card uses: a 2-byte tag and a 3-byte length (`FF 20 82 LL LL`).
MAX_HEADER = 5


class TlvError(ValueError):
    """The bytes are not the TLV the card should have returned."""


@dataclass(frozen=True)
class Tlv:
    tag: int
    value: bytes
    #: The whole element as found: tag, length and value.
    encoded: bytes

    def children(self) -> list[Tlv]:
        """The value parsed as a sequence of TLVs (for constructed elements)."""
        return list(iter_tlvs(self.value))

    def child_map(self) -> dict[int, Tlv]:
        """Children by tag; a tag that repeats is an error here, as none repeats on this card."""
        out: dict[int, Tlv] = {}
        for child in iter_tlvs(self.value):
            if child.tag in out:
                raise TlvError(f"tag {child.tag:X} appears twice inside {self.tag:X}")
            out[child.tag] = child
        return out


def read_tag(buf: bytes, offset: int) -> tuple[int, int]:
    """(tag, offset after the tag)."""
    if offset >= len(buf):
        raise TlvError("data ends where a tag should start")
    first = buf[offset]
    tag = first
    offset += 1
    if first & 0x1F == 0x1F:
        while True:
            if offset >= len(buf):
                raise TlvError("data ends inside a multi-byte tag")
            b = buf[offset]
            tag = (tag << 8) | b
            offset += 1
            if not b & 0x80:
                break
    return tag, offset


def read_length(buf: bytes, offset: int) -> tuple[int, int]:
    """(length, offset after the length field)."""
    if offset >= len(buf):
        raise TlvError("data ends where a length should start")
    first = buf[offset]
    offset += 1
    if first < 0x80:
        return first, offset
    count = first & 0x7F
    if count == 0 or count > 3:
        raise TlvError(f"length form {first:02X} is not used on this card")
    if offset + count > len(buf):
        raise TlvError("data ends inside a length field")
    return int.from_bytes(buf[offset : offset + count], "big"), offset + count


def header(buf: bytes, offset: int = 0) -> tuple[int, int, int]:
    """(tag, header length, value length) of the element starting at `offset`."""
    tag, after_tag = read_tag(buf, offset)
    length, after_length = read_length(buf, after_tag)
    return tag, after_length - offset, length


def total_size(buf: bytes) -> int:
    """Size of the whole element whose header starts `buf` — how much of an EF to read."""
    _tag, header_len, length = header(buf)
    return header_len + length


def parse_one(buf: bytes, offset: int = 0) -> tuple[Tlv, int]:
    """(element, offset after it)."""
    tag, header_len, length = header(buf, offset)
    start = offset + header_len
    end = start + length
    if end > len(buf):
        raise TlvError(f"element {tag:X} claims {length} bytes but only {len(buf) - start} follow")
    return Tlv(tag, bytes(buf[start:end]), bytes(buf[offset:end])), end


def parse(buf: bytes) -> Tlv:
    """The single element at the start of `buf`; trailing filler is ignored."""
    return parse_one(buf)[0]


def iter_tlvs(buf: bytes) -> Iterator[Tlv]:
    """Consecutive elements until the end, or until only filler (`FF` or `00`) is left."""
    offset = 0
    while offset < len(buf):
        if all(b in (0xFF, 0x00) for b in buf[offset:]):
            # Filler. A tag can start with FF (`FF 20`), so stop only when nothing else is left.
            return
        element, offset = parse_one(buf, offset)
        yield element
