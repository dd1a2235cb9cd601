"""A real PostgreSQL server for the test suite (pytest plugin; tests/conftest.py loads it).

One server per test session: `initdb` into a temporary directory, then `postgres` listening on a
Unix socket only (`listen_addresses=''`), trust authentication, fsync off (test data). When the
suite runs as root (CI does), the server runs as the unprivileged user `nobody`, since
PostgreSQL refuses to run as root. `postgres_url()` gives each caller a fresh database.
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
    process: subprocess.Popen[bytes]

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

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "fast shutdown"
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        shutil.rmtree(self.root, ignore_errors=True)


def start_server(binaries: Path) -> PostgresServer:
    root = Path(tempfile.mkdtemp(prefix="mynacard-pg-"))
    (root / "socket").mkdir()
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam(UNPRIVILEGED_USER)
        for path in (root, root / "socket"):
            os.chown(path, user.pw_uid, user.pw_gid)
        prefix = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--"]
    data = root / "data"
    done = subprocess.run(
        [*prefix, str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync",
         "-E", "UTF8", "--locale=C"],
        capture_output=True, text=True, timeout=120, cwd=root,
    )
    if done.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {done.stderr[-1000:]}")
    log = open(root / "postgres.log", "wb")  # noqa: SIM115 - lives as long as the server
    process = subprocess.Popen(
        [*prefix, str(binaries / "postgres"), "-D", str(data), "-k", str(root / "socket"), "-c", "listen_addresses=",
         "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=100"],
        stdout=log, stderr=subprocess.STDOUT, cwd=root,
    )
    server = PostgresServer(root, process)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = (root / "postgres.log").read_text(errors="replace")[-1000:]
            server.stop()
            raise RuntimeError(f"postgres exited: {text}")
        if (root / "socket" / ".s.PGSQL.5432").exists():
            return server
        time.sleep(0.05)
    server.stop()
    raise RuntimeError("postgres did not start within 30 s")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    binaries = find_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed (tools/setup.sh installs Debian's postgresql)")
    server = start_server(binaries)
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Callable[[], str]:
    """Call it for a fresh, empty database URL on the session's server."""
    return postgres_server.create_database
