"""BER-TLV reading for the register_stub tests, written independently of mynacard.ca.tlv so
that an encoder bug cannot hide behind a matching decoder bug."""

from __future__ import annotations

from dataclasses import dataclass

SERIAL = "900000000000777"


@dataclass(frozen=True)
class Obj:
    tag: int
    value: bytes
    raw: bytes
    offset: int  # from the start of the buffer it was read from


def read_tlv(data: bytes, offset: int = 0) -> Obj:
    """One BER object (tags up to two bytes, lengths short/81/82), read without mynacard.ca.tlv."""
    start = offset
    tag = data[offset]
    offset += 1
    if tag & 0x1F == 0x1F:
        tag = tag << 8 | data[offset]
        offset += 1
    length = data[offset]
    offset += 1
    if length == 0x81:
        length = data[offset]
        offset += 1
    elif length == 0x82:
        length = data[offset] << 8 | data[offset + 1]
        offset += 2
    assert offset + length <= len(data), "object runs past the end"
    return Obj(tag, data[offset : offset + length], data[start : offset + length], start)


def read_template(data: bytes) -> tuple[Obj, list[Obj]]:
    """The outer object and its children, with children's offsets counted from the file start."""
    outer = read_tlv(data)
    header = len(outer.raw) - len(outer.value)
    children, pos = [], header
    while pos < header + len(outer.value):
        child = read_tlv(data, pos)
        children.append(child)
        pos += len(child.raw)
    return outer, children
