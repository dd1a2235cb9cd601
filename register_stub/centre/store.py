"""The centre's database handle: the register's store (its tables, its token table) with the
centre's own migration chain applied on top."""

from __future__ import annotations

from pathlib import Path

from mynacard.register_stub.store import RegisterStore
from mynacard.service.config import ServiceConfig
from mynacard.service.migrations import upgrade

VERSIONS_DIR = Path(__file__).parent / "migrations" / "versions"
VERSION_TABLE = "register_centre_alembic_version"


def prepare(store: RegisterStore, config: ServiceConfig) -> RegisterStore:
    """Bring the centre's tables to the newest revision and install the kiosk tokens."""
    upgrade(store.engine, VERSIONS_DIR, VERSION_TABLE)
    store.tokens.install(config.tokens, "centre")
    return store


def open_centre_store(config: ServiceConfig) -> RegisterStore:
    """The register's database, opened by the centre (`mynacard serve` mounts both)."""
    return prepare(RegisterStore.open(config.database_url("register")), config)
