"""The register's database: engine, migrations, sessions, and the secret keys of its numbers and codes."""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from mynacard.errors import UserError
from mynacard.register_stub import models
from mynacard.service.auth import TokenStore
from mynacard.service.db import SQLITE_BUSY_TIMEOUT_MS, make_engine, reader
from mynacard.service.migrations import upgrade
from mynacard.service.sqlite_writers import WriterTurns
from mynacard.service.standby import StandbyReads

VERSION_TABLE = "register_alembic_version"
VERSIONS_DIR = Path(__file__).parent / "migrations" / "versions"
NUMBER_KEY_FILE = "register-number-key"
CODE_KEY_FILE = "register-code-key"
#: The length of both secret keys.
KEY_BYTES = 32
T = TypeVar("T")
R = TypeVar("R")


class RegisterStore:
    """One register database, migrated to the newest revision on open.

    On SQLite every transaction of the shared engine starts with `BEGIN IMMEDIATE` (the write
    lock), and a connection that finds the lock taken sleeps in SQLite's busy handler, up to
    100 ms a nap. So that writers queue instead of napping, `transaction()` first takes a turn
    (`WriterTurns`: shared by the threads of this process and the other worker processes on the
    same file); and pure reads go through a second engine whose transactions start deferred, so
    in WAL mode they never wait for a writer.

    With a PostgreSQL `standby` (`--read-db`), `read_and_record()` reads there: lookups by My Number
    and 方法2 comparisons. Their access records, every write and every read that decides a write
    stay on the primary; `transaction()` notes each commit, so this process reads its own writes.
    """

    def __init__(self, engine: Engine, standby_url: str | None = None) -> None:
        self.engine = engine
        # Database errors quote their SQL parameters, which may be My Numbers; a 500's traceback
        # in the server log must not carry them.
        engine.hide_parameters = True
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_cache)
        upgrade(engine, VERSIONS_DIR, VERSION_TABLE)
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.sqlite = engine.dialect.name == "sqlite"
        self.read_engine = _sqlite_reader(engine) if self.sqlite else engine
        self.read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)
        self._turns = _writer_turns(engine) if self.sqlite else None
        self.tokens = TokenStore(engine, models.api_tokens)
        #: Token lookups on every request: through the reader.
        self.token_reader = TokenStore(self.read_engine, models.api_tokens)
        self.standby = StandbyReads.open(engine, standby_url, "register") if standby_url else None

    @classmethod
    def open(cls, url: str, standby_url: str | None = None) -> RegisterStore:
        return cls(make_engine(url), standby_url)

    def session(self) -> Session:
        """A session on the writing engine; prefer `transaction()` and `reader()`."""
        return self.sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One write transaction: committed on leaving, rolled back on an exception."""
        with self._turn(), self.sessions() as session, session.begin():
            yield session
        if self.standby is not None:
            self.standby.wrote()

    @contextmanager
    def rehearsal(self) -> Iterator[Session]:
        """A write transaction that is always rolled back: an event's preview runs the same code
        that applies it and keeps nothing."""
        with self._turn(), self.sessions() as session:
            session.begin()
            try:
                yield session
            finally:
                session.rollback()

    def _turn(self) -> AbstractContextManager[object]:
        return self._turns.turn() if self._turns is not None else nullcontext()

    def reader(self) -> Session:
        """A session for reads only (never blocked by a writer on SQLite's WAL)."""
        return self.read_sessions()

    @contextmanager
    def hot(self) -> Iterator[Connection | None]:
        """On PostgreSQL, one connection of the primary in autocommit for all of a hot route's
        statements — the token check, the read (unless the standby takes it) and the access record:
        one pool checkout, and each statement its own transaction without BEGIN and COMMIT round
        trips (a lookup's 10 round trips became 3). None on SQLite, whose statements
        cost no round trip and whose reads and writes need engines of their own (`reader()`,
        `transaction()`)."""
        if self.sqlite:
            yield None
            return
        with self.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT")
            yield connection

    def read_and_record(self, read: Callable[[Connection], T], record: Callable[[Connection, T], R],
                        connection: Connection | None = None) -> tuple[T, R]:
        """A lookup's or 方法2's `read` (reads only: on the standby when there is one and it answers
        and has replayed this process's writes), then `record` (its access record), committed on
        the primary before this returns; on `connection` (from `hot()`) when given."""
        if connection is None:
            with self.hot() as connection:
                return self._read_and_record(read, record, connection)
        return self._read_and_record(read, record, connection)

    def _read_and_record(self, read: Callable[[Connection], T], record: Callable[[Connection, T], R],
                         connection: Connection | None) -> tuple[T, R]:
        if connection is None:  # SQLite: a snapshot without the write lock, then the write transaction
            with reader(self.read_engine) as snapshot:
                value = read(snapshot)
            with self.transaction() as session:
                return value, record(session.connection(), value)
        value = read(connection) if self.standby is None else self.standby.read(read)
        recorded = record(connection, value)
        if self.standby is not None:
            self.standby.wrote()
        return value, recorded

    def dispose(self) -> None:
        self.engine.dispose()
        if self._turns is not None:
            self._turns.close()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()
        if self.standby is not None:
            self.standby.dispose()


#: SQLite page cache per connection, in KiB (its default, 2 MB, makes index inserts into a
#: million-row table read pages back from disk).
SQLITE_CACHE_KIB = 262_144


def _sqlite_cache(connection: sqlite3.Connection, _record: object) -> None:
    connection.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")


def _writer_turns(engine: Engine) -> WriterTurns:
    """Turns on the database's file; an in-memory database has none to share (threads only)."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return WriterTurns(None)
    return WriterTurns(Path(database))


def _sqlite_reader(writer: Engine) -> Engine:
    """A read-only engine on the same SQLite file: deferred transactions, `query_only`."""
    engine = create_engine(writer.url, connect_args={"check_same_thread": False}, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _pragmas(connection: sqlite3.Connection, _record: object) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA query_only=ON")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    return engine


def number_key(data_dir: Path) -> bytes:
    """The secret key of the My Number derivation (jpki-system.md §4.3: the transformation is
    secret), made on first use: 32 random bytes in `DATA/register-number-key`, mode 0600."""
    return _secret_key(data_dir / NUMBER_KEY_FILE)


def code_key(data_dir: Path, store: RegisterStore) -> bytes:
    """The secret key of the 住民票コード permutation (`code_permutation`), made with the register
    as the number key is: 32 random bytes in `DATA/register-code-key`, mode 0600.

    A register that cut pools before it had one scattered its codes by a fixed bijection that no
    key reproduces: a key made now could hand out one of those codes again, so it is refused.
    """
    path = data_dir / CODE_KEY_FILE
    if not path.exists():
        with store.reader() as session:
            if session.execute(select(models.CodePool.id).limit(1)).first() is not None:
                raise UnkeyedRegister(
                    f"this register handed out 住民票コード before it had {path} (the key of its codes); "
                    "a new key could repeat one of them, so start a fresh register (a new data dir and database)")
    return _secret_key(path)


class UnkeyedRegister(UserError):
    """A register whose codes came from before the keyed permutation (see `code_key`)."""


def _secret_key(path: Path) -> bytes:
    """32 random bytes kept hex-encoded in `path` (0600), made on first use.

    Written to a temporary file, then hard-linked into place: the link fails if another process
    got there first (then its key is used), and a reader never sees a half-written key.
    """
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    temporary = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}"
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
    if len(key) != KEY_BYTES:
        raise ValueError(f"{path} does not hold a {KEY_BYTES}-byte key")
    return key
