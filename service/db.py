"""Engines: SQLite tuned for durability and concurrency, or PostgreSQL as given."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry

#: Execution option for connections that only read: on SQLite they begin a deferred transaction
#: (a snapshot, no lock) instead of BEGIN IMMEDIATE. Use `reader(engine)`.
READ_ONLY = "mynacard_read_only"

#: PostgreSQL connections kept open per engine and process, and opened beyond them in a burst. A
#: worker runs up to 40 requests at once in its thread pool; with SQLAlchemy's default of 5 kept,
#: 16 concurrent lookups opened and closed a connection (a server process forked) for most
#: requests, and their p99 was a second.
PG_POOL_SIZE = 16
PG_POOL_OVERFLOW = 24

#: How long a SQLite writer waits for another writer before failing (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 10_000


def make_engine(url: str) -> Engine:
    """An engine for `url`.

    SQLite (the default store): WAL, so readers (OCSP, CRL) never wait for a writer;
    `synchronous=FULL`, so a committed transaction survives power loss and `kill -9`;
    foreign keys on; a busy timeout instead of immediate "database is locked". The parent
    directory is created. PostgreSQL URLs (`postgresql+psycopg://…`) are used as given, with a
    pre-ping on checkout and a pool of `PG_POOL_SIZE`.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=PG_POOL_SIZE, max_overflow=PG_POOL_OVERFLOW)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "isolation_level": None})

    @event.listens_for(engine, "connect")
    def _pragmas(connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Connection) -> None:
        # pysqlite's own transaction handling is off (isolation_level None); writers take the write
        # lock at BEGIN, so two writers never fail upgrading a read snapshot; readers take none.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def reader(engine: Engine) -> Connection:
    """A connection for reads only (no write lock on SQLite); use as a context manager."""
    return engine.connect().execution_options(**{READ_ONLY: True})
