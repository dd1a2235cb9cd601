"""`mynacard serve --read-db`: OCSP status, register lookups and 方法2 read from a real
streaming-replication standby (initdb + pg_basebackup -R, Unix sockets only); writes and access
records go to the primary; a stopped standby leaves its reads to the primary (one warning per
outage, no password in it) and they go back when it returns. openssl judges every OCSP answer.

Server A reads from the standby. Server B, a second `mynacard serve` on the same primary without
one, is "another process": A learns of its changes only through replication. Pausing the
standby's replay makes it provably stale, so an answer that matches the stale state came from it.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from mynacard.service.config import ServiceConfig
from mynacard.service.db import make_engine
from mynacard.service.pg_testing import PostgresServer
from mynacard.service.standby import StandbyReads, standby_url
from ca_server import CaServer, seed_responder_keys
from ca_service_helpers import issue_sign, write_pem

#: The standby's URL carries a password (trust authentication ignores it): it must never be logged.
PASSWORD = "s3cret-standby-pw"
REFRESH = 2  # --ocsp-refresh, seconds
DEADLINE = 30.0  # generous bound for polling (replication and refresh take well under it)
PURPOSE = {"purpose": "read standby test"}


@dataclass
class Stack:
    a: CaServer  # reads from the standby
    b: CaServer  # another process on the same primary, no standby
    primary: PostgresServer
    standby: PostgresServer
    ca_db: str
    register_db: str
    folder: Path

    @property
    def log(self) -> str:
        return (self.a.data_dir.parent / f"serve-{self.a.port}.log").read_text(errors="replace")

    def register(self, server: CaServer) -> httpx.Client:
        return httpx.Client(base_url=f"http://127.0.0.1:{server.port}/register", timeout=60,
                            headers={"Authorization": f"Bearer {server.tokens['register-admin']}"})


def sql(server: PostgresServer, database: str, query: str, *params: object) -> Any:
    """The first column of the first row of `query` on `server` (autocommit)."""
    with psycopg.connect(host=str(server.socket_dir), user="postgres", dbname=database, autocommit=True) as conn:
        row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    return None if row is None else row[0]


def poll(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {DEADLINE} s")
        time.sleep(0.1)


def wait_replayed(primary: PostgresServer, standby: PostgresServer) -> None:
    """Until the standby has replayed everything the primary wrote so far."""
    position = sql(primary, "postgres", "SELECT pg_current_wal_insert_lsn()::text")
    poll(lambda: bool(sql(standby, "postgres", "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", position)),
         "the standby replays the primary's WAL")


@contextmanager
def paused(stack: Stack) -> Iterator[None]:
    """The standby caught up, then frozen: it keeps receiving WAL but applies none until the end."""
    wait_replayed(stack.primary, stack.standby)
    sql(stack.standby, "postgres", "SELECT pg_wal_replay_pause()")
    poll(lambda: sql(stack.standby, "postgres", "SELECT pg_get_wal_replay_pause_state()") == "paused",
         "the standby's replay pauses")
    try:
        yield
    finally:
        sql(stack.standby, "postgres", "SELECT pg_wal_replay_resume()")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, pool_keys: list[rsa.RSAPrivateKey],
          postgres_pair: tuple[PostgresServer, PostgresServer]) -> Iterator[Stack]:
    primary, standby = postgres_pair
    folder = tmp_path_factory.mktemp("read-standby")
    data = folder / "data"
    seed_responder_keys(data, pool_keys[:2])
    ca_db, register_db = primary.create_database(), primary.create_database()
    dbs = ["--ca-db", ca_db, "--register-db", register_db]
    b = CaServer(data, extra_args=dbs).start()  # migrates both databases on the primary
    read_url = f"postgresql+psycopg://postgres:{PASSWORD}@/?host={standby.socket_dir}"
    try:
        wait_replayed(primary, standby)  # A's first standby read finds the tables
        a = CaServer(data, extra_args=[*dbs, "--read-db", read_url, "--ocsp-refresh", str(REFRESH)]).start()
    except BaseException:
        b.stop()
        raise
    yield Stack(a, b, primary, standby, ca_db, register_db, folder)
    a.stop()
    b.stop()


def ocsp(stack: Stack, server: CaServer, record: dict[str, object], *, nonce: bool = True) -> str:
    """good / revoked, as `openssl ocsp` reports it; with a nonce the answer is signed afresh (the
    store is read), without one it may be the pre-signed answer (at most --ocsp-refresh old)."""
    root = write_pem(stack.folder / "sign-root.pem",
                     next(str(e["certificate_pem"]) for e in stack.a.client().cas() if e["id"] == "sign"))
    cert = write_pem(stack.folder / f"cert-{record['serial']}.pem", str(record["certificate_pem"]))
    done = subprocess.run(["openssl", "ocsp", "-issuer", str(root), "-cert", str(cert), "-url",
                           f"{server.url}/ocsp/sign", "-CAfile", str(root), *([] if nonce else ["-no_nonce"])],
                          capture_output=True, text=True, timeout=30)
    output = done.stdout + done.stderr
    assert "Response verify OK" in output, output
    found = re.search(rf"^{re.escape(str(cert))}: (\w+)$", output, re.MULTILINE)
    assert found, output
    return found.group(1)


def standby_status(stack: Stack, record: dict[str, object]) -> str:
    """The certificate's status as the standby holds it (read there directly)."""
    return str(sql(stack.standby, make_url(stack.ca_db).database or "", "SELECT status FROM ca_certificates "
                   "WHERE ca = 'sign' AND serial = %s", int(str(record["serial"]), 16)))


