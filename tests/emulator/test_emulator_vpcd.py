"""The vpcd wire protocol and the slot's serving loop, against a fake vpcd over a socket pair.

Facts from virtual-reader.md §3 (framing, control bytes, one frame per APDU, no empty frame) and
§4.1/§7 (TCP_NODELAY, TCP_QUICKACK before every recv, one sendall of length + payload).
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from mynacard.emulator.cards import FactorySource
from mynacard.emulator.errors import EmulatorError, SlotBusy
from mynacard.emulator.faults import Fault
from mynacard.emulator.trace import ApduTracer
from mynacard.emulator.vpcd import VpcdSocket, encode_frame

from emulator_harness import Harness, RecordingCard


def test_frame_is_big_endian_length_then_payload():
    """§3: uint16 big-endian length N, then N bytes."""
    assert encode_frame(b"\x90\x00") == b"\x00\x02\x90\x00"
    assert encode_frame(bytes(300))[:2] == b"\x01\x2c"


def test_empty_and_oversized_frames_are_refused():
    """§8.9: an empty frame makes vpcd eject the card; N is a uint16."""
    with pytest.raises(ValueError, match="empty"):
        encode_frame(b"")
    with pytest.raises(ValueError):
        encode_frame(bytes(0x10000))


def test_frames_split_across_many_segments_are_reassembled():
    ours, theirs = socket.socketpair()
    conn = VpcdSocket(ours)
    payload = bytes(range(200))
    wire = encode_frame(payload)

    def dribble() -> None:
        for i in range(len(wire)):
            theirs.sendall(wire[i : i + 1])

    threading.Thread(target=dribble).start()
    assert conn.recv_frame() == payload
    theirs.close()
    assert conn.recv_frame() is None  # EOF
    conn.close()


class _SpySocket:
    """Wraps a TCP socket to record setsockopt/recv/send calls in order."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.family = sock.family
        self.log: list[str] = []

    def setsockopt(self, level: int, name: int, value: int) -> None:
        self.log.append(f"opt {name}")
        self._sock.setsockopt(level, name, value)

    def recv(self, n: int) -> bytes:
        self.log.append("recv")
        return self._sock.recv(n)

    def sendall(self, data: bytes) -> None:
        self.log.append(f"sendall {len(data)}")
        self._sock.sendall(data)


def test_tcp_quickack_is_rearmed_before_every_recv_and_frames_go_in_one_sendall():
    """§7/§8.7: QUICKACK is cleared by Linux after each ACK, so it is set before each recv."""
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    peer, _ = server.accept()
    spy = _SpySocket(client)
    conn = VpcdSocket(spy)  # type: ignore[arg-type]
    assert spy.log == [f"opt {socket.TCP_NODELAY}"]
    peer.sendall(b"\x00\x05")  # vpcd 0.8 sends length and payload in two send()s
    time.sleep(0.01)
    peer.sendall(b"\x00\xa4\x04\x0c\x00")
    assert conn.recv_frame() == bytes.fromhex("00A4040C00")
    recvs = [i for i, entry in enumerate(spy.log) if entry == "recv"]
    assert recvs and all(spy.log[i - 1] == f"opt {socket.TCP_QUICKACK}" for i in recvs)
    conn.send_frame(b"\x90\x00")
    assert spy.log[-1] == "sendall 4"
    assert peer.recv(4) == b"\x00\x02\x90\x00"
    for s in (peer, client, server):
        s.close()


def test_control_bytes_power_the_card_and_only_the_atr_request_is_answered(harness, recording_card):
    """§3: 00 power off, 01 power on, 02 reset, 04 ATR; only 04 gets a reply."""
    vpcd = harness.insert()
    for byte in (b"\x01", b"\x02", b"\x00", b"\x07"):  # 07: unknown, ignored
        vpcd.send(byte)
    assert vpcd.atr() == RecordingCard.ATR  # the next frame is the ATR: nothing answered the others
    assert recording_card.calls == ["powerUp", "reset", "powerDown"]


def test_one_frame_per_apdu_with_the_full_response(harness, recording_card):
    vpcd = harness.insert()
    recording_card.answer = bytes.fromhex("3082 9000")
    assert vpcd.apdu("00B0000002") == bytes.fromhex("30829000")
    assert recording_card.calls[-1] == "00B0000002"


