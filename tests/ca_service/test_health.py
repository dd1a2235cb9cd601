"""/healthz and /readyz of `mynacard serve`, over HTTP (issue 16)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import httpx
from ca_server import CaServer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from mynacard.service import health


def test_healthz_and_readyz_answer_over_http(server: CaServer) -> None:
    base = f"http://127.0.0.1:{server.port}"
    assert httpx.get(f"{base}/healthz").json() == {"status": "alive"}
    ready = httpx.get(f"{base}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "services": ["/ca", "/centre", "/register"]}


def test_readyz_is_503_naming_the_service_whose_database_does_not_answer(tmp_path: Path) -> None:
    """A real SQLite engine whose directory does not exist: connecting fails as a gone database does."""
    service = FastAPI()
    service.state.runtime = SimpleNamespace(engine=create_engine(f"sqlite:///{tmp_path}/gone/register.sqlite"))
    root = FastAPI()
    health.install(root, {"/register": service})
    with TestClient(root) as client:
        assert client.get("/healthz").status_code == 200  # alive even so: a restart would not help
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "not ready",
                            "reasons": ["/register: the database does not answer (OperationalError)"]}