def birth(client: httpx.Client, given: str, address: str = "東京都千代田区見本町1-2-3") -> dict[str, Any]:
    body = {"kind": "birth", "event_date": "1990-05-06", "cause": "出生届", "municipality_code": "13101",
            "resident": {"family_name": "読取", "given_name": given, "birth_date": "1990-05-06", "sex": "1",
                         "address": address}}
    response = client.post("/v1/residents", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def method2(client: httpx.Client, number: str, given: str, address: str) -> dict[str, Any]:
    response = client.post("/v1/method2", json={"my_number": number, "name": f"読取 {given}", "birth_date": "1990-05-06",
                                                "sex": "1", "address": address, "purpose": "read standby test"})
    assert response.status_code == 200, response.text
    return dict(response.json())


def lookup(client: httpx.Client, number: str) -> int:
    return client.post("/v1/lookup", json={"my_number": number, **PURPOSE}).status_code


def test_ocsp_reads_status_from_the_standby_and_a_revocation_on_the_primary_shows_within_the_refresh(
        stack: Stack, pool_keys: list[rsa.RSAPrivateKey]) -> None:
    record = issue_sign(stack.a.client(), pool_keys[2])
    assert ocsp(stack, stack.a, record, nonce=False) == "good"  # pre-signed, served until REFRESH old
    with paused(stack):
        stack.b.client().revoke("sign", str(record["serial"]), "keyCompromise", cause="another server")
        assert ocsp(stack, stack.b, record) == "revoked"  # the primary has it
        assert standby_status(stack, record) == "good"  # the frozen standby does not
        assert ocsp(stack, stack.a, record) == "good"  # so A's freshly signed answer came from the standby
    # replay resumes: A's pre-signed answer turns within REFRESH + the replication lag
    poll(lambda: ocsp(stack, stack.a, record, nonce=False) == "revoked", "A's OCSP shows B's revocation")


def test_a_revocation_made_here_shows_at_once_while_the_standby_lags(
        stack: Stack, pool_keys: list[rsa.RSAPrivateKey]) -> None:
    record = issue_sign(stack.a.client(), pool_keys[3])
    assert ocsp(stack, stack.a, record, nonce=False) == "good"
    with paused(stack):
        stack.a.client().revoke("sign", str(record["serial"]), "affiliationChanged", cause="this server")
        assert standby_status(stack, record) == "good"
        # read your writes: the standby has not replayed A's revocation, so A reads the primary
        assert ocsp(stack, stack.a, record, nonce=False) == "revoked"


def test_lookup_and_method2_read_the_standby_and_their_access_records_go_to_the_primary(stack: Stack) -> None:
    with stack.register(stack.a) as a, stack.register(stack.b) as b:
        known = birth(b, "一郎")
        with paused(stack):
            unseen = birth(b, "二郎")  # on the primary only
            assert lookup(a, unseen["my_number"]) == 404  # A looked on the frozen standby
        with paused(stack):
            moved = b.post(f"/v1/residents/{known['resident_code']}/events",
                           json={"kind": "move-within", "event_date": "2026-01-05", "cause": "転居届",
                                 "address": "東京都千代田区見本町9-9"})
            assert moved.status_code == 201, moved.text
            old = "東京都千代田区見本町1-2-3"
            assert method2(a, known["my_number"], "一郎", old) == {"result": "match", "differs": []}  # standby's
            # A just wrote that query's access record, which the frozen standby lacks: A reads the primary
            assert method2(a, known["my_number"], "一郎", old) == {"result": "differs", "differs": ["address"]}
            records = b.get(f"/v1/residents/{known['resident_code']}/access-records", params=PURPOSE).json()
            assert [r["action"] for r in records].count("method2-query") == 2  # both on the primary
        poll(lambda: lookup(a, unseen["my_number"]) == 200, "A finds the resident once the standby replays")


def test_standby_down_reads_fall_back_to_the_primary_and_return(
        stack: Stack, pool_keys: list[rsa.RSAPrivateKey]) -> None:
    ca = stack.a.client()
    kept, later = issue_sign(ca, pool_keys[4]), issue_sign(ca, pool_keys[5])
    readyz = f"http://127.0.0.1:{stack.a.port}/readyz"
    assert httpx.get(readyz).json()["standbys"] == {"/ca": "answers", "/register": "answers"}
    stack.standby.shut_down()
    try:
        with stack.register(stack.a) as a:
            assert ocsp(stack, stack.a, kept) == "good"  # from the primary
            ca.revoke("sign", str(kept["serial"]), "cessationOfOperation", cause="written while the standby is down")
            assert ocsp(stack, stack.a, kept) == "revoked"
            person = birth(a, "三郎")
            assert lookup(a, person["my_number"]) == 200
            assert method2(a, person["my_number"], "三郎", "東京都千代田区見本町1-2-3")["result"] == "match"
            ready = httpx.get(readyz)
            assert ready.status_code == 200 and ready.json()["status"] == "ready"
            down = "does not answer; reads go to the primary"
            assert ready.json()["standbys"] == {"/ca": down, "/register": down}
        log = stack.log
        assert PASSWORD not in log and "postgres:***@" in log
        assert log.count("ca: the read standby") == 1 and log.count("register: the read standby") == 1
    finally:
        stack.standby.start()
    poll(lambda: httpx.get(readyz).json()["standbys"] == {"/ca": "answers", "/register": "answers"},
         "/readyz sees the standby again")
    assert "ca: the read standby postgresql+psycopg://postgres:***@" in stack.log
    assert re.search(r"^ca: the read standby \S+ is back; reads go to it again$", stack.log, re.MULTILINE)
    assert re.search(r"^register: the read standby \S+ is back; reads go to it again$", stack.log, re.MULTILINE)
    wait_replayed(stack.primary, stack.standby)  # nothing lost: what was written while it was down reaches it
    assert standby_status(stack, kept) == "revoked"
    assert sql(stack.standby, make_url(stack.register_db).database or "",
               "SELECT count(*) FROM register_my_numbers WHERE number = %s", person["my_number"]) == 1
    with paused(stack):  # and the reads are back on the standby
        stack.b.client().revoke("sign", str(later["serial"]), "keyCompromise", cause="another server")
        assert ocsp(stack, stack.a, later) == "good"


@contextmanager
def replication_refused(stack: Stack) -> Iterator[None]:
    """The primary's pg_hba refuses the standby's replication connection and its WAL sender is
    ended: the standby still answers, but receives nothing (until the end)."""
    wait_replayed(stack.primary, stack.standby)
    hba = stack.primary.root / "data" / "pg_hba.conf"
    original = hba.read_text()
    hba.write_text("local replication all reject\n" + original)
    sql(stack.primary, "postgres", "SELECT pg_reload_conf()")
    sql(stack.primary, "postgres", "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_replication")
    try:
        poll(lambda: sql(stack.standby, "postgres", "SELECT count(*) FROM pg_stat_wal_receiver") == 0,
             "the standby's WAL receiver stops")
        yield
    finally:
        hba.write_text(original)
        sql(stack.primary, "postgres", "SELECT pg_reload_conf()")


def test_a_standby_that_stops_replicating_is_bypassed_until_it_streams_again(
        stack: Stack, pool_keys: list[rsa.RSAPrivateKey]) -> None:
    record = issue_sign(stack.a.client(), pool_keys[6])
    assert ocsp(stack, stack.a, record) == "good"
    readyz = f"http://127.0.0.1:{stack.a.port}/readyz"
    with replication_refused(stack):
        stack.b.client().revoke("sign", str(record["serial"]), "keyCompromise", cause="another server")
        # the standby would say good for ever; A checks its WAL receiver and reads the primary
        poll(lambda: ocsp(stack, stack.a, record) == "revoked", "A leaves the standby that stopped replicating")
        assert standby_status(stack, record) == "good"
        poll(lambda: httpx.get(readyz).json()["standbys"]["/ca"]
             == "is not replicating from the primary; reads go to the primary", "/readyz says why")
        assert re.search(r"^ca: the read standby postgresql\+psycopg://postgres:\*\*\*@\S+ is not replicating from "
                         r"the primary; reads go to the primary until it is back$", stack.log, re.MULTILINE)
    poll(lambda: httpx.get(readyz).json()["standbys"] == {"/ca": "answers", "/register": "answers"},
         "the standby streams again")
    wait_replayed(stack.primary, stack.standby)
    assert standby_status(stack, record) == "revoked"
    assert PASSWORD not in stack.log


@pytest.mark.parametrize("on_sqlite", ["ca", "register"])
def test_read_db_with_a_sqlite_primary_is_refused_in_one_sentence_before_anything_is_made(
        tmp_path: Path, postgres_url: Callable[[], str], on_sqlite: str) -> None:
    url = postgres_url()
    primary = ["--register-db", url] if on_sqlite == "ca" else ["--ca-db", url]
    done = subprocess.run([sys.executable, "-m", "mynacard", "serve", "--data", str(tmp_path), "--port", "0",
                           *primary, "--read-db", f"postgresql+psycopg://postgres:{PASSWORD}@/?host=/nonexistent"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"mynacard serve: a read standby (--read-db) needs PostgreSQL primaries, but the {on_sqlite} database is "
        f"SQLite; give --{on_sqlite}-db postgresql+psycopg://… as well"]
    assert PASSWORD not in done.stdout + done.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tokens.json"]  # no keys, no SQLite file
    with psycopg.connect(make_url(url).render_as_string(hide_password=False).replace("+psycopg", "")) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)


def test_each_service_reads_its_own_database_on_the_standby_unless_the_url_names_one(tmp_path: Path) -> None:
    primaries = {"ca": "postgresql+psycopg://w@primary/ca_db", "register": "postgresql+psycopg://w@primary/reg_db"}
    config = ServiceConfig(tmp_path, database_urls=primaries, read_database_url="postgresql+psycopg://r:pw@standby:5433")
    assert standby_url(config, "ca") == "postgresql+psycopg://r:pw@standby:5433/ca_db"
    assert standby_url(config, "register") == "postgresql+psycopg://r:pw@standby:5433/reg_db"
    shared = ServiceConfig(tmp_path, database_urls=primaries, read_database_url="postgresql+psycopg://r@standby/both")
    assert standby_url(shared, "ca") == "postgresql+psycopg://r@standby/both"
    assert standby_url(ServiceConfig(tmp_path, database_urls=primaries), "ca") is None
    with pytest.raises(ValueError, match=r"^--read-db must be a PostgreSQL URL"):
        standby_url(ServiceConfig(tmp_path, database_urls=primaries, read_database_url="sqlite:///x.db"), "ca")


def test_a_standby_lost_in_the_middle_of_a_read_hands_that_read_to_the_primary(
        postgres_pair: tuple[PostgresServer, PostgresServer], caplog: pytest.LogCaptureFixture) -> None:
    primary, standby = postgres_pair
    engine = make_engine(primary.url("postgres"))
    reads = StandbyReads.open(engine, standby.url("postgres"), "test")

    def in_recovery(connection: Connection) -> bool:
        return bool(connection.execute(text("SELECT pg_is_in_recovery()")).scalar_one())

    def dropped_on_the_standby(connection: Connection) -> str:
        if in_recovery(connection):  # the standby's server ends this very connection
            connection.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return "answered by the primary"

    poll(lambda: sql(standby, "postgres", "SELECT count(*) FROM pg_stat_wal_receiver") == 1, "the standby streams")
    try:
        assert reads.read(in_recovery) is True  # the standby answers reads
        with caplog.at_level(logging.WARNING, logger="mynacard.service.standby"):
            assert reads.read(dropped_on_the_standby) == "answered by the primary"
        assert "test: the read standby postgresql+psycopg://postgres@/postgres" in caplog.text
        assert reads.read(in_recovery) is False  # bypassed until the retry interval has passed
    finally:
        reads.dispose()
        engine.dispose()
