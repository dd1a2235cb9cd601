"""Writers of one SQLite file take turns in a queue, across threads and processes.

SQLite lets one writer at a time hold the file's write lock (`BEGIN IMMEDIATE`); a connection
that finds it taken sleeps in SQLite's busy handler, 1, 2, 5, … up to 100 ms a nap, and looks
again. Within a process a thread lock already queued the writers; across the worker processes of
`mynacard serve --workers N` they napped, and a worker whose own writers kept handing the lock to
each other could leave the other's writer asleep for a second (20 kiosks at once: a challenge, a
one-row insert, took 140 ms on average). `WriterTurns` puts an exclusive `flock` on a file beside
the database in front of BEGIN IMMEDIATE: a waiting writer sleeps in the kernel and is woken when
the holder lets go. SQLite's own lock stays the authority; a writer that does not take a turn
(another program on the file) still meets the busy handler, as before.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: Appended to the database file's name for the turn file.
SUFFIX = "-writers"


class WriterTurns:
    """One write transaction at a time on `database` (a file path) among every holder of a
    `WriterTurns` on it, in this process or another; with no file (an in-memory database), among
    this process's threads."""

    def __init__(self, database: Path | None) -> None:
        self.path = database.with_name(database.name + SUFFIX) if database is not None else None
        self._thread_turn = threading.Lock()  # flock is per open file: the threads of a process share one
        self._fd: int | None = None
        self._pid = 0

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Held for one write transaction; released even when it fails."""
        with self._thread_turn:
            if self.path is None:
                yield
                return
            fd = self._file(self.path)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _file(self, path: Path) -> int:
        # Opened in the process that writes: a descriptor inherited over fork would share one
        # lock with the parent instead of queueing against it.
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd

    def close(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None