def test_card_exception_is_answered_6f00_and_the_card_stays_in(harness, recording_card):
    """§8.8: the card must always answer; an exception never kills the loop."""
    vpcd = harness.insert()
    recording_card.answer = RuntimeError("bug in the card")
    assert vpcd.apdu("00A4040C00") == bytes.fromhex("6F00")
    recording_card.answer = b"\x90\x00"
    assert vpcd.apdu("00A4040C00") == bytes.fromhex("9000")


@pytest.mark.parametrize("bad", [b"", b"\x90", bytes(0x10000) + b"\x90\x00"])
def test_responses_vpcd_cannot_carry_become_6f00_never_an_empty_frame(harness, recording_card, bad):
    vpcd = harness.insert()
    recording_card.answer = bad
    assert vpcd.apdu("00B0000000") == bytes.fromhex("6F00")


def test_remove_closes_the_connection_after_the_answer_in_progress(harness, recording_card):
    vpcd = harness.insert()
    assert harness.slot.inserted
    assert harness.slot.remove() is True
    assert vpcd.at_eof()
    assert not harness.slot.inserted
    assert harness.slot.remove() is False


def test_reconnects_when_pcscd_goes_away_and_comes_back(harness, recording_card):
    """Issue 3: reconnect when pcscd restarts (vpcd closes every card connection on exit)."""
    first = harness.insert()
    harness.refuse = True  # pcscd is down for a moment
    first.close()
    time.sleep(0.3)
    assert harness.slot.inserted and harness.slot.state == "waiting for pcscd"
    assert "powerDown" in recording_card.calls  # the reader lost power with pcscd
    harness.refuse = False
    second = harness.wait_connects(2)
    assert second.atr() == RecordingCard.ATR
    assert second.apdu("00A4040C00") == bytes.fromhex("9000")
    assert harness.slot.state == "inserted"


def test_insert_fails_clearly_when_nothing_listens(recording_card):
    h = Harness(FactorySource(lambda: recording_card))
    h.refuse = True
    with pytest.raises(EmulatorError, match="nothing listens on the vpcd port.*mynacard pcscd start"):
        h.slot.insert(timeout=0.3)
    assert not h.slot.inserted


def test_insert_reports_a_slot_held_by_another_card(recording_card):
    """§8.4: a second card on a busy slot is accepted into the backlog but never polled."""
    h = Harness(FactorySource(lambda: recording_card))
    with pytest.raises(SlotBusy, match="did not talk to the card.*another program"):
        h.slot.insert(timeout=0.3)
    assert h.vpcd().at_eof()  # we gave up the connection


def test_inserting_twice_is_refused(harness):
    harness.insert()
    with pytest.raises(SlotBusy, match="already a card"):
        harness.slot.insert(wait=False)


def test_remove_fault_pulls_the_card_after_executing_without_answering(harness, recording_card):
    vpcd = harness.insert()
    harness.slot.arm_fault(Fault("remove", ins=0x20))
    assert vpcd.apdu("00A4020C020018") == bytes.fromhex("9000")  # other INS: untouched
    vpcd.send(bytes.fromhex("002000800431313131"))
    assert vpcd.at_eof()
    assert recording_card.calls[-1] == "002000800431313131"  # executed, state written, no answer
    assert not harness.slot.inserted


def test_remove_fault_before_execution_leaves_the_card_untouched(harness, recording_card):
    vpcd = harness.insert()
    harness.slot.arm_fault(Fault("remove", execute=False))
    vpcd.send(bytes.fromhex("002000800431313131"))
    assert vpcd.at_eof()
    assert "002000800431313131" not in recording_card.calls


def test_delay_fault_delays_the_answer_of_matching_commands_only(harness, recording_card, tmp_path):
    vpcd = harness.insert()
    harness.slot.arm_fault(Fault("delay", ins=0x2A, delay_ms=150, count=1))
    assert harness.slot.faults.pending()[0].kind == "delay"
    assert vpcd.apdu("00A4020C020017") == bytes.fromhex("9000")
    assert harness.slot.faults.pending()  # not used up by another INS
    assert vpcd.apdu("802A00800100") == bytes.fromhex("9000")
    assert harness.slot.faults.pending() == []
    assert harness.slot.last_event == "fault: delaying INS 2A by 150 ms"


