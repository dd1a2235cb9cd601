"""Fixtures for the CA service tests: a real server, pool keys, helpers to issue and inspect."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.ca.client import CaClient
from mynacard.ca.keys import generate_rsa_key

from ca_server import CaServer, seed_responder_keys

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


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def issue_sign(client: CaClient, key: rsa.RSAPrivateKey, **extra: str) -> dict[str, object]:
    return client.issue_sign(
        public_key_pem=public_pem(key),
        person={"name": "見本\u3000花子", "sex": "2", "birth_date": "1985-04-12", "address": "東京都清瀬市中里1-2-3"},
        locality={"prefecture": "Tokyo", "city": "Kiyose-shi"},
        municipality_code="13221",
        card_expiry=date(2034, 4, 12),
        **extra,  # type: ignore[arg-type]
    )


def issue_auth(client: CaClient, key: rsa.RSAPrivateKey) -> dict[str, object]:
    return client.issue_auth(
        public_key_pem=public_pem(key), birth_date=date(1985, 4, 12),
        locality={"prefecture": "Tokyo", "city": "Kiyose-shi"}, municipality_code="13221",
        card_expiry=date(2034, 4, 12),
    )


def write_pem(path: Path, pem: str) -> Path:
    path.write_text(pem)
    return path
