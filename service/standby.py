"""Reads from a PostgreSQL streaming-replication standby, the primary standing in for it.

Why: OCSP status reads, register lookups and 方法2 comparisons are most of a busy back office's
queries and write nothing, so a hot standby (`pg_basebackup -R`) can take them and leave the
primary its writes (`mynacard serve --read-db URL`, docs/architecture.md). Three rules:

- Read your own writes: after each write transaction of this process the primary's WAL insert
  position is noted; a standby read first asks the standby how far it has replayed (one
  `pg_last_wal_replay_lsn()`, skipped once it is known to be past that point) and goes to the
  primary while the standby is behind. A revocation made here shows in OCSP at once, and a clerk
  who records an event and then queries sees it; a write by another process shows within the
  replication lag.
- A standby that does not answer, drops the connection during a read, or has no WAL receiver
  (replication broken, or not a standby at all: it would fall ever further behind) is bypassed:
  reads (that one too) go to the primary, one warning per outage (the URL's password hidden), the
  standby is tried again every `CHECK_SECONDS` (its receiver checked as often while in use), and
  one more line says when it is back. Nothing is lost, since nothing is ever written to it.
- Only PostgreSQL: a SQLite primary has no standby, and `--read-db` with one is refused.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from mynacard.service.config import ServiceConfig
from mynacard.service.db import PG_POOL_OVERFLOW, PG_POOL_SIZE, reader

log = logging.getLogger(__name__)
T = TypeVar("T")

#: How long reads stay on the primary after the standby failed, before it is tried again; and how
#: often a standby in use is checked for a WAL receiver.
CHECK_SECONDS = 5.0
NOT_ANSWERING = "does not answer"
NOT_REPLICATING = "is not replicating from the primary"
#: libpq's connect timeout for the standby (seconds): a dead host must not hold a read for long.
CONNECT_TIMEOUT = 2
#: LSNs as plain integers (bytes since 0/0), so they compare in Python.
PRIMARY_POSITION = text("SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn")
STANDBY_REPLAYED = text("SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn")
#: A standby without a WAL receiver falls ever further behind (its row, with the pid, is visible to
#: any role; none on a server that is not a standby at all).
RECEIVING = text("SELECT count(*) FROM pg_stat_wal_receiver")


def standby_url(config: ServiceConfig, service: str) -> str | None:
    """The URL `service` reads from on the standby, or None without `--read-db`.

    The read URL names the standby server; without a database name in it, each service reads the
    database of the same name as its primary's (a streaming standby holds every database of its
    cluster). Raises ValueError, one sentence, for a SQLite primary or a URL that is not PostgreSQL.
    """
    if config.read_database_url is None:
        return None
    primary = make_url(config.database_url(service))
    if primary.get_backend_name() != "postgresql":
        raise ValueError(f"a read standby (--read-db) needs PostgreSQL primaries, but the {service} database is "
                         f"SQLite; give --{service}-db postgresql+psycopg://… as well")
    read = make_url(config.read_database_url)
    if read.get_backend_name() != "postgresql":
        raise ValueError("--read-db must be a PostgreSQL URL (postgresql+psycopg://…) of the primary's standby")
    if not read.database:
        read = read.set(database=primary.database)
    return read.render_as_string(hide_password=False)


class StandbyReads:
    """The standby of one service's primary, with the state that decides each read's engine."""

    def __init__(self, primary: Engine, standby: Engine, service: str) -> None:
        self.primary = primary
        self.standby = standby
        self.service = service
        self._lock = threading.Lock()
        self._written = 0  # the primary's WAL position after this process's last write
        self._replayed = 0  # how far the standby was last seen to have replayed
        self._down: str | None = None  # why the standby is bypassed (None: it is used)
        self._retry_at = 0.0  # when a bypassed standby is tried again
        self._receiver_due = 0.0  # when a used standby's WAL receiver is checked again

    @classmethod
    def open(cls, primary: Engine, url: str, service: str) -> StandbyReads:
        standby = create_engine(url, pool_pre_ping=True, pool_size=PG_POOL_SIZE, max_overflow=PG_POOL_OVERFLOW,
                                hide_parameters=True, connect_args={
            "connect_timeout": CONNECT_TIMEOUT, "application_name": f"mynacard {service} (standby reads)"})
        return cls(primary, standby, service)

    @property
    def where(self) -> str:
        return self.standby.url.render_as_string(hide_password=True)

    def wrote(self) -> None:
        """Note the primary's WAL position after a committed write (call it after the commit)."""
        with self.primary.connect() as connection:
            position = int(connection.execute(PRIMARY_POSITION).scalar_one())
        with self._lock:
            self._written = max(self._written, position)

    def read(self, work: Callable[[Connection], T]) -> T:
        """`work` (reads only) on the standby when it answers and has replayed this process's
        writes, else on the primary. A standby lost in the middle of `work` (the connection
        dropped) counts as down, and `work` runs again on the primary: a read is never lost."""
        connection = self._standby_connection()
        if connection is not None:
            try:
                with connection:
                    return work(connection)
            except DBAPIError as exc:
                if not exc.connection_invalidated:  # a failing query, not a lost standby
                    raise
                self._bypass(NOT_ANSWERING, exc)
        with reader(self.primary) as connection:
            return work(connection)

    def state(self) -> str:
        """A live probe, in words for /readyz: whether the standby is used (never with a URL)."""
        with self._lock:
            self._retry_at = self._receiver_due = 0.0  # a probe may end an outage at once
        connection = self._standby_connection(check_lag=False)
        if connection is None:
            return f"{self._down or NOT_ANSWERING}; reads go to the primary"
        connection.close()
        return "answers"

    def dispose(self) -> None:
        self.standby.dispose()

    def _standby_connection(self, *, check_lag: bool = True) -> Connection | None:
        now = time.monotonic()
        with self._lock:
            if self._down is not None and now < self._retry_at:
                return None
            check_receiver = self._down is not None or now >= self._receiver_due
            if check_receiver:
                self._receiver_due = now + CHECK_SECONDS
            written, replayed = self._written, self._replayed
        try:
            connection = self.standby.connect()
        except DBAPIError as exc:
            self._bypass(NOT_ANSWERING, exc)
            return None
        try:
            receiving = not check_receiver or int(connection.execute(RECEIVING).scalar_one()) > 0
            if receiving and check_lag and written > replayed:
                replayed = int(connection.execute(STANDBY_REPLAYED).scalar() or 0)
                with self._lock:
                    self._replayed = max(self._replayed, replayed)
        except DBAPIError as exc:
            connection.close()
            self._bypass(NOT_ANSWERING, exc)
            return None
        if not receiving:
            connection.close()
            self._bypass(NOT_REPLICATING)
            return None
        self._usable()
        if check_lag and replayed < written:
            connection.close()  # behind this process's last write: the primary has it
            return None
        return connection

    def _bypass(self, problem: str, exc: DBAPIError | None = None) -> None:
        """Send reads to the primary for the next CHECK_SECONDS; the first time, say why."""
        cause = "" if exc is None else f" ({type(exc.orig or exc).__name__})"
        with self._lock:
            first = self._down is None
            self._down = problem
            self._retry_at = time.monotonic() + CHECK_SECONDS
        if first:
            log.warning("%s: the read standby %s %s%s; reads go to the primary until it is back",
                        self.service, self.where, problem, cause)

    def _usable(self) -> None:
        with self._lock:
            was_down, self._down = self._down is not None, None
        if was_down:
            log.warning("%s: the read standby %s is back; reads go to it again", self.service, self.where)
