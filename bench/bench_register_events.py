"""Life events per second, including the revocations they cause (issue 10).

A CA service and the register run in this process (uvicorn, both apps mounted as `mynacard serve`
mounts them). --residents records are bulk-loaded and each is given a signing and an auth
certificate by the CA service (one pre-made key for all, recorded against a card as issuance
would; card images themselves are not made). Then, through the register's HTTP API from
--clients concurrent clients:
- baseline: one household change per resident (an event that revokes nothing);
- one move within the municipality per resident (the signing certificate revoked), timed until
  the outbox worker has delivered every revocation to the CA service.
Prints events/s for both and their ratio.

Run: .venv/bin/python bench/bench_register_events.py [--residents 200] [--clients 4]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from sqlalchemy import func, select

from mynacard.ca import http as ca_http
from mynacard.register_stub import bulk
from mynacard.register_stub.http import create_app
from mynacard.register_stub.models import Card, Certificate, Resident, Revocation
from mynacard.register_stub.runtime import RegisterRuntime
from mynacard.serve import ensure_tokens
from mynacard.service.config import ServiceConfig


def serve(root: FastAPI) -> tuple[uvicorn.Server, threading.Thread, int]:
    server = uvicorn.Server(uvicorn.Config(root, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, int(server.servers[0].sockets[0].getsockname()[1])


def run_events(base: str, token: str, codes: list[str], clients: int, body: dict[str, object]) -> float:
    def worker(part: list[str]) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            for n, code in enumerate(part):
                payload = {**body, "event_date": date.today().isoformat()}
                if "address" in payload:
                    payload["address"] = f"東京都千代田区見本町{n % 9 + 1}-{len(code)}-{n}"
                client.post(f"/v1/residents/{code}/events", json=payload).raise_for_status()

    parts = [codes[i::clients] for i in range(clients)]
    threads = [threading.Thread(target=worker, args=(part,)) for part in parts]
    t = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    key = rsa.generate_private_key(65537, 2048)
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        server, thread, port = serve(FastAPI())  # reserve the port the certificates will name
        server.should_exit = True
        thread.join()
        config = ServiceConfig(data_dir=data, public_base_url=f"http://127.0.0.1:{port}", tokens=ensure_tokens(data))
        runtime = RegisterRuntime.open(config)
        root = FastAPI()
        root.mount("/ca", ca_http.create_app(config))
        root.mount("/register", create_app(config, runtime))
        server = uvicorn.Server(uvicorn.Config(root, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)

        rows = [bulk.LoadRow("佐藤", f"太郎{n}", date(1980, 1, 1), "1", "東京都千代田区見本町1-1")
                for n in range(args.residents)]
        bulk.load(runtime.store, runtime.number_key, runtime.code_key, "13101", rows)
        with runtime.store.reader() as session:
            codes = list(session.execute(select(Resident.resident_code)).scalars())
        ca = runtime.ca_client()
        locality = {"prefecture": "Tokyo-to", "city": "Chiyoda-ku"}
        t = time.perf_counter()
        with runtime.store.transaction() as session:
            for n, code in enumerate(codes):
                serial = f"9{n:014d}"
                session.add(Card(card_serial=serial, resident_code=code, status="active", issued_at=datetime.now(UTC),
                                 expires_on=date(2035, 1, 1)))
                sign = ca.issue_sign(public_key_pem=public_pem, person={"name": "佐藤\u3000太郎", "sex": "1",
                                     "birth_date": "1980-01-01", "address": "東京都千代田区見本町１－１"},
                                     locality=locality, municipality_code="13101", card_expiry=date(2035, 1, 1),
                                     card_serial=serial)
                auth = ca.issue_auth(public_key_pem=public_pem, birth_date=date(1980, 1, 1), locality=locality,
                                     municipality_code="13101", card_expiry=date(2035, 1, 1), card_serial=serial)
                for ca_id, record in (("sign", sign), ("auth", auth)):
                    session.add(Certificate(ca=ca_id, serial=str(record["serial"]), card_serial=serial,
                                            resident_code=code, status="good", issued_at=datetime.now(UTC)))
        issue_s = time.perf_counter() - t

        base, token = f"http://127.0.0.1:{port}/register", config.tokens["clerk"]
        baseline_s = run_events(base, token, codes, args.clients,
                                {"kind": "household-change", "cause": "世帯変更", "relationship": "世帯主"})
        t = time.perf_counter()
        recorded_s = run_events(base, token, codes, args.clients,
                                {"kind": "move-within", "cause": "転居届", "address": "x"})
        while True:
            with runtime.store.reader() as session:
                pending = session.execute(select(func.count()).select_from(Revocation)
                                          .where(Revocation.status != "delivered")).scalar_one()
            if pending == 0:
                break
            time.sleep(0.02)
        delivered_s = time.perf_counter() - t
        server.should_exit = True
        thread.join(10)
        runtime.close()
    n = len(codes)
    print(f"setup: {n:,} residents with 2 certificates each from the CA service in {issue_s:.1f} s")
    print(f"baseline (household change, no revocation): {n / baseline_s:,.0f} events/s")
    print(f"move within the municipality: {n / recorded_s:,.0f} events/s recorded, "
          f"{n / delivered_s:,.0f} events/s including their revocation delivered to the CA; "
          f"ratio to the baseline {delivered_s / baseline_s:.1f}")


if __name__ == "__main__":
    main()
