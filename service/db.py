"""Engines: SQLite tuned for durability and concurrency, or PostgreSQL as given."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

#: Execution option for connections that only read: on SQLite they begin a deferred transaction
#: (a snapshot, no lock) instead of BEGIN IMMEDIATE. Use `reader(engine)`.
READ_ONLY = "mynacard_read_only"

#: PostgreSQL connections kept open per engine and process, and opened beyond them in a burst. A
#: worker runs up to 40 requests at once in its thread pool; with SQLAlchemy's default of 5 kept,
#: 16 concurrent lookups opened and closed a connection (a server process forked) for most
#: requests, and their p99 was a second.
PG_POOL_SIZE = 16
PG_POOL_OVERFLOW = 24

#: A pooled PostgreSQL connection idle longer than this (seconds) is pinged before it is used.
PING_IDLE_SECONDS = 1.0

#: How long a SQLite writer waits for another writer before failing (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 10_000


def make_engine(url: str) -> Engine:
    """An engine for `url`.

    SQLite (the default store): WAL, so readers (OCSP, CRL) never wait for a writer;
    `synchronous=FULL`, so a committed transaction survives power loss and `kill -9`;
    foreign keys on; a busy timeout instead of immediate "database is locked". The parent
    directory is created. PostgreSQL URLs (`postgresql+psycopg://…`) are used as given, with a pool
    of `PG_POOL_SIZE` whose connections are pinged when they were idle (`_ping_when_idle`).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_size=PG_POOL_SIZE, max_overflow=PG_POOL_OVERFLOW)
        _ping_when_idle(engine)
        return engine
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


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's `pool_pre_ping`, but only for connections idle in the pool longer than
    `PING_IDLE_SECONDS`. Why: under load a connection comes back within milliseconds, and its ping
    was one of a lookup's four round trips; a connection that sat idle — when a server restart or an
    idle timeout closes connections — is still checked, and a dead one is replaced before use (the
    pool takes another on `DisconnectionError`). A connection closed while in busy use fails its
    request once (503), as with any database failure mid-request."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi: DBAPIConnection | None, record: ConnectionPoolEntry) -> None:
        record.info["returned"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi: DBAPIConnection, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection) -> None:
        if time.monotonic() - record.info.get("returned", 0.0) <= PING_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("a pooled connection did not answer its ping") from exc


def reader(engine: Engine) -> Connection:
    """A connection for reads only (no write lock on SQLite); use as a context manager."""
    return engine.connect().execution_options(**{READ_ONLY: True})
