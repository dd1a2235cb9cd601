"""The in-process Transport (docs/architecture.md, "host"): name, transmit, atr, extended_length,
reset, close — over a card image directory, without importing mynacard.host."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from mynacard.emulator.errors import CardRemoved
from mynacard.emulator.inprocess import InProcessTransport

JPKI = bytes.fromhex("00A4040C0AD392F000260100000001")
AUTH_PIN_EF = bytes.fromhex("00A4020C020018")
QUERY = bytes.fromhex("00200080")
WRONG_PIN = bytes.fromhex("002000800439393939")


def test_transport_protocol_members(inprocess_transport, card_dir):
    t = inprocess_transport
    assert t.name == f"emulator:{card_dir}"
    assert t.atr[0] == 0x3B and t.atr == t.card.atr
    assert t.extended_length is True
    assert t.transmit(JPKI) == b"\x90\x00"  # CI §13 A


def test_extended_le_reads_a_whole_certificate(inprocess_transport):
    """CI §1: extended Le returns a whole EF in one response."""
    inprocess_transport.transmit(JPKI)
    inprocess_transport.transmit(bytes.fromhex("00A4020C02000A"))
    head = inprocess_transport.transmit(bytes.fromhex("00B0000004"))
    size = int.from_bytes(head[2:4], "big") + 4
    whole = inprocess_transport.transmit(bytes.fromhex("00B00000000000"))
    assert whole[-2:] == b"\x90\x00" and len(whole) - 2 >= size and whole[:4] == head[:4]


def test_reset_clears_the_security_status(inprocess_transport):
    t = inprocess_transport
    t.transmit(JPKI)
    t.transmit(bytes.fromhex("00A4020C02001B"))
    assert t.transmit(bytes.fromhex("0020008006") + b"ABC123") == b"\x90\x00"
    t.transmit(bytes.fromhex("00A4020C020001"))
    assert t.transmit(bytes.fromhex("00B0000004"))[-2:] == b"\x90\x00"  # sign cert readable now
    t.reset()
    t.transmit(JPKI)
    t.transmit(bytes.fromhex("00A4020C020001"))
    assert t.transmit(bytes.fromhex("00B0000004")) == b"\x69\x82"  # CI §6.1: password needed again


def test_counters_persist_in_the_card_directory(card_dir):
    first = InProcessTransport.from_directory(card_dir)
    for apdu in (JPKI, AUTH_PIN_EF):
        first.transmit(apdu)
    assert first.transmit(WRONG_PIN) == b"\x63\xc2"
    first.close()
    second = InProcessTransport.from_directory(card_dir)
    for apdu in (JPKI, AUTH_PIN_EF):
        second.transmit(apdu)
    assert second.transmit(QUERY) == b"\x63\xc2"


def test_torn_write_raises_card_removed_and_never_gives_a_try_back(inprocess_transport):
    """Issue 3: a torn write during a wrong VERIFY; the counter after reload is ≤ before."""
    t = inprocess_transport
    t.transmit(JPKI)
    t.transmit(AUTH_PIN_EF)
    before = t.transmit(QUERY)[-1] & 0x0F
    t.store.inject_torn_write()
    with pytest.raises(CardRemoved, match="lost power"):
        t.transmit(WRONG_PIN)
    with pytest.raises(CardRemoved, match="reinsert"):
        t.transmit(QUERY)
    t.reinsert()
    t.transmit(JPKI)
    t.transmit(AUTH_PIN_EF)
    after = t.transmit(QUERY)
    assert after[0] == 0x63 and after[1] & 0x0F <= before


def test_closed_transport_refuses(inprocess_transport):
    inprocess_transport.close()
    with pytest.raises(CardRemoved, match="closed"):
        inprocess_transport.transmit(JPKI)


def test_entry_point_opens_a_card_directory(card_dir):
    """pyproject: mynacard.transports `emulator` = mynacard.emulator.inprocess:open_transport."""
    (ep,) = [ep for ep in entry_points(group="mynacard.transports") if ep.name == "emulator"]
    transport = ep.load()(str(card_dir))
    assert transport.transmit(JPKI) == b"\x90\x00"
    transport.close()


def test_the_emulator_does_not_import_host(card_dir):
    """DESIGN.md dependency rule: host sits above the emulator, never below it."""
    code = (
        "import sys\n"
        "from mynacard.emulator.inprocess import open_transport\n"
        "import mynacard.emulator.commands, mynacard.emulator.pytest_plugin, mynacard.emulator.control\n"
        f"t = open_transport({str(card_dir)!r}); t.transmit(bytes.fromhex('00A4040C0AD392F000260100000001'))\n"
        "print(sorted(m for m in sys.modules if m.startswith('mynacard.host')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
