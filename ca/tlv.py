"""BER-TLV as the card uses it: one- or two-byte tags, definite lengths (short, 81, 82).

The card's records (card-interface.md §7–§8) and card-verifiable certificates (§7.3) are all
written this way; a tiny codec keeps every builder byte-exact without a general ASN.1 library.
"""

from __future__ import annotations

from dataclasses import dataclass

from mynacard.ca.errors import AuthorityError


def encode_length(length: int) -> bytes:
    """Shortest definite length: `LL`, `81 LL` or `82 LL LL` (CI §7.2 "long form 81/82")."""
    if length < 0x80:
        return bytes([length])
    if length <= 0xFF:
        return bytes([0x81, length])
    if length <= 0xFFFF:
        return bytes([0x82]) + length.to_bytes(2, "big")
    raise AuthorityError(f"a TLV value of {length} bytes does not fit a card EF")


def encode_tag(tag: int) -> bytes:
    """The tag's bytes as written (0x90 -> `90`, 0xDF21 -> `DF 21`, 0x7F21 -> `7F 21`)."""
    return tag.to_bytes(2 if tag > 0xFF else 1, "big")


def encode(tag: int, value: bytes) -> bytes:
    """One TLV object."""
    return encode_tag(tag) + encode_length(len(value)) + value


@dataclass(frozen=True)
class Tlv:
    """A parsed object: its tag, value, the raw bytes (header included) and where it started."""

    tag: int
    value: bytes
    raw: bytes
    offset: int


def parse_one(data: bytes, offset: int = 0) -> Tlv:
    """Parse the object starting at `offset`."""
    pos = offset
    try:
        first = data[pos]
        pos += 1
        tag = first
        if first & 0x1F == 0x1F:
            while True:
                byte = data[pos]
                pos += 1
                tag = (tag << 8) | byte
                if not byte & 0x80:
                    break
        length = data[pos]
        pos += 1
        if length == 0x81:
            length = data[pos]
            pos += 1
        elif length == 0x82:
            if pos + 2 > len(data):
                raise IndexError
            length = int.from_bytes(data[pos : pos + 2], "big")
            pos += 2
        elif length >= 0x80:
            raise AuthorityError(f"unsupported TLV length byte {length:02X} at offset {offset}")
    except IndexError:
        raise AuthorityError(f"TLV header at offset {offset} runs past the end of the data") from None
    end = pos + length
    if end > len(data):
        raise AuthorityError(f"TLV with tag {tag:X} at offset {offset} runs past the end of the data")
    return Tlv(tag=tag, value=data[pos:end], raw=data[offset:end], offset=offset)


def parse_all(data: bytes, offset: int = 0) -> list[Tlv]:
    """Consecutive objects from `offset` until the end or `FF`/`00` filler (CI §4).

    Meant for the contents of a template (`DF2x…`, `90`/`91`, `5F4E`/`5F37`): the outer record
    tags `FF 10`…`FF 50` themselves begin with the filler byte, so parse those with `parse_one`.
    """
    items: list[Tlv] = []
    while offset < len(data) and data[offset] not in (0x00, 0xFF):
        item = parse_one(data, offset)
        items.append(item)
        offset += len(item.raw)
    return items
