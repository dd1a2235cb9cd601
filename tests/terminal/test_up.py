"""`mynacard up` as a user runs it: a subprocess with a fresh data directory; once it prints its
URLs, one complete issuance over the kiosk's WebSocket API with the demo card in its virtual
reader (pcscd + vpcd), checked at the centre; then SIGTERM, a clean exit and no process left.
A second run reuses the data directory (same resident, same card) and stops on Ctrl-C (SIGINT)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from register_server import free_port, seed_responder_keys
from mynacard.emulator.control import ControlClient

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(240)]


def start(data: Path, port: int, kiosk_port: int, window_port: int = 0) -> tuple[subprocess.Popen[str], list[str]]:
    window_port = window_port or free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mynacard", "up", "--data", str(data), "--port", str(port),
         "--kiosk-port", str(kiosk_port), "--window-port", str(window_port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line.rstrip())
        if "logs:" in line:
            return process, lines
        if "all vpcd slots are in use" in line:
            process.wait(30)
            pytest.skip("every vpcd slot is in use by other tests")
    process.wait(30)
    raise AssertionError("\n".join(lines))


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def stop(process: subprocess.Popen[str], how: signal.Signals = signal.SIGTERM) -> str:
    children = children_of(process.pid)
    assert len(children) == 4  # serve, emulate, kiosk, window
    process.send_signal(how)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    return out


class Kiosk:
    """An integrator's side of the kiosk's WebSocket: commands out, STATE messages in."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.state = self.next_state()

    def next_state(self, timeout: float = 30) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(self.ws.recv(timeout=deadline - time.monotonic()))
            if message["msg"] in ("STATE", "RESULT"):
                return dict(message)
            assert message["msg"] not in ("BAD_STATE", "INVALID"), message
        raise AssertionError("no state")

    def until(self, state: str, timeout: float = 30) -> dict[str, object]:
        message = self.state
        deadline = time.monotonic() + timeout
        while message.get("state") != state:
            assert time.monotonic() < deadline, f"waiting for {state}, at {message}"
            message = self.next_state()
        self.state = message
        return message

    def send(self, cmd: str, **fields: object) -> None:
        self.ws.send(json.dumps({"cmd": cmd, **fields}))


def issue_one(kiosk: Kiosk, data: Path) -> dict[str, object]:
    """One resident's visit: PIN, card off the reader (the emulator's control socket), 住民票の写し."""
    assert kiosk.state["state"] == "idle"
    kiosk.send("START")
    kiosk.until("notice")
    kiosk.send("ACCEPT")
    assert kiosk.until("pin_entry")["tries_left"] == 3
    kiosk.send("SET_PIN", value="1234")
    kiosk.until("remove_card")
    ControlClient(data / "emulator.sock").request("remove", card=0)
    choose = kiosk.until("choose_document")
    assert [d["code"] for d in choose["documents"]] == ["juminhyo", "kisai"]  # type: ignore[index, union-attr]
    kiosk.send("CHOOSE_DOCUMENT", document="juminhyo", scope="self", options=[], copies=1)
    assert kiosk.until("confirm_fee")["fee"] == 200
    kiosk.send("CONFIRM_FEE")
    kiosk.until("payment")
    kiosk.send("SIM_INSERT_CASH", yen=100)
    kiosk.send("SIM_INSERT_CASH", yen=100)
    kiosk.until("collect")
    kiosk.send("TAKE_DOCUMENT")
    result = kiosk.until("complete")
    assert result["result"] == "completed"
    return result


def test_up_serves_a_complete_issuance_and_stops_cleanly(tmp_path: Path, terminal_keys: list) -> None:
    data = tmp_path / "data"
    seed_responder_keys(data, terminal_keys[:2])  # the CA's OCSP signers: no RSA generation
    port, kiosk_port, window_port = free_port(), free_port(), free_port()
    process, lines = start(data, port, kiosk_port, window_port)
    try:
        output = "\n".join(lines)
        assert f"http://127.0.0.1:{kiosk_port}/" in output and "auth PIN 1234" in output
        assert f"window:     http://127.0.0.1:{window_port}/" in output  # the clerk's window, with its token
        token = (data / "window-clerk.token").read_text().strip()
        login = httpx.post(f"http://127.0.0.1:{window_port}/login", data={"token": token}, follow_redirects=False)
        assert login.status_code == 303 and "window_session" in login.headers["set-cookie"]
        reader = re.search(r"in reader '([^']+)'", output)
        assert reader is not None
        with connect(f"ws://127.0.0.1:{kiosk_port}/ws", open_timeout=10) as ws:
            result = issue_one(Kiosk(ws), data)


        tokens = json.loads((data / "tokens.json").read_text())
        base = f"http://127.0.0.1:{port}/centre/v1"
        record = httpx.get(f"{base}/transactions/{result['transaction_id']}",
                           headers={"Authorization": f"Bearer {tokens['register-admin']}"}).json()
        assert (record["status"], record["fee"]) == ("settled", 200)
        verified = httpx.get(f"{base}/verify/{record['verification_code']}").json()
        assert (verified["status"], verified["municipality"]) == ("valid", "東京都千代田区")
    finally:
        out = stop(process) if process.poll() is None else ""
    assert "mynacard up: stopped" in out
    assert "removed" in (data / "logs" / "emulate.log").read_text()  # the card is out, the slot free
    assert not (data / "emulator.sock").exists()
    state = json.loads((data / "up.json").read_text())

    process, _ = start(data, port, kiosk_port)  # a rerun reuses the resident and the card
    assert "mynacard up: stopped" in stop(process, signal.SIGINT)  # Ctrl-C
    assert json.loads((data / "up.json").read_text()) == state
