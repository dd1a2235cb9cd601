"""One leader among the processes that serve a database, for the background jobs that must run once.

`mynacard serve --workers N` runs N copies of every service; the register's outbox delivery and
§2.1 deadline sweep, and the CA's scheduled CRL remake and OCSP signer re-certification, must not
run N times. Each job asks `Leadership.held()` before each round, and a process that does not lead
asks again every `LEADER_POLL` seconds: the first process to take the lock leads until it dies,
when the kernel (flock) or the database server (advisory lock) frees the lock and the next
process that asks takes it. No heartbeat, no lease to expire: the lock's life is the holder's life.

- PostgreSQL: `pg_try_advisory_lock` on a connection of its own, held open. It coordinates every
  process on the database, on any machine. If that connection breaks, the lock is gone with it:
  `held()` notices (a `SELECT 1` per call) and the process stops leading until it wins again.
- SQLite: `flock` on `DATA/<name>.leader` — one machine, which is all SQLite serves.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sys
import threading
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from mynacard.service.metrics import LEADER

#: How often a process that does not lead asks whether it can. The lock is free as soon as its
#: holder died, so this (plus a job's own short delay) bounds how long the jobs wait for a successor.
LEADER_POLL = 2.0


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for `name` (PostgreSQL advisory locks are keyed by bigint)."""
    return int.from_bytes(hashlib.sha256(f"mynacard leader {name}".encode()).digest()[:8], "big", signed=True)


class Leadership:
    """Whether this process leads the background jobs of service `name` (taken on first ask)."""

    def __init__(self, name: str, engine: Engine, lock_dir: Path) -> None:
        self.name = name
        self.engine = engine
        self.lock_path = lock_dir / f"{name}.leader"
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None
        self._connection: Connection | None = None

    def held(self) -> bool:
        """True while this process leads; tries to take the lead when it does not."""
        with self._lock:
            if self.engine.dialect.name == "postgresql":
                return self._postgresql()
            return self._flock()

    def _flock(self) -> bool:
        if self._file is not None:
            return True
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.lock_path, "ab")  # noqa: SIM115 - kept open for as long as this process leads
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        self._announce()
        return True

    def _postgresql(self) -> bool:
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
                self._connection.commit()  # never idle in a transaction (it would hold back VACUUM)
                return True
            except SQLAlchemyError:  # the session, and with it the lock, is gone
                self._drop_connection()
                LEADER.labels(self.name).set(0)
        try:
            connection = self.engine.connect()
            taken = connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                       {"key": advisory_key(self.name)}).scalar()
            connection.commit()  # end the transaction; the session-level lock stays
        except SQLAlchemyError:
            return False
        if not taken:
            connection.close()
            return False
        self._connection = connection
        self._announce()
        return True

    def _announce(self) -> None:
        LEADER.labels(self.name).set(1)
        print(f"mynacard serve: process {os.getpid()} runs the {self.name} background jobs", file=sys.stderr,
              flush=True)

    def _drop_connection(self) -> None:
        if self._connection is not None:
            try:
                self._connection.invalidate()
            except SQLAlchemyError:
                pass
            self._connection = None

    def release(self) -> None:
        """Stop leading (on shutdown), so another process takes over without waiting for this one's exit."""
        with self._lock:
            if self._file is not None or self._connection is not None:
                LEADER.labels(self.name).set(0)
            if self._file is not None:
                self._file.close()
                self._file = None
            if self._connection is not None:
                try:
                    self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": advisory_key(self.name)})
                    self._connection.commit()
                    self._connection.close()
                except SQLAlchemyError:
                    self._drop_connection()
                self._connection = None
