"""A card pulled in the middle of a command and put straight back is seen by pcscd, every time
(issue 17, defect 5; docs/emulator.md, "Why a slot waits for pcscd").

`mynacard emulate` serves the card; its control channel pulls it while pyscard's READ BINARY is
in progress — half the cycles by a `remove` fault inside the command, half by a `remove` request
while a `delay` fault holds the command — and puts it back at once. pyscard, through pcscd, must
then see the new card: present and not mute, pcscd's event counter moved by exactly one removal
and one insertion, a fresh connection with the card's ATR that answers SELECT.

The default run does a few cycles; `pytest --pull-cycles 200` does the 200 of the issue.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import pytest
from smartcard.Exceptions import CardConnectionException

from mynacard.emulator.control import ControlClient
from mynacard.emulator.pcsc_state import PcscdEvents, wait_for_presence

from e2e_harness import JPKI, Client, start_emulate

#: pcscd polls vpcd every 400 ms; an insertion it reports at all comes within a few polls.
PRESENCE_TIMEOUT = 5.0
CERTIFICATE_EF = 0x000A


@pytest.fixture
def emulated(virtual_reader, tmp_path: Path):
    """`mynacard emulate` with one demo card; yields (reader, control client, ATR)."""
    import re

    from mynacard.applet_model.card import Card
    from mynacard.applet_model.store import DirectoryStore
    from mynacard.emulator.demo import copy_card, packaged_demo_card

    card = copy_card(packaged_demo_card(), tmp_path / "card")
    atr = Card.open(DirectoryStore(card)).atr
    control = tmp_path / "ctl.sock"
    process, lines = start_emulate("--card", str(card), "--control", str(control))
    try:
        (reader,) = re.findall(r"in reader '([^']+)'", "".join(lines))
        assert wait_for_presence(reader, True, PRESENCE_TIMEOUT), "".join(lines)
        yield reader, ControlClient(control), atr
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


def _pull_during_read(client: Client, control: ControlClient, by_request: bool) -> None:
    """Start READ BINARY and pull the card before it answers; the client sees the card go."""
    client.ok(JPKI)
    client.select_ef(CERTIFICATE_EF)
    if not by_request:
        control.remove_during(ins=0xB0)
        with pytest.raises(CardConnectionException):
            client.send("00B0000000")
        return
    control.delay(2000, ins=0xB0)
    failed: list[BaseException] = []

    def read() -> None:
        try:
            client.send("00B0000000")
        except CardConnectionException as exc:
            failed.append(exc)

    reading = threading.Thread(target=read)
    reading.start()
    while control.status()["cards"][0]["faults"]:  # the delay is taken: the command is in progress
        pass
    control.remove()
    reading.join(10)
    assert failed, "the READ BINARY in progress was answered although the card was pulled"


def test_a_card_put_back_after_a_pull_mid_command_is_always_seen(emulated, request) -> None:
    reader, control, atr = emulated
    cycles = request.config.getoption("pull_cycles")
    events = PcscdEvents()
    missed: list[str] = []
    for cycle in range(cycles):
        before = events.snapshot(reader)
        assert before is not None and before.present
        client = Client(reader)
        _pull_during_read(client, control, by_request=cycle % 2 == 1)
        try:
            client.close()  # a client's power-down of the pulled card: what hid the next one
        except CardConnectionException:
            pass
        control.insert()
        if not wait_for_presence(reader, True, PRESENCE_TIMEOUT):
            missed.append(f"cycle {cycle}: pcscd reports no card {PRESENCE_TIMEOUT:g} s after the insertion")
            control.remove()  # take it out and in once more, so the next cycles still count
            wait_for_presence(reader, False, PRESENCE_TIMEOUT)
            control.insert()
            assert wait_for_presence(reader, True, PRESENCE_TIMEOUT)
            continue
        after = events.snapshot(reader)
        assert after is not None
        changes = (after.counter - before.counter) % 0x10000
        if changes != 2:
            missed.append(f"cycle {cycle}: pcscd registered {changes} changes, not a removal and an insertion")
        fresh = Client(reader)
        assert bytes(fresh.connection.getATR()) == atr
        fresh.ok(JPKI)
        fresh.close()
    assert not missed, f"{len(missed)} of {cycles} insertions after a pull were missed:\n" + "\n".join(missed)
