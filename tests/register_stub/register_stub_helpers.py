"""Helpers for the register_stub tests: TLV templates read with the codec (whose own tests check it
against hand-written bytes, so an encoder bug cannot hide behind a matching decoder bug)."""

from __future__ import annotations

from mynacard.codec import tlv

SERIAL = "900000000000777"


def read_template(data: bytes) -> tuple[tlv.Tlv, list[tlv.Tlv]]:
    """The outer object and its children, with children's offsets counted from the file start."""
    outer = tlv.parse(data)
    return outer, list(tlv.iter_tlvs(data[: len(outer.encoded)], outer.header_length))
