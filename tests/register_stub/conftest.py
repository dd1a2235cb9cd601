"""Fixtures for register_stub tests: one session pool of RSA keys and one personalised demo card."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.ca.authority import Authority, load_test_authority
from mynacard.ca.keys import KeyPool
from mynacard.register_stub.person import DEMO_CARD_EXPIRY, DEMO_PERSON, DEMO_PINS, DEMO_SECURITY_CODE, CardDetails
from mynacard.register_stub.personalise import PersonalisedCard, personalise
from register_stub_helpers import SERIAL

CARD_KEYS = 6  # personalise draws six keys per card, in a fixed order
ISSUED_AT = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def pool_keys() -> list[rsa.RSAPrivateKey]:
    return [rsa.generate_private_key(65537, 2048) for _ in range(CARD_KEYS)]


@pytest.fixture
def key_pool(pool_keys: list[rsa.RSAPrivateKey]) -> KeyPool:
    return KeyPool(pool_keys)


@pytest.fixture(autouse=True)
def _no_key_generation(monkeypatch: pytest.MonkeyPatch, key_pool: KeyPool) -> None:
    """Everything that would generate keys (the CLI included) takes them from the pool."""
    monkeypatch.setattr("mynacard.ca.keys.generate_rsa_key", key_pool)


@pytest.fixture(scope="session")
def authority() -> Authority:
    return load_test_authority()


@pytest.fixture(scope="session")
def demo_card(pool_keys: list[rsa.RSAPrivateKey], authority: Authority) -> PersonalisedCard:
    details = CardDetails(DEMO_CARD_EXPIRY, DEMO_SECURITY_CODE, card_serial=SERIAL)
    return personalise(
        DEMO_PERSON, details, DEMO_PINS, authority=authority, key_source=KeyPool(pool_keys), issued_at=ISSUED_AT
    )
