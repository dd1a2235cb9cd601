"""Fixtures for the register tests: one session pool of RSA keys, a real CA + register per module."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.ca.keys import generate_rsa_key

from register_server import Services

#: Six keys per card (personalise) — the first two double as the CA's OCSP signer keys.
POOL_SIZE = 6


@pytest.fixture(scope="session")
def register_keys() -> list[rsa.RSAPrivateKey]:
    return [generate_rsa_key() for _ in range(POOL_SIZE)]


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory, register_keys: list[rsa.RSAPrivateKey]) -> Iterator[Services]:
    running = Services(tmp_path_factory.mktemp("register") / "data", register_keys).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def admin(services: Services) -> Iterator[httpx.Client]:
    with services.register("register-admin") as client:
        yield client


@pytest.fixture(scope="module")
def clerk(services: Services) -> Iterator[httpx.Client]:
    with services.register("clerk") as client:
        yield client
