"""mynacard.codec.tlv against hand-written bytes of card-interface.md (CI §4, §7–§8, §13)."""

from __future__ import annotations

import pytest

from mynacard.codec import tlv


def test_sizes_from_headers() -> None:
    """CI §4, §13: objects are sized from their header (`30 82 LL LL`, `FF 20 LL`, `FF 30 82`)."""
    assert tlv.total_size(bytes.fromhex("30820630")) == 0x630 + 4
    assert tlv.total_size(bytes.fromhex("FF2065DF21")) == 0x65 + 3
    assert tlv.total_size(bytes.fromhex("FF3082014B")) == 336
    assert tlv.total_size(bytes.fromhex("DF43818001")) == 0x80 + 4


def test_multibyte_tags_keep_their_exact_encoding() -> None:
    """CI §7.2: the signatures cover TLV encodings, so every element keeps its bytes."""
    data = bytes.fromhex("FF2008DF220141DF230132") + b"\xff" * 10
    outer = tlv.parse(data)
    assert outer.tag == 0xFF20 and outer.header_length == 3
    children = outer.children()
    assert [c.tag for c in children] == [0xDF22, 0xDF23]
    assert children[0].encoded == bytes.fromhex("DF220141")
    assert [c.offset for c in children] == [0, 4]


@pytest.mark.parametrize("filler", [b"\xff", b"\x00"], ids=["FF filler", "00 filler"])
def test_a_sequence_ends_where_only_filler_is_left(filler: bytes) -> None:
    """CI §4: EFs are padded after the object with `FF` (observed) or `00` (MC's parsers)."""
    data = bytes.fromhex("9003010001" "9101AA") + filler * 7
    assert [(e.tag, e.value) for e in tlv.iter_tlvs(data)] == [(0x90, b"\x01\x00\x01"), (0x91, b"\xaa")]
    assert tlv.parse(data).encoded == bytes.fromhex("9003010001")


def test_a_tag_starting_with_ff_is_not_filler() -> None:
    """CI §7.2, §8.1: `FF 20` and `FF 10` tags begin with the filler byte; one FF must not end a
    sequence (the authority's old parser stopped there and lost the element)."""
    data = bytes.fromhex("DF2101AA" "FF1003414243" "0000")
    assert [e.tag for e in tlv.iter_tlvs(data)] == [0xDF21, 0xFF10]


def test_children_offsets_from_a_start_inside_the_buffer() -> None:
    """CI §7.2: DF21 offsets count from the start of the EF."""
    data = bytes.fromhex("FF2008DF220141DF230132FFFF")
    outer = tlv.parse(data)
    inside = list(tlv.iter_tlvs(data[: len(outer.encoded)], outer.header_length))
    assert [(e.tag, e.offset) for e in inside] == [(0xDF22, 3), (0xDF23, 7)]


def test_encode_uses_the_shortest_length() -> None:
    """CI §7.2 long form 81/82; two-byte tags as written."""
    assert tlv.encode(0x90, b"\x01\x00\x01") == bytes.fromhex("9003010001")
    assert tlv.encode(0xDF43, bytes(0x80))[:4] == bytes.fromhex("DF438180")
    assert tlv.encode(0x7F21, bytes(0x233))[:5] == bytes.fromhex("7F21820233")
    with pytest.raises(tlv.TlvError):
        tlv.encode_length(0x10000)


def test_round_trip() -> None:
    value = tlv.encode(0xDF22, "見本".encode()) + tlv.encode(0x5F37, bytes(300))
    outer = tlv.parse(tlv.encode(0xFF20, value) + b"\xff\xff")
    assert [c.encoded for c in outer.children()] == [value[:9], value[9:]]


@pytest.mark.parametrize("data, message", [
    ("DF2205414243", "claims 5 bytes"),
    ("DF", "inside a multi-byte tag"),
    ("90", "where a length should start"),
    ("9084000000010000", "length form 84"),
    ("908201", "inside a length field"),
])
def test_malformed_input_says_what_is_wrong(data: str, message: str) -> None:
    with pytest.raises(tlv.TlvError, match=message):
        tlv.parse(bytes.fromhex(data))


def test_the_outer_tag_is_checked() -> None:
    assert tlv.parse_tagged(bytes.fromhex("FF3000FFFF"), 0xFF30).value == b""
    with pytest.raises(tlv.TlvError, match="starts with tag FF20, not FF30"):
        tlv.parse_tagged(bytes.fromhex("FF2000"), 0xFF30)


def test_a_repeated_tag_is_refused() -> None:
    with pytest.raises(tlv.TlvError, match="appears twice"):
        tlv.parse(bytes.fromhex("FF20069001019001 02")).child_map()
