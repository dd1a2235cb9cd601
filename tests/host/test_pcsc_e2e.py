"""host through a real PC/SC stack: pyscard → pcscd → vpcd → the emulated demo card.

The emulator's plugin marks these `e2e` (they use `reader_card`/`reader_name`). pcscd is shared
with other test sessions, so nothing here assumes it owns every reader.
"""

from __future__ import annotations

import json
import math
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from mynacard.host import pcsc
from mynacard.host.card import MyNumberCard
from mynacard.host.errors import (
    CardRemoved,
    NoCard,
    NoReader,
    PinFormatError,
    ReaderBusy,
    SecurityStatusNotSatisfied,
)
from mynacard.host.jpki import Key
from mynacard.host.pcsc import CardWatcher, EventKind
from mynacard.host.trace import TracingTransport
from mynacard.host.transport import open_transport
from mynacard.main import main

#: Reader events and presence do not depend on the card's CI §12 behaviours; the tests that verify
#: PINs through pcscd name them with the marker (conftest.py: HOST_BEHAVIOURS).
CARD_BEHAVIOURS = ()
HOST_BEHAVIOURS = ("reselect", "verify-query")

#: A JPKI contact ATR announces T=1 (CI §1, §1.1).
T1 = "T=1"


@pytest.fixture
def pcsc_card(reader_name):
    card = MyNumberCard(TracingTransport(open_transport(f"pcsc:{reader_name}")))
    card.detect()
    yield card
    card.close()


def test_reader_listed_with_its_card(reader_name) -> None:
    info = {r.name: r for r in pcsc.list_readers()}[reader_name]
    assert info.card_present and info.atr and info.atr[0] == 0x3B


def test_transport_basics(reader_name) -> None:
    with pcsc.PcscTransport(reader_name) as transport:
        assert transport.name == reader_name and transport.protocol == T1
        assert transport.atr[0] == 0x3B
        assert transport.extended_length  # vpcd reports nothing and carries extended APDUs


def test_exclusive_transport_keeps_other_programs_away(reader_name) -> None:
    """A conformance run opens the card exclusively: nobody can slip commands in between."""
    with pcsc.PcscTransport(reader_name, exclusive=True) as transport:
        assert transport.transmit(bytes.fromhex("00A4040C0AD392F000260100000001"))[-2:] == b"\x90\x00"
        with pytest.raises(ReaderBusy):
            pcsc.PcscTransport(reader_name)
    with pcsc.PcscTransport(reader_name) as shared:  # released on close
        assert shared.atr[0] == 0x3B


@pytest.mark.card_behaviours(*HOST_BEHAVIOURS)
def test_full_read_through_pcscd(pcsc_card, demo) -> None:
    """Every AP through pcscd: certs, four facts, card face, common record, a signature."""
    jpki, text, visual = pcsc_card.jpki, pcsc_card.text, pcsc_card.visual
    auth = x509.load_der_x509_certificate(jpki.auth_certificate())
    x509.load_der_x509_certificate(jpki.signing_certificate(demo.sign_password))
    signature = jpki.sign(b"through pcscd", key=Key.AUTH, pin=demo.auth_pin)
    auth.public_key().verify(signature, b"through pcscd", padding.PKCS1v15(), hashes.SHA256())
    text.verify_pin(demo.text_pin)
    assert text.my_number() == demo.my_number
    assert text.four_facts().name == demo.name
    visual.verify_code_b(demo.code_b)
    face = visual.card_face()
    assert face.birth_date == demo.birth_date and face.photo_png().startswith(b"\x89PNG")
    assert pcsc_card.common.card_identity().municipality_code == visual.basic_info().municipality_code


def test_short_apdus_through_pcscd(reader_name) -> None:
    """With extended length off, a certificate is read in ⌈n/256⌉ short READs (CI §13 A)."""
    traced = TracingTransport(pcsc.PcscTransport(reader_name, extended_length=False))
    with MyNumberCard(traced) as card:
        der = card.jpki.auth_certificate()
        assert len(traced.sent(0xB0)) == math.ceil(len(der) / 256)


def test_first_reader_with_a_my_number_card(reader_name) -> None:
    """`pcsc:` finds a My Number Card by AID SELECT (another session's card may come first)."""
    with MyNumberCard(open_transport("pcsc:")) as card:
        card.detect()
        assert card.name in {r.name for r in pcsc.list_readers() if r.card_present}


def test_reset_forgets_verified_pins(pcsc_card, demo) -> None:
    """SCardReconnect(SCARD_RESET_CARD): the card's security status is gone (CI §4)."""
    pcsc_card.text.verify_pin(demo.text_pin)
    assert pcsc_card.text.my_number() == demo.my_number
    pcsc_card.reset()
    with pytest.raises(SecurityStatusNotSatisfied):
        pcsc_card.text.my_number()


def test_card_removed_mid_command(pcsc_card, reader_card, demo) -> None:
    pcsc_card.text.verify_pin(demo.text_pin)
    reader_card.remove_during(ins=0xB0)
    with pytest.raises(CardRemoved) as caught:
        pcsc_card.text.my_number()
    assert reader_card.reader in str(caught.value) and "put it back" in str(caught.value)
    reader_card.wait_removed()


