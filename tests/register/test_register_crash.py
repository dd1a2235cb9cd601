"""kill -9 during a burst of events loses no acknowledged event nor any revocation it queued
(`mynacard serve` on SQLite with synchronous=FULL: an event is answered only after its
transaction — with its outbox rows — committed)."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from register_server import seed_responder_keys


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(data: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-m", "mynacard", "serve", "--data", str(data), "--port", str(port),
                                "--workers", "1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/register/openapi.json", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("mynacard serve did not start")


def birth_body(given: str) -> dict[str, object]:
    return {"kind": "birth", "event_date": "2020-01-01", "cause": "出生届", "municipality_code": "13101",
            "resident": {"family_name": "負荷", "given_name": given, "birth_date": "2020-01-01", "sex": "1",
                         "address": "東京都千代田区見本町1-1"}}


def move_body(n: int) -> dict[str, object]:
    return {"kind": "move-within", "event_date": "2021-01-01", "cause": "転居届", "address": f"東京都千代田区見本町{n}-2"}


def give_certificates(database: Path, codes: list[str]) -> None:
    """A card with a signing and an auth certificate for each resident, as issuance records them
    (serials the CA never issued: their delivery fails visibly, which this test does not look at)."""
    stamp = "2026-01-01 00:00:00.000000"
    with sqlite3.connect(database) as db:
        for n, code in enumerate(codes):
            card = f"9{n:014d}"
            db.execute("INSERT INTO register_cards VALUES (?, ?, 'active', ?, '2035-01-01', NULL)", (card, code, stamp))
            for ca in ("sign", "auth"):
                db.execute("INSERT INTO register_certificates VALUES (?, ?, ?, ?, 'good', ?)",
                           (ca, f"{ca.upper()}{n:08X}", card, code, stamp))


def test_kill_9_during_a_burst_loses_no_acknowledged_event(tmp_path: Path, register_keys: list[rsa.RSAPrivateKey]) -> None:
    data, port = tmp_path / "data", free_port()
    seed_responder_keys(data, register_keys[:2])
    server = serve(data, port)
    token = json.loads((data / "tokens.json").read_text())["clerk"]
    headers = {"Authorization": f"Bearer {token}"}
    base = f"http://127.0.0.1:{port}/register"
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        seeded = [client.post("/v1/residents", json=birth_body(f"証明{n}")).json()["resident_code"] for n in range(24)]
    server.send_signal(signal.SIGTERM)
    server.wait(10)
    give_certificates(data / "register.sqlite3", seeded)  # so that their moves queue revocations
    server = serve(data, port)

    acknowledged: list[tuple[str, int]] = []
    queued: dict[int, list[int]] = {}  # event id -> the outbox rows its answer listed
    stop = threading.Event()

    def burst(worker: int) -> None:
        mine = seeded[worker::4]
        with httpx.Client(base_url=base, timeout=10, headers=headers) as client:
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    if mine:
                        code = mine.pop()
                        moved = client.post(f"/v1/residents/{code}/events", json=move_body(n))
                        if moved.status_code == 201:
                            acknowledged.append((code, moved.json()["id"]))
                            queued[moved.json()["id"]] = [r["id"] for r in moved.json()["revocations"]]
                    born = client.post("/v1/residents", json=birth_body(f"太郎{worker}x{n}"))
                    if born.status_code == 201:
                        code = born.json()["resident_code"]
                        acknowledged.append((code, born.json()["event"]["id"]))
                        moved = client.post(f"/v1/residents/{code}/events", json=move_body(n))
                        if moved.status_code == 201:
                            acknowledged.append((code, moved.json()["id"]))
                except httpx.HTTPError:
                    return  # the server died under us: whatever was not answered was not acknowledged

    threads = [threading.Thread(target=burst, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(2.0)
    server.send_signal(signal.SIGKILL)
    server.wait(10)
    stop.set()
    for thread in threads:
        thread.join(15)
    assert len(acknowledged) > 10

    with sqlite3.connect(data / "register.sqlite3") as db:
        events = {row[0]: row[1] for row in db.execute("SELECT id, resident_code FROM register_events")}
        residents = {row[0] for row in db.execute("SELECT resident_code FROM register_residents")}
        numbers = db.execute("SELECT count(*) FROM register_my_numbers").fetchone()[0]
        versions = db.execute("SELECT count(*) FROM register_resident_versions").fetchone()[0]
        current = db.execute("SELECT sum(current_version) FROM register_residents").fetchone()[0]
        outbox = {row[0]: row[1] for row in db.execute("SELECT id, event_id FROM register_revocations")}
    for code, event_id in acknowledged:
        assert events.get(event_id) == code
        assert code in residents
    assert any(queued.values())  # some acknowledged events queued revocations…
    for event_id, rows in queued.items():
        assert all(outbox.get(row) == event_id for row in rows)  # …and every one of them is there
    # whole transactions only: a number and a version per record, a version per event
    assert numbers == len(residents) and versions == current == len(events)

    restarted = serve(data, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/register",
                          headers={"Authorization": f"Bearer {token}"}) as client:
            code, event_id = acknowledged[-1]
            assert client.get(f"/v1/events/{event_id}", params={"purpose": "crash check"}).status_code == 200
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(10)
