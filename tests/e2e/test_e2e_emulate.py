"""`mynacard emulate` as a user runs it: several cards, the control CLI, SIGTERM (issue 3)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from smartcard.Exceptions import CardConnectionException, NoCardException

from e2e_harness import JPKI, MYNACARD, Client, start_emulate



def mynacard(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MYNACARD, *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def two_cards(virtual_reader, tmp_path: Path):
    """`mynacard emulate` serving two copies of the demo card, next to the session's own slot."""
    from mynacard.emulator.demo import copy_card, packaged_demo_card

    cards = [copy_card(packaged_demo_card(), tmp_path / name) for name in ("alice", "bob")]
    control = tmp_path / "ctl.sock"
    trace = tmp_path / "trace.log"
    process, lines = start_emulate("--card", str(cards[0]), "--card", str(cards[1]),
                                   "--trace", str(trace), "--control", str(control))
    try:
        readers = re.findall(r"in reader '([^']+)'", "".join(lines))
        assert len(readers) == 2, "".join(lines)
        yield process, readers, control, trace, lines
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(10)


def _wait_presence(reader: str, present: bool) -> None:
    from mynacard.emulator.pcsc_state import wait_for_presence

    assert wait_for_presence(reader, present, 5), f"{reader}: presence never became {present}"


def test_two_cards_in_two_readers_are_independent(two_cards, virtual_reader):
    _, readers, _, _, _ = two_cards
    assert virtual_reader.reader not in readers
    for reader in readers:
        _wait_presence(reader, True)
    listing = subprocess.run(["opensc-tool", "-l"], capture_output=True, text=True).stdout
    for reader in readers:
        assert re.search(rf"Yes\s+{re.escape(reader)}$", listing, re.M), listing
    alice, bob = Client(readers[0]), Client(readers[1])
    alice.ok(JPKI), bob.ok(JPKI)
    alice.select_ef(0x0018), bob.select_ef(0x0018)
    assert alice.send("00200080", b"9999")[1] == 0x63C2
    assert bob.send("00200080")[1] == 0x63C3  # another card, its own counter
    alice.close(), bob.close()


def test_control_cli_removes_inserts_and_faults(two_cards):
    _, readers, control, trace, _ = two_cards
    ctl = ("emulate", "control", "--control", str(control))
    status = mynacard(*ctl, "status")
    assert status.returncode == 0 and status.stdout.count(": inserted, ") == 2
    assert mynacard(*ctl, "remove", "--card", "1").stdout.strip() == f"{readers[1]}: empty"
    _wait_presence(readers[1], False)
    with pytest.raises(NoCardException):
        Client(readers[1])
    assert mynacard(*ctl, "insert", "--card", readers[1]).returncode == 0
    _wait_presence(readers[1], True)
    client = Client(readers[1])
    client.ok(JPKI)
    client.select_ef(0x0018)
    assert "armed: remove on INS 20" in mynacard(*ctl, "fault", "--card", "1", "remove", "--ins", "20").stdout
    with pytest.raises(CardConnectionException):
        client.send("00200080", b"9999")
    _wait_presence(readers[1], False)
    assert "pulled out in the middle of a command" in mynacard(*ctl, "status").stdout
    refused = mynacard(*ctl, "reset", "--card", "1")
    assert refused.returncode == 1
    assert refused.stderr.strip() == f"mynacard: there is no card in {readers[1]}; insert one first."
    assert "0020008004 <4 bytes redacted> -> (no response)" in trace.read_text()


def test_pcscd_status_shows_who_holds_each_slot_and_stop_is_refused_while_in_use(two_cards, virtual_reader):
    process, readers, _, _, _ = two_cards
    status = mynacard("pcscd", "status").stdout
    for reader in readers:
        assert re.search(rf"'{re.escape(reader)}' port \d+: card .* \(pid {process.pid}\)", status)
    assert re.search(rf"'{re.escape(virtual_reader.reader)}' port \d+: card pytest session", status)
    stop = mynacard("pcscd", "stop")
    assert stop.returncode == 1
    assert "still serve cards" in stop.stderr or "not started by mynacard" in stop.stderr
    assert mynacard("pcscd", "status").stdout.startswith("pcscd pid")


