"""`mynacard kiosk` as an operator runs it: --help teaches, bad input is one sentence, and a
running kiosk serves its UI and API until SIGTERM, leaving only its journal behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from websockets.sync.client import connect

from centre_double import TOKEN, CentreDouble
from kiosk_harness import ResidentCard, copy_card

MYNACARD = [sys.executable, "-m", "mynacard.main"]


def test_help_teaches() -> None:
    done = subprocess.run([*MYNACARD, "kiosk", "--help"], capture_output=True, text=True, check=True)
    for words in ("--reader", "--centre-url", "--printer", "--port", "examples:",
                  "simulated", "Privacy"):
        assert words in done.stdout


def test_a_bad_config_file_is_one_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "kiosk.toml"
    bad.write_text("[timeouts]\npin_entry = 0\n")
    done = subprocess.run([*MYNACARD, "kiosk", "--config", str(bad), "--card", str(tmp_path)],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "[timeouts] must map" in done.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_kiosk_runs_until_sigterm(tmp_path: Path, centre: CentreDouble,
                                      resident_cards: list[ResidentCard]) -> None:
    card = copy_card(resident_cards[13], tmp_path / "card")
    data = tmp_path / "data"
    port = free_port()
    config = tmp_path / "kiosk.toml"  # open around the clock: the test runs at any hour
    config.write_text('[hours]\nopens = "00:00"\ncloses = "24:00"\nyear_end_closure = false\n')
    env = {**os.environ, "MYNACARD_CENTRE_TOKEN": TOKEN}
    process = subprocess.Popen([*MYNACARD, "kiosk", "--card", str(card), "--port", str(port),
                                "--config", str(config),
                                "--centre-url", centre.url, "--data-dir", str(data)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in banner
        with connect(f"ws://127.0.0.1:{port}/ws") as ws:
            assert json.loads(ws.recv(timeout=5))["state"] == "idle"
            for command in ("START", "ACCEPT", "SIM_INSERT_CARD"):
                ws.send(json.dumps({"cmd": command}))
            deadline = time.monotonic() + 10
            while json.loads(ws.recv(timeout=10)).get("state") != "pin_entry":
                assert time.monotonic() < deadline
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "kiosk stopped" in out
    assert sorted(p.name for p in data.iterdir()) == ["kiosk.log"]
    assert "state idle -> notice" in (data / "kiosk.log").read_text()
