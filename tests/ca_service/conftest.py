"""Fixtures for the CA service tests: a real `mynacard serve` per module, `serve --workers 2`, pool keys."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.ca.client import CaClient
from mynacard.ca.keys import generate_rsa_key

from ca_server import CaServer, seed_responder_keys
from workers_helpers import start_workers

POOL_SIZE = 8  # 2 OCSP signers + 6 keys of one card


@pytest.fixture(scope="session")
def pool_keys() -> list[rsa.RSAPrivateKey]:
    return [generate_rsa_key() for _ in range(POOL_SIZE)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pool_keys: list[rsa.RSAPrivateKey]) -> Iterator[CaServer]:
    """`mynacard serve` with the test authority, shared by a test module."""
    data = tmp_path_factory.mktemp("ca-server") / "data"
    seed_responder_keys(data, pool_keys[:2])
    ca_server = CaServer(data).start()
    yield ca_server
    ca_server.stop()


@pytest.fixture(scope="module")
def admin(server: CaServer) -> Iterator[CaClient]:
    with server.client("ca-admin") as client:
        yield client


@pytest.fixture
def two_workers(request: pytest.FixtureRequest, tmp_path: Path, pool_keys: list[rsa.RSAPrivateKey]) -> Iterator[CaServer]:
    """`mynacard serve --workers 2` on SQLite, or on PostgreSQL (both services) when a test
    parametrizes it indirectly with "postgresql"."""
    databases: list[str] = []
    if getattr(request, "param", "sqlite") == "postgresql":
        postgres_url: Callable[[], str] = request.getfixturevalue("postgres_url")
        databases = ["--ca-db", postgres_url(), "--register-db", postgres_url()]
    server = start_workers(tmp_path / "data", pool_keys, databases)
    yield server
    server.stop()