def test_sigterm_removes_the_cards_and_cleans_up(two_cards):
    process, readers, control, _, _ = two_cards
    process.send_signal(signal.SIGTERM)
    rest = process.stdout.read()
    assert process.wait(10) == 0
    assert "removed the card from" in rest
    for reader in readers:
        _wait_presence(reader, False)
    assert not control.exists()


def test_emulate_without_card_serves_the_users_demo_copy(virtual_reader, tmp_path):
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    process = subprocess.Popen([*MYNACARD, "emulate"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env)
    try:
        first = process.stdout.readline()
        assert f"demo card: {tmp_path / 'state' / 'mynacard' / 'demo-card'} (copied just now" in first
        line = ""
        while not line.startswith("card 0"):
            line = process.stdout.readline()
            assert line, "emulate ended early"
        reader = re.search(r"in reader '([^']+)'", line).group(1)
        _wait_presence(reader, True)
        client = Client(reader)
        client.ok(JPKI)
        client.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)
    assert (tmp_path / "state" / "mynacard" / "demo-card" / "state.json").exists()
    shutil.rmtree(tmp_path / "state")


def test_emulate_refuses_a_busy_slot(virtual_reader, card_dir):
    taken = _slot_index(virtual_reader.reader)
    result = mynacard("emulate", "--card", str(card_dir), "--slot", str(taken))
    assert result.returncode == 1
    assert f"slot {taken} ({virtual_reader.reader}) is in use by process {os.getpid()}" in result.stderr


def _slot_index(reader: str) -> int:
    from mynacard.emulator.pcscd import describe_running

    info = describe_running()
    assert info is not None
    return [s.reader for s in info.slots].index(reader)


def test_pcsc_scan_style_listing_shows_the_reader(reader_name):
    """Issue 3: `opensc-tool -l` (or pcsc_scan) shows the reader with a card."""
    deadline = time.monotonic() + 5
    while True:
        listing = subprocess.run(["opensc-tool", "-l"], capture_output=True, text=True).stdout
        if re.search(rf"Yes\s+{re.escape(reader_name)}$", listing, re.M) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert re.search(rf"Yes\s+{re.escape(reader_name)}$", listing, re.M), listing


def test_emulate_behaviour_option_is_what_conformance_observes(virtual_reader, tmp_path: Path):
    """`mynacard emulate --behaviour reselect=clears` serves a card the conformance observation
    OBS-RESELECT-001 (run by `mynacard conformance --reader`, through pcscd) reports as `clears`."""
    from mynacard.emulator.demo import copy_card, packaged_demo_card

    card = copy_card(packaged_demo_card(), tmp_path / "card")
    process, lines = start_emulate("--card", str(card), "--behaviour", "reselect=clears",
                                   "--control", str(tmp_path / "ctl.sock"))
    try:
        assert "behaviours: reselect=clears\n" in lines, "".join(lines)
        (reader,) = re.findall(r"in reader '([^']+)'", "".join(lines))
        _wait_presence(reader, True)
        secrets = Path(__file__).parents[2] / "emulator" / "demo_card" / "secrets.toml"
        run = mynacard("conformance", "--reader", reader, "--secrets", str(secrets), "--only", "OBS-RESELECT-001",
                       "--out", str(tmp_path / "report"))
        assert run.returncode == 0, run.stdout + run.stderr
        assert "reselect=clears: COMPUTE DIGITAL SIGNATURE after re-SELECT answered 6982" in run.stdout
        assert "mynacard emulate --behaviour reselect=clears" in run.stdout
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(10)
