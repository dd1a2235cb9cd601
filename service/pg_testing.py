"""A real PostgreSQL server for the test suite (pytest plugin; tests/conftest.py loads it).

One server per test session: `initdb` into a temporary directory, then `postgres` listening on a
Unix socket only (`listen_addresses=''`), trust authentication, fsync off (test data). When the
suite runs as root (CI does), the server runs as the unprivileged user `nobody`, since
PostgreSQL refuses to run as root. `postgres_url()` gives each caller a fresh database.
`start_standby(server)` makes a streaming-replication standby of a server (`pg_basebackup -R`),
for the read-standby tests, which start their own primary so that stopping the standby touches
no other test.
Tests are skipped, saying why, only when the PostgreSQL binaries are not installed
(tools/setup.sh installs Debian's `postgresql`).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

UNPRIVILEGED_USER = "nobody"
START_TIMEOUT = 30.0


def find_binaries() -> Path | None:
    """The folder with initdb and postgres: PATH first, then Debian's /usr/lib/postgresql/N/bin."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("postgres"):
        return Path(initdb).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    return versions[-1].parent if versions else None


@dataclass
class PostgresServer:
    """A running throwaway server; `url(name)` is a SQLAlchemy URL for database `name`."""

    root: Path
    binaries: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}"

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(host=str(self.socket_dir), user="postgres", dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # name is ours: t_ + hex
        return self.url(name)

    def start(self) -> PostgresServer:
        """Run `postgres` on the data directory (again, after `shut_down`) and wait for its socket."""
        log = open(self.root / "postgres.log", "ab")  # noqa: SIM115 - lives as long as the server
        self.process = subprocess.Popen(
            [*_unprivileged(), str(self.binaries / "postgres"), "-D", str(self.root / "data"), "-k",
             str(self.socket_dir), "-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=100"],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.root,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                text = (self.root / "postgres.log").read_text(errors="replace")[-1000:]
                self.stop()
                raise RuntimeError(f"postgres exited: {text}")
            if self._accepts():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("postgres did not start within 30 s")

    def shut_down(self) -> None:
        """Stop the server ("fast shutdown") and keep its data, so `start()` brings it back."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def stop(self) -> None:
        self.shut_down()
        shutil.rmtree(self.root, ignore_errors=True)

    def _accepts(self) -> bool:
        """The socket is there and a connection is accepted (a standby accepts once consistent)."""
        if not (self.socket_dir / ".s.PGSQL.5432").exists():
            return False
        done = subprocess.run([str(self.binaries / "pg_isready"), "-q", "-h", str(self.socket_dir), "-U", "postgres"],
                              check=False)
        return done.returncode == 0


def _unprivileged() -> list[str]:
    """The command prefix that drops root to `nobody` (PostgreSQL refuses to run as root)."""
    if os.geteuid() != 0:
        return []
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--"]


def _server_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="mynacard-pg-"))
    (root / "socket").mkdir()
    if os.geteuid() == 0:
        user = pwd.getpwnam(UNPRIVILEGED_USER)
        for path in (root, root / "socket"):
            os.chown(path, user.pw_uid, user.pw_gid)
    return root


def _run(command: list[str], root: Path, what: str) -> None:
    done = subprocess.run([*_unprivileged(), *command], capture_output=True, text=True, timeout=120, cwd=root)
    if done.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"{what} failed: {done.stderr[-1000:]}")


def start_server(binaries: Path) -> PostgresServer:
    root = _server_root()
    _run([str(binaries / "initdb"), "-D", str(root / "data"), "-U", "postgres", "-A", "trust", "--no-sync",
          "-E", "UTF8", "--locale=C"], root, "initdb")
    return PostgresServer(root, binaries).start()


def start_standby(primary: PostgresServer) -> PostgresServer:
    """A hot standby of `primary` by streaming replication: `pg_basebackup -R` (which writes
    `primary_conninfo` and `standby.signal`) into a new temporary directory, then started. It holds
    every database of the primary and refuses writes. initdb's default pg_hba already lets local
    trust connections replicate."""
    root = _server_root()
    _run([str(primary.binaries / "pg_basebackup"), "-D", str(root / "data"), "-R", "-X", "stream", "-c", "fast",
          "--no-sync", "-h", str(primary.socket_dir), "-U", "postgres"], root, "pg_basebackup")
    return PostgresServer(root, primary.binaries).start()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    binaries = find_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed (tools/setup.sh installs Debian's postgresql)")
    server = start_server(binaries)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_pair() -> Iterator[tuple[PostgresServer, PostgresServer]]:
    """A primary of its own and its streaming-replication standby (the tests stop and restart the
    standby, so it is not the shared server)."""
    binaries = find_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed (tools/setup.sh installs Debian's postgresql)")
    primary = start_server(binaries)
    try:
        standby = start_standby(primary)
    except BaseException:
        primary.stop()
        raise
    yield primary, standby
    standby.stop()
    primary.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Callable[[], str]:
    """Call it for a fresh, empty database URL on the session's server."""
    return postgres_server.create_database
