"""The integrator API over a real WebSocket (terminal/server.py): a STATE on connection and on
every transition, BAD_STATE for a command out of turn, INVALID for a malformed one, a RESULT
with a reason at the end; the origin check; the static UI with its security headers."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from kiosk_harness import LoopThread, ResidentCard, SimKiosk, copy_card, make_sim_kiosk
from mynacard.terminal.centre_client import HttpCentre
from mynacard.terminal.server import KioskServer


@pytest.fixture
def served(centre_client: HttpCentre) -> Iterator[tuple[SimKiosk, KioskServer]]:
    loop = LoopThread()
    sim = make_sim_kiosk(centre_client)
    server = KioskServer(sim.kiosk, "127.0.0.1", 0)
    asyncio.run_coroutine_threadsafe(server.start(), loop.loop).result(10)
    task = asyncio.run_coroutine_threadsafe(sim.kiosk.run(), loop.loop)
    yield sim, server
    loop.loop.call_soon_threadsafe(sim.kiosk.stop)
    task.result(10)
    asyncio.run_coroutine_threadsafe(server.close(), loop.loop).result(10)
    loop.close()


def receive_until(ws: ClientConnection, predicate, timeout: float = 10) -> dict:  # type: ignore[no-untyped-def]
    while True:
        message = json.loads(ws.recv(timeout=timeout))
        if predicate(message):
            return message


def state(name: str):  # type: ignore[no-untyped-def]
    return lambda msg: msg["msg"] == "STATE" and msg["state"] == name


def test_a_whole_session_over_the_websocket(served: tuple[SimKiosk, KioskServer], tmp_path: Path,
                                            resident_cards: list[ResidentCard]) -> None:
    sim, server = served
    sim.reader.card_dir = copy_card(resident_cards[11], tmp_path / "card")
    with connect(f"ws://127.0.0.1:{server.port}/ws") as ws:
        first = json.loads(ws.recv(timeout=5))
        assert first["msg"] == "STATE" and first["state"] == "idle"
        assert first["devices"]["reader_simulated"] is True
        ws.send(json.dumps({"cmd": "GET_INFO"}))
        info = receive_until(ws, lambda m: m["msg"] == "INFO")
        assert info["api_level"] == 1 and "SET_PIN" in info["commands"]
        ws.send(json.dumps({"cmd": "SET_PIN", "value": "1234"}))
        bad = receive_until(ws, lambda m: m["msg"] == "BAD_STATE")
        assert bad["cmd"] == "SET_PIN" and bad["state"] == "idle" and "1234" not in json.dumps(bad)
        ws.send("not json")
        assert receive_until(ws, lambda m: m["msg"] == "INVALID")["error"] == "NOT_JSON"
        ws.send(json.dumps({"cmd": "FLY"}))
        assert receive_until(ws, lambda m: m["msg"] == "INVALID")["error"] == "BAD_COMMAND"
        for command in ({"cmd": "START"}, {"cmd": "ACCEPT"}, {"cmd": "SIM_INSERT_CARD"}):
            ws.send(json.dumps(command))
        pin_entry = receive_until(ws, state("pin_entry"))
        assert (pin_entry["tries_left"], pin_entry["max_tries"], pin_entry["last_try"]) == (3, 3, False)
        ws.send(json.dumps({"cmd": "SET_PIN", "value": "12"}))
        assert receive_until(ws, lambda m: m["msg"] == "INVALID")["error"] == "BAD_VALUE"
        ws.send(json.dumps({"cmd": "SET_PIN", "value": "1234"}))
        receive_until(ws, state("remove_card"))
        ws.send(json.dumps({"cmd": "SIM_REMOVE_CARD"}))
        choose = receive_until(ws, state("choose_document"))
        assert [d["code"] for d in choose["documents"]] == ["juminhyo", "inkan", "kazei"]
        ws.send(json.dumps({"cmd": "CHOOSE_DOCUMENT", "document": "kazei", "scope": "self",
                            "options": [], "copies": 1}))
        assert receive_until(ws, state("confirm_fee"))["fee"] == 300
        ws.send(json.dumps({"cmd": "CONFIRM_FEE"}))
        receive_until(ws, state("payment"))
        ws.send(json.dumps({"cmd": "SIM_INSERT_CASH", "yen": 100}))
        assert receive_until(ws, lambda m: m["msg"] == "STATE" and m.get("paid") == 100)["fee"] == 300
        ws.send(json.dumps({"cmd": "SIM_INSERT_CASH", "yen": 500}))
        receive_until(ws, state("collect"))
        ws.send(json.dumps({"cmd": "TAKE_DOCUMENT"}))
        result = receive_until(ws, lambda m: m["msg"] == "RESULT")
        assert result["result"] == "completed" and result["reason"] is None
        assert result["transaction_id"] == sim.printer.tray[0].transaction_id
    with urllib.request.urlopen(f"{server.url}health", timeout=5) as answer:
        health = json.load(answer)
    assert health["counters"] == {"result_completed": 1, "yen_charged": 300}
    assert health["state"] in ("complete", "idle") and health["devices"]["reader_simulated"]


def test_a_foreign_web_page_cannot_drive_the_kiosk(served: tuple[SimKiosk, KioskServer]) -> None:
    _sim, server = served
    with pytest.raises(InvalidStatus) as refused:
        connect(f"ws://127.0.0.1:{server.port}/ws", origin=Origin("http://evil.example"))
    assert refused.value.response.status_code == 403
    with connect(f"ws://127.0.0.1:{server.port}/ws",
                 origin=Origin(f"http://127.0.0.1:{server.port}")) as ws:
        assert json.loads(ws.recv(timeout=5))["msg"] == "STATE"


def test_the_ui_is_served_with_its_security_headers(served: tuple[SimKiosk, KioskServer]) -> None:
    _sim, server = served
    with urllib.request.urlopen(server.url, timeout=5) as page:
        body = page.read().decode()
        assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<html lang="ja">' in body and "app.js" in body
    for name in ("app.js", "style.css"):
        with urllib.request.urlopen(server.url + name, timeout=5) as asset:
            assert asset.status == 200
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(server.url + "..%2Fserver.py", timeout=5)
    assert missing.value.code == 404
    missing.value.close()
