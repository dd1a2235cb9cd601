"""The register's database: engine, migrations, sessions, and the keyed secret of the numbers."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from mynacard.service.auth import TokenStore
from mynacard.service.db import make_engine
from mynacard.service.migrations import upgrade

from mynacard.register_stub import models

VERSION_TABLE = "register_alembic_version"
VERSIONS_DIR = Path(__file__).parent / "migrations" / "versions"
NUMBER_KEY_FILE = "register-number-key"
NUMBER_KEY_BYTES = 32


class RegisterStore:
    """One register database, migrated to the newest revision on open."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        upgrade(engine, VERSIONS_DIR, VERSION_TABLE)
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.tokens = TokenStore(engine, models.api_tokens)

    @classmethod
    def open(cls, url: str) -> RegisterStore:
        return cls(make_engine(url))

    def session(self) -> Session:
        return self.sessions()

    def dispose(self) -> None:
        self.engine.dispose()


def number_key(data_dir: Path) -> bytes:
    """The secret key of the My Number derivation (jpki-system.md §4.3: the transformation is
    secret), made on first use: 32 random bytes in `DATA/register-number-key`, mode 0600.

    Written to a temporary file, then hard-linked into place: the link fails if another process
    got there first (then its key is used), and a reader never sees a half-written key.
    """
    path = data_dir / NUMBER_KEY_FILE
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(NUMBER_KEY_BYTES)
    temporary = data_dir / f".{NUMBER_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key.hex().encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return _read_key(path)
    finally:
        temporary.unlink()
    return key


def _read_key(path: Path) -> bytes:
    key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    if len(key) != NUMBER_KEY_BYTES:
        raise ValueError(f"{path} does not hold a {NUMBER_KEY_BYTES}-byte key")
    return key
