"""BER-TLV as the card stores it: one- or two-byte tags (`90`, `FF 20`, `DF 21`, `7F 21`, `5F 4E`)
and definite short/long-form lengths (`LL`, `81 LL`, `82 LL LL`, `83 LL LL LL`).

The one TLV codec of the project: the card records (CI §7–§8), the card-verifiable certificates
(CI §7.3) and every EF read by size (CI §4, §13) go through it, whether a builder writes them
(register_stub, ca) or a reader checks them (host, conformance, tests).

Every parsed element keeps its exact encoding (`Tlv.encoded`), because the J-LIS signatures of
CI §7–§8 are computed over TLV encodings and a verifier must hash the bytes the card sent, not a
re-encoding.

Filler (CI §4): transparent EFs are fixed-size and padded after the object with `FF` (observed on
real cards) or `00` (myna-card's parsers stop at it too). A tag may itself begin with `FF` (the
records' outer tags `FF 10`…`FF 50`, the card face's `FF 20`), so a sequence ends only where *all*
the bytes left are filler; stopping at the first `FF` would cut a sequence short at an `FF 20`
child. `iter_tlvs` implements exactly that; `parse` reads the one element at the start of an EF
and ignores whatever follows it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from mynacard.codec.errors import CodecError

#: Enough to hold any header this card uses: a 2-byte tag and a 3-byte length (`FF 20 82 LL LL`).
MAX_HEADER = 5

#: The bytes that pad an EF after its object (CI §4).
FILLER = frozenset((0x00, 0xFF))


class TlvError(CodecError):
    """The bytes are not well-formed BER-TLV as this card writes it."""


@dataclass(frozen=True)
class Tlv:
    """One element: its tag, its value, and its whole encoding as found (tag + length + value)."""

    tag: int
    value: bytes
    encoded: bytes
    #: Where the element starts in the buffer it was parsed from.
    offset: int = 0

    @property
    def header_length(self) -> int:
        return len(self.encoded) - len(self.value)

    def children(self) -> list[Tlv]:
        """The value parsed as a sequence of TLVs (for constructed elements)."""
        return list(iter_tlvs(self.value))

    def child_map(self) -> dict[int, Tlv]:
        """Children by tag, in the order found; a tag that repeats is an error, as none repeats
        on this card."""
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
    """(element starting at `offset`, offset after it)."""
    tag, header_len, length = header(buf, offset)
    start = offset + header_len
    end = start + length
    if end > len(buf):
        raise TlvError(f"element {tag:X} claims {length} bytes but only {len(buf) - start} follow")
    return Tlv(tag, bytes(buf[start:end]), bytes(buf[offset:end]), offset), end


def parse(buf: bytes) -> Tlv:
    """The single element at the start of `buf`; trailing filler is ignored."""
    return parse_one(buf)[0]


def parse_tagged(buf: bytes, tag: int) -> Tlv:
    """The single element at the start of `buf`, which must carry `tag` (an EF's outer object)."""
    element = parse(buf)
    if element.tag != tag:
        raise TlvError(f"starts with tag {element.tag:X}, not {tag:X}")
    return element


def is_filler(buf: bytes) -> bool:
    """True if `buf` holds nothing but the `FF`/`00` padding of an EF (CI §4)."""
    return all(b in FILLER for b in buf)


def iter_tlvs(buf: bytes, offset: int = 0) -> Iterator[Tlv]:
    """Consecutive elements from `offset` until the end, or until only filler is left (see the
    module docstring: a tag may start with `FF`, so one filler byte does not end a sequence)."""
    while offset < len(buf):
        if is_filler(buf[offset:]):
            return
        element, offset = parse_one(buf, offset)
        yield element


def encode_tag(tag: int) -> bytes:
    """The tag's bytes as written (0x90 → `90`, 0xDF21 → `DF 21`, 0x7F21 → `7F 21`)."""
    if tag < 0:
        raise TlvError(f"tag {tag} is negative")
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")


def encode_length(length: int) -> bytes:
    """Shortest definite length: `LL`, `81 LL` or `82 LL LL` (CI §7.2 "long form 81/82")."""
    if length < 0x80:
        return bytes([length])
    if length <= 0xFF:
        return bytes([0x81, length])
    if length <= 0xFFFF:
        return bytes([0x82]) + length.to_bytes(2, "big")
    raise TlvError(f"a TLV value of {length} bytes does not fit a card EF")


def encode(tag: int, value: bytes) -> bytes:
    """One TLV element."""
    return encode_tag(tag) + encode_length(len(value)) + value
