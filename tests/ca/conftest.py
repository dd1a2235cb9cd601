"""Fixtures for the ca tests: RSA keys come from one session pool, never per test."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.ca.authority import Authority, load_test_authority
from mynacard.ca.keys import KeyPool, generate_rsa_key

POOL_SIZE = 8  # a whole authority (2 JPKI CAs + 6 CV keys) with distinct keys


@pytest.fixture(scope="session")
def pool_keys() -> list[rsa.RSAPrivateKey]:
    return [generate_rsa_key() for _ in range(POOL_SIZE)]


@pytest.fixture
def key_pool(pool_keys: list[rsa.RSAPrivateKey]) -> KeyPool:
    return KeyPool(pool_keys)


@pytest.fixture
def authority() -> Authority:
    """The committed test authority, with fresh (empty) issued-certificate registers."""
    return load_test_authority()
