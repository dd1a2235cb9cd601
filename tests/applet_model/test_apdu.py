"""APDU codec: the seven encodings of ISO/IEC 7816-3 and clean rejection of anything else (CI §1, §2)."""

import pytest

from mynacard.applet_model.apdu import CommandAPDU, MalformedAPDU


@pytest.mark.parametrize(
    "hex_apdu, case, data, ne, extended",
    [
        ("00200080", 1, b"", None, False),
        ("00B0000004", 2, b"", 4, False),
        ("00B0000000", 2, b"", 256, False),
        ("00A4020C020018", 3, b"\x00\x18", None, False),
        ("802A00800201AA00", 4, b"\x01\xaa", 256, False),
        ("00B00000000000", 2, b"", 65536, True),
        ("00B00000000722", 2, b"", 0x722, True),
    ],
)
def test_cases_decode(hex_apdu, case, data, ne, extended):
    cmd = CommandAPDU.parse(bytes.fromhex(hex_apdu))
    assert (cmd.case, cmd.data, cmd.ne, cmd.extended) == (case, data, ne, extended)


def test_extended_case_3_and_4_with_lc_above_255():
    body = bytes(300)
    c3 = CommandAPDU.parse(bytes.fromhex("80AE0000") + b"\x00" + (300).to_bytes(2, "big") + body)
    assert (c3.case, len(c3.data), c3.ne, c3.extended) == (3, 300, None, True)
    c4 = CommandAPDU.parse(bytes.fromhex("80AE0000") + b"\x00" + (300).to_bytes(2, "big") + body + b"\x00\x00")
    assert (c4.case, c4.ne) == (4, 65536)


@pytest.mark.parametrize(
    "hex_apdu",
    ["", "00", "00A404", "00A4020C0300", "00A4020C02001800FF", "00B000000000", "00B000000000000000",
     "802A0000000003AABB"],
)
def test_malformed_apdus_are_refused(hex_apdu):
    with pytest.raises(MalformedAPDU):
        CommandAPDU.parse(bytes.fromhex(hex_apdu))


@pytest.mark.parametrize("hex_apdu", ["00200080", "00B0000004", "00A4020C020018", "802A00800201AA00",
                                      "00B00000000000", "00B00000000722"])
def test_encode_round_trips(hex_apdu):
    raw = bytes.fromhex(hex_apdu)
    assert CommandAPDU.parse(raw).encode() == raw