def test_removal_during_a_delay_pulls_the_card_before_it_executes(harness, recording_card):
    vpcd = harness.insert()
    harness.slot.arm_fault(Fault("delay", delay_ms=5000))
    vpcd.send(bytes.fromhex("002000800431313131"))
    time.sleep(0.1)
    harness.slot.remove()
    assert vpcd.at_eof(timeout=2)
    assert "002000800431313131" not in recording_card.calls


def test_torn_write_is_a_card_vanishing_and_the_next_insertion_reloads(loaded_card_source, tmp_path):
    """Issue 3: PowerLost = the card vanishes mid-command; it is reloaded from its store."""
    h = Harness(loaded_card_source)
    vpcd = h.insert()
    h.slot.inject_torn_write()
    vpcd.send(bytes.fromhex("002000800431313131"))
    assert vpcd.at_eof()
    assert not h.slot.inserted
    assert "torn write" in h.slot.last_event
    h.slot.insert(wait=False)
    fresh = h.wait_connects(2)
    assert fresh.atr() == RecordingCard.ATR
    assert fresh.apdu("00200080") == bytes.fromhex("63C2")
    assert len(loaded_card_source.loaded) == 2 and loaded_card_source.loaded[1].calls == ["00200080"]
    h.slot.remove()


def test_torn_write_needs_a_card_with_a_store(harness):
    harness.insert()
    with pytest.raises(EmulatorError, match="no store"):
        harness.slot.inject_torn_write()


def test_control_reset_resets_the_card(harness, recording_card):
    harness.insert()
    harness.slot.reset()
    assert recording_card.calls[-1] == "reset"


def test_status_reports_state_faults_and_commands(harness, recording_card):
    vpcd = harness.insert()
    vpcd.apdu("00A4040C00")
    harness.slot.arm_fault(Fault("delay", ins=0x20, delay_ms=10))
    status = harness.slot.status()
    assert status["state"] == "inserted" and status["commands"] == 1
    assert status["faults"] == [{"kind": "delay", "ins": "20", "count": 1, "delay_ms": 10.0, "execute": True}]


def test_trace_has_one_line_per_exchange_with_timing(recording_card, tmp_path):
    path = tmp_path / "trace.log"
    tracer = ApduTracer.open(path)
    h = Harness(FactorySource(lambda: recording_card), tracer=tracer)
    vpcd = h.insert()
    vpcd.send(b"\x00")  # power events are not traced
    vpcd.apdu("00A4040C0AD392F000260100000001")
    h.slot.remove()
    tracer.close()
    lines = path.read_text().splitlines()
    exchanges = [line for line in lines if "->" in line]
    assert len(exchanges) == 1
    assert exchanges[0].endswith(" ms)")
    assert "[Fake PCD 00 00] 00A4040C0AD392F000260100000001 -> 9000 (" in exchanges[0]
    assert any(line.endswith("# inserted") for line in lines)
    assert any(line.endswith("# removed") for line in lines)
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_the_real_card_is_served_through_its_smartcard_os_names(card_dir):
    """Issue 3: the card object speaks vsmartcard's SmartcardOS, which is all the link uses."""
    from mynacard.emulator.cards import ImageCardSource

    h = Harness(ImageCardSource(card_dir))
    h.slot.insert(wait=False)
    vpcd = h.vpcd()
    atr = vpcd.atr()
    assert atr and atr[0] == 0x3B
    vpcd.send(b"\x01")
    assert vpcd.apdu("00A4040C0AD392F000260100000001") == bytes.fromhex("9000")  # CI §13 A
    assert vpcd.apdu("00A4040C07A0000000031010") == bytes.fromhex("6A82")  # unknown AID, CI §3
    assert vpcd.apdu("00A4020C020018") == bytes.fromhex("9000")
    assert vpcd.apdu("00200080") == bytes.fromhex("63C3")
    h.slot.remove()
