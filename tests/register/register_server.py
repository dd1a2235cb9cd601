"""A real CA service and register for tests: both apps mounted as `mynacard serve` mounts them,
served by uvicorn on a free loopback port in a thread of the test process (so card keys can come
from the session's key pool), and the helpers the register tests share."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from mynacard.ca import http as ca_http
from mynacard.ca.client import CaClient
from mynacard.ca.keys import KeyPool
from mynacard.register_stub import http as register_http
from mynacard.register_stub.centre import http as centre_http
from mynacard.register_stub.runtime import RegisterRuntime
from mynacard.serve import ensure_tokens
from mynacard.service.config import ServiceConfig
from mynacard.service.fast_paths import dispatch

PINS = {"auth_pin": "1234", "sign_password": "ABC123", "text_pin": "1234", "juki_pin": "1234"}
PURPOSE = {"purpose": "test"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed_responder_keys(data_dir: Path, keys: list[rsa.RSAPrivateKey]) -> None:
    """Pool keys for the CA's OCSP signers, so the server generates none."""
    folder = data_dir / "ca"
    folder.mkdir(parents=True, exist_ok=True)
    for ca_id, key in zip(("sign", "auth"), keys, strict=True):
        path = folder / f"{ca_id}-ocsp.key.pem"
        if not path.exists():
            path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
            path.chmod(0o600)


@dataclass
class Services:
    data_dir: Path
    card_keys: list[rsa.RSAPrivateKey]
    register_db: str | None = None
    port: int = field(default_factory=free_port)
    runtime: RegisterRuntime | None = None
    #: The mounted apps without the fast paths (the framework's routes only).
    root: FastAPI | None = None
    apps: dict[str, FastAPI] = field(default_factory=dict)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def tokens(self) -> dict[str, str]:
        return ensure_tokens(self.data_dir)

    def start(self) -> Services:
        seed_responder_keys(self.data_dir, self.card_keys[:2])
        urls = {"register": self.register_db} if self.register_db else {}
        config = ServiceConfig(data_dir=self.data_dir, public_base_url=self.base, database_urls=urls,
                               tokens=ensure_tokens(self.data_dir))
        self.runtime = RegisterRuntime.open(config, key_source=KeyPool(self.card_keys))
        self.root = FastAPI()
        self.apps = apps = {"/ca": ca_http.create_app(config), "/register": register_http.create_app(config, self.runtime),
                "/centre": centre_http.create_app(config, self.runtime.store, http=self.runtime.http)}
        for prefix, app in apps.items():
            self.root.mount(prefix, app)
        # served as `mynacard serve` serves them: fast paths (OCSP) and fast routes (lookup, 方法2) first
        served = dispatch(self.root, apps)
        self._server = uvicorn.Server(uvicorn.Config(served, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test services did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        if self.runtime is not None:
            self.runtime.close()

    def register(self, token_name: str | None = "register-admin") -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[token_name]}"} if token_name else {}
        return httpx.Client(base_url=f"{self.base}/register", headers=headers, timeout=60)

    def ca(self) -> CaClient:
        return CaClient(f"{self.base}/ca", self.tokens["ca-admin"])


def birth(client: httpx.Client, *, family: str = "見本", given: str = "太郎", born: str = "1980-02-17",
          sex: str = "1", address: str = "東京都千代田区見本町1-2-3", municipality: str = "13101",
          **resident: Any) -> dict[str, Any]:
    body = {
        "kind": "birth", "event_date": born, "cause": "出生届", "municipality_code": municipality,
        "resident": {"family_name": family, "given_name": given, "birth_date": born, "sex": sex,
                     "address": address, **resident},
    }
    response = client.post("/v1/residents", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def event(client: httpx.Client, code: str, kind: str, **fields: Any) -> dict[str, Any]:
    body = {"kind": kind, "event_date": fields.pop("event_date", date.today().isoformat()),
            "cause": fields.pop("cause", f"test {kind}"), **fields}
    response = client.post(f"/v1/residents/{code}/events", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def issue_card(client: httpx.Client, code: str) -> dict[str, Any]:
    response = client.post(f"/v1/residents/{code}/cards", json={"pins": PINS, "security_code": "2468"})
    assert response.status_code == 201, response.text
    return dict(response.json())


def wait_delivered(client: httpx.Client, event_id: int, timeout: float = 15) -> list[dict[str, Any]]:
    """The event's outbox rows once the worker delivered them all."""
    deadline = time.monotonic() + timeout
    while True:
        rows = client.get(f"/v1/events/{event_id}", params=PURPOSE).json()["revocations"]
        if all(row["status"] == "delivered" for row in rows) or time.monotonic() > deadline:
            return list(rows)
        time.sleep(0.1)


def ocsp_status(services: Services, ca: str, serial: str, folder: Path) -> str:
    """good / revoked / unknown, as `openssl ocsp` reports it against the CA service."""
    ca_client = services.ca()
    roots = {str(e["id"]): str(e["certificate_pem"]) for e in ca_client.cas()}
    record = ca_client.get(ca, serial)
    root = folder / f"{ca}-root.pem"
    root.write_text(roots[ca])
    cert = folder / f"{ca}-{serial}.pem"
    cert.write_text(str(record["certificate_pem"]))
    result = subprocess.run(
        ["openssl", "ocsp", "-issuer", str(root), "-cert", str(cert), "-url", f"{services.base}/ca/ocsp/{ca}",
         "-CAfile", str(root)],
        capture_output=True, text=True, timeout=30,
    )
    output = result.stdout + result.stderr
    assert "Response verify OK" in output, output
    for line in output.splitlines():
        if line.startswith(f"{cert}: "):
            return line.split(": ", 1)[1].strip()
    raise AssertionError(output)


def access_record_count(services: Services) -> int:
    """How many access records the register holds (SQLite): a refusal must add none."""
    import sqlite3

    with sqlite3.connect(services.data_dir / "register.sqlite3") as db:
        return int(db.execute("SELECT count(*) FROM register_access_records").fetchone()[0])


def write_card(card: dict[str, Any], directory: Path) -> Path:
    """The issued card image (base64 files of the API answer) as a card directory."""
    import base64

    from mynacard.applet_model.image import CardImage
    from mynacard.applet_model.store import DirectoryStore

    files = {path: base64.b64decode(data) for path, data in card["image"].items()}
    DirectoryStore.create(directory, CardImage.from_files(files.__getitem__))
    return directory


def portal_login(services: Services, card_spec: str, auth_pin: str = "1234") -> httpx.Client:
    """マイナポータル-style login: the card signs the register's challenge with its auth key
    through the host middleware; returns a client carrying the resident's session token."""
    import base64

    from mynacard.host.card import MyNumberCard
    from mynacard.host.jpki import Key

    public = services.register(None)
    challenge = public.post("/v1/portal/challenge").json()["challenge"]
    raw = base64.urlsafe_b64decode(challenge + "=" * (-len(challenge) % 4))
    card = MyNumberCard.open(card_spec)
    try:
        signature = card.jpki.sign(raw, key=Key.AUTH, pin=auth_pin)
        certificate = card.jpki.auth_certificate()
    finally:
        card.close()
    response = public.post("/v1/portal/login", json={
        "challenge": challenge, "signature": base64.b64encode(signature).decode(),
        "certificate": base64.b64encode(certificate).decode()})
    assert response.status_code == 200, response.text
    public.headers["Authorization"] = f"Bearer {response.json()['session_token']}"
    return public
