"""The control channel (docs/emulator.md, "Control channel"): JSON lines over a private UNIX socket,
driving slots whose vpcd is faked (no pcscd needed)."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading

import pytest

from mynacard.emulator.cards import FactorySource
from mynacard.emulator.control import ControlClient, ControlServer, running_emulators
from mynacard.emulator.errors import ControlError
from mynacard.emulator.readers import VirtualReaders

from emulator_harness import Harness, RecordingCard


@pytest.fixture
def runtime(monkeypatch, tmp_path):
    from mynacard.emulator.paths import runtime_dir

    monkeypatch.setenv("MYNACARD_RUNTIME_DIR", str(tmp_path / "run"))
    return runtime_dir()


@pytest.fixture
def served(runtime):
    """A control server over two fake-vpcd slots; yields (client, harnesses, cards)."""
    cards = [RecordingCard(), RecordingCard()]
    harnesses = [Harness(FactorySource(lambda c=c: c, label=f"card-{i}")) for i, c in enumerate(cards)]
    readers = VirtualReaders()
    for i, h in enumerate(harnesses):
        h.slot.reader = f"Fake PCD {i} 00 00"
        readers.slots.append(h.slot)
        h.insert() if i == 0 else None
    server = ControlServer(runtime / "control.sock", readers)
    server.start()
    yield ControlClient(server.path, timeout=5), harnesses, cards
    server.close()
    for h in harnesses:
        h.slot.remove()


def test_socket_is_private(served, runtime):
    mode = stat.S_IMODE(os.stat(runtime / "control.sock").st_mode)
    assert mode & 0o077 == 0


def test_status_lists_every_card(served):
    client, _, _ = served
    answer = client.status()
    assert answer["pid"] == os.getpid()
    assert [(c["index"], c["card"], c["state"]) for c in answer["cards"]] == [
        (0, "card-0", "inserted"), (1, "card-1", "empty")]


def test_remove_then_insert_by_index_and_by_reader_name(served):
    client, harnesses, _ = served
    assert client.remove(0)["card"]["state"] == "empty"
    assert harnesses[0].vpcd().at_eof()
    atrs = []
    poller = threading.Thread(target=lambda: atrs.append(harnesses[0].wait_connects(2).atr()))
    poller.start()  # plays vpcd's first poll, which `insert` waits for
    assert client.insert("Fake PCD 0 00 00")["card"]["state"] == "inserted"
    poller.join()
    assert atrs == [RecordingCard.ATR]
    with pytest.raises(ControlError, match="no card in Fake PCD 1 00 00 to remove"):
        client.remove(1)


def test_reset_reaches_the_card(served):
    client, _, cards = served
    client.reset(0)
    assert cards[0].calls[-1] == "reset"


def test_faults_are_armed_and_fire(served):
    client, harnesses, cards = served
    answer = client.delay(20, ins=0x2A, count=2)
    assert answer["card"]["faults"][0] == {"kind": "delay", "ins": "2A", "count": 2, "delay_ms": 20.0, "execute": True}
    client.clear_faults()
    assert client.status()["cards"][0]["faults"] == []
    client.remove_during(ins=0x20, execute=False)
    vpcd = harnesses[0].vpcd()
    vpcd.send(bytes.fromhex("002000800431313131"))
    assert vpcd.at_eof()
    assert "002000800431313131" not in cards[0].calls
    assert client.status()["cards"][0]["last_event"] == "pulled out in the middle of a command"


def test_torn_write_without_a_store_and_unknown_requests_are_refused_with_a_sentence(served):
    client, _, _ = served
    with pytest.raises(ControlError, match="no store that can tear"):
        client.torn_write(0)
    with pytest.raises(ControlError, match="unknown op 'explode'"):
        client.request("explode")
    with pytest.raises(ControlError, match="there is no card 7"):
        client.reset(7)
    with pytest.raises(ControlError, match="unknown fault 'melt'"):
        client.request("fault", fault="melt")
    with pytest.raises(ControlError, match="no card in Fake PCD 1"):
        client.reset(1)


def test_one_json_object_per_line_many_requests_per_connection(served, runtime):
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(runtime / "control.sock"))
        sock.sendall(b'{"op": "status"}\nnot json\n{"op": "reset", "card": 0}\n')
        lines = sock.makefile("rb")
        answers = [json.loads(lines.readline()) for _ in range(3)]
    assert [a["ok"] for a in answers] == [True, False, True]
    assert "one JSON object per line" in answers[1]["error"]


def test_client_finds_the_one_running_emulator(runtime, monkeypatch):
    from mynacard.emulator.control import control_dir

    assert running_emulators() == []
    ours = control_dir() / f"emulate-{os.getpid()}.sock"
    ours.touch()
    dead = control_dir() / "emulate-999999999.sock"
    dead.touch()  # left by a process that died
    assert ControlClient.find().path == ours
    assert not dead.exists()
    twin = control_dir() / f"emulate-{os.getppid()}.sock"
    twin.touch()
    with pytest.raises(ControlError, match="several emulators"):
        ControlClient.find()


def test_a_stale_socket_is_replaced_but_a_live_one_is_not(runtime):
    from mynacard.emulator.errors import EmulatorError

    path = runtime / "c.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # bound but nobody listens: left by a dead emulator
    first = ControlServer(path, VirtualReaders())
    first.start()
    with pytest.raises(EmulatorError, match="exists already"):
        ControlServer(path, VirtualReaders()).start()
    first.close()
    assert not path.exists()


def test_insert_with_an_image_replaces_the_card_and_a_bad_image_changes_nothing(served, tmp_path):
    from mynacard.emulator.demo import copy_card, packaged_demo_card

    client, harnesses, _ = served
    with pytest.raises(ControlError, match="there is no card image at"):
        client.insert(0, image=tmp_path / "nowhere")
    assert client.status()["cards"][0]["state"] == "inserted"  # the old card stayed
    assert harnesses[0].slot.source.label == "card-0"
    image = copy_card(packaged_demo_card(), tmp_path / "new-card")
    atrs = []
    poller = threading.Thread(target=lambda: atrs.append(harnesses[0].wait_connects(2).atr()))
    poller.start()  # plays vpcd's first poll of the new card
    answer = client.insert(0, image=image)
    poller.join()
    assert answer["card"]["state"] == "inserted"
    assert harnesses[0].slot.source.label == str(image.resolve())
    assert atrs and atrs[0] != RecordingCard.ATR  # the demo card's own ATR: the new card answers