def test_no_card_and_unknown_reader(reader_card) -> None:
    reader_card.remove()
    with pytest.raises(NoCard, match="insert the My Number Card"):
        pcsc.PcscTransport(reader_card.reader)
    with pytest.raises(NoReader, match="mynacard card readers"):
        pcsc.PcscTransport("no such reader 00 00")


def test_wrong_format_sends_nothing_through_pcscd(pcsc_card) -> None:
    pcsc_card.transport.entries.clear()
    with pytest.raises(PinFormatError):
        pcsc_card.jpki.verify_signing_password("abc")
    assert pcsc_card.transport.entries == []


# --- events ----------------------------------------------------------------------------------------


def test_present_card_is_reported_first(reader_card) -> None:
    with CardWatcher([reader_card.reader]) as watcher:
        event = watcher.next_event(timeout=2)
        assert event is not None and event.kind is EventKind.INSERTED and event.atr


def test_remove_and_insert_events(reader_card) -> None:
    with CardWatcher([reader_card.reader], include_present=False) as watcher:
        assert watcher.next_event(timeout=0.2) is None
        reader_card.remove()
        event = watcher.next_event(timeout=5)
        assert event is not None and event.kind is EventKind.REMOVED
        reader_card.insert()
        event = watcher.next_event(timeout=5)
        assert event is not None and event.kind is EventKind.INSERTED and event.atr


def test_fast_reinsertion_is_not_lost(reader_card) -> None:
    """Card out and back in while nobody waits: the state bit says 'present' both times, only
    pcsc-lite's event counter shows the two transitions — and the watcher reports both."""
    with CardWatcher([reader_card.reader], include_present=False) as watcher:
        assert watcher.next_event(timeout=0.2) is None
        reader_card.remove()
        reader_card.insert()
        kinds = [watcher.next_event(timeout=5), watcher.next_event(timeout=5)]
        assert [e.kind for e in kinds if e] == [EventKind.REMOVED, EventKind.INSERTED]
        assert kinds[1].atr  # the card now present
        assert watcher.next_event(timeout=0.5) is None


def test_close_from_another_thread_ends_the_wait(reader_card) -> None:
    watcher = CardWatcher([reader_card.reader], include_present=False)
    threading.Timer(0.2, watcher.close).start()
    started = time.monotonic()
    assert list(watcher) == []
    assert time.monotonic() - started < 3


def test_wait_for_card(reader_card) -> None:
    assert pcsc.wait_for_card(reader_card.reader, timeout=1) == reader_card.reader
    reader_card.remove()
    with pytest.raises(NoCard, match="within 0.3 s"):
        pcsc.wait_for_card(reader_card.reader, timeout=0.3)
    threading.Timer(0.2, reader_card.insert).start()
    assert pcsc.wait_for_card(reader_card.reader, timeout=10) == reader_card.reader


# --- the CLI through pcscd -------------------------------------------------------------------------


@pytest.mark.card_behaviours(*HOST_BEHAVIOURS)
def test_cli_through_pcscd(capsys, reader_name, monkeypatch, demo, tmp_path) -> None:
    monkeypatch.setenv("MYNACARD_TEXT_PIN", demo.text_pin)
    monkeypatch.setenv("MYNACARD_CODE_B", demo.code_b)
    assert main(["card", "readers"]) == 0
    assert f"{reader_name}" in capsys.readouterr().out
    assert main(["card", "status", "--reader", reader_name, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["secrets"][0]["tries_left"] == 3
    assert main(["card", "read", "--reader", reader_name]) == 0
    assert json.loads(capsys.readouterr().out)["my_number"] == demo.my_number
    assert main(["card", "certs", "--reader", reader_name]) == 0
    assert len(x509.load_pem_x509_certificates(capsys.readouterr().out.encode())) == 3
    assert main(["card", "face", "--reader", reader_name, "--out", str(tmp_path / "f")]) == 0
    assert (tmp_path / "f" / "photo.png").stat().st_size > 0
    monkeypatch.setenv("MYNACARD_JUKI_PIN", demo.juki_pin)
    monkeypatch.setenv("MYNACARD_NEW_PIN", "7777")
    assert main(["card", "pin", "change", "juki", "--reader", reader_name]) == 0
    capsys.readouterr()


def test_cli_no_card_sentence(capsys, reader_card) -> None:
    reader_card.remove()
    assert main(["card", "status", "--reader", reader_card.reader]) == 1
    err = capsys.readouterr().err
    assert "no card in reader" in err and "Traceback" not in err



def test_watching_all_readers(reader_card) -> None:
    """readers=None follows every reader (and the PnP pseudo-reader); other sessions' cards may
    come and go meanwhile, so look for ours."""
    with CardWatcher(include_present=False) as watcher:
        reader_card.remove()
        deadline = time.monotonic() + 5
        seen = []
        while time.monotonic() < deadline:
            event = watcher.next_event(timeout=0.5)
            if event is not None and event.reader == reader_card.reader:
                seen.append(event.kind)
                break
        assert seen == [EventKind.REMOVED]


def test_cli_waits_for_the_card(capsys, reader_card) -> None:
    reader_card.remove()
    threading.Timer(0.3, reader_card.insert).start()
    assert main(["card", "status", "--reader", reader_card.reader, "--wait", "10"]) == 0
    assert "3 of 3 tries left" in capsys.readouterr().out
