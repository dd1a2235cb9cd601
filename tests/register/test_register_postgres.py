"""The register on PostgreSQL (the session's real server): residents and their versions are
hash-partitioned by 住民票コード, numbers stay unique in their own table, and the HTTP paths —
events with revocations through the CA service, cards, 方法2, bulk load — work as on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import create_engine, text

from mynacard.register_stub import bulk
from mynacard.register_stub.models import RESIDENT_PARTITIONS
from mynacard.service.pg_testing import PostgresServer
from register_server import PURPOSE, Services, birth, event, issue_card, ocsp_status, wait_delivered


@pytest.fixture(scope="module")
def pg_services(tmp_path_factory: pytest.TempPathFactory, register_keys: list[rsa.RSAPrivateKey],
                postgres_server: PostgresServer) -> Iterator[Services]:
    running = Services(tmp_path_factory.mktemp("register-pg") / "data", register_keys,
                       register_db=postgres_server.create_database()).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def pg_admin(pg_services: Services) -> Iterator[httpx.Client]:
    with pg_services.register() as client:
        yield client


def test_residents_and_versions_are_hash_partitioned_by_code(pg_services: Services, pg_admin: httpx.Client) -> None:
    codes = [birth(pg_admin, given=f"分{n}")["resident_code"] for n in range(20)]
    assert pg_services.register_db is not None
    engine = create_engine(pg_services.register_db)
    with engine.connect() as connection:
        for table in ("register_residents", "register_resident_versions"):
            partitions = connection.execute(text(
                "SELECT count(*) FROM pg_inherits WHERE inhparent = CAST(:t AS regclass)"), {"t": table}).scalar_one()
            assert partitions == RESIDENT_PARTITIONS
        used = connection.execute(text(
            "SELECT count(DISTINCT tableoid) FROM register_residents WHERE resident_code = ANY(:codes)"),
            {"codes": codes}).scalar_one()
        assert used > 1  # the records spread over partitions
        kind = connection.execute(text(
            "SELECT relkind FROM pg_class WHERE relname = 'register_my_numbers'")).scalar_one()
        assert kind == "r"  # the uniqueness table is one ordinary table with the number as its key
    engine.dispose()


def test_events_revoke_through_the_ca_on_postgresql(pg_services: Services, pg_admin: httpx.Client,
                                                    tmp_path: Path) -> None:
    created = birth(pg_admin)
    code = created["resident_code"]
    card = issue_card(pg_admin, code)
    moved = event(pg_admin, code, "move-within", address="東京都千代田区見本町3-3")
    wait_delivered(pg_admin, moved["id"])
    assert ocsp_status(pg_services, "sign", card["sign_serial"], tmp_path) == "revoked"
    assert ocsp_status(pg_services, "auth", card["auth_serial"], tmp_path) == "good"
    died = event(pg_admin, code, "death")
    wait_delivered(pg_admin, died["id"])
    assert ocsp_status(pg_services, "auth", card["auth_serial"], tmp_path) == "revoked"
    answer = pg_admin.post("/v1/method2", json={"my_number": created["my_number"], "name": "見本 太郎",
                                                "birth_date": "1980-02-17", "sex": "1",
                                                "address": "千代田区見本町3-3", "purpose": "pg"})
    assert answer.json() == {"result": "no-match", "differs": []}  # the record was deleted by the death


def test_a_half_done_event_leaves_no_trace_on_postgresql(pg_services: Services, pg_admin: httpx.Client) -> None:
    before = pg_admin.get("/v1/outbox", params={"limit": 1000}).json()
    refused = pg_admin.post("/v1/residents", json={
        "kind": "birth", "event_date": "2020-01-01", "cause": "出生届", "municipality_code": "13101",
        "resident": {"family_name": "半", "given_name": "端", "birth_date": "2020-01-01", "sex": "1",
                     "address": "東京都千代田区1", "household_id": 999999, "relationship": "子"}})
    assert refused.status_code == 404
    assert pg_services.register_db is not None
    engine = create_engine(pg_services.register_db)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM register_residents r JOIN register_resident_versions v "
                                       "USING (resident_code) WHERE v.family_name = '半'")).scalar_one() == 0
        numbers = connection.execute(text("SELECT count(*) FROM register_my_numbers")).scalar_one()
        residents = connection.execute(text("SELECT count(*) FROM register_residents")).scalar_one()
        assert numbers == residents
    engine.dispose()
    assert pg_admin.get("/v1/outbox", params={"limit": 1000}).json() == before


def test_bulk_load_on_postgresql(pg_services: Services) -> None:
    assert pg_services.runtime is not None
    rows = [bulk.LoadRow("鈴木", f"{n}子", date(1990, 1, 1), "2", f"東京都千代田区見本町{n}") for n in range(300)]
    assert bulk.load(pg_services.runtime.store, pg_services.runtime.number_key, pg_services.runtime.code_key, "13101", rows,
                     batch=120) == 300
    with pg_services.register() as client:
        created = birth(client, given="後")  # the household serial continues after the bulk ids
        record = client.get(f"/v1/residents/{created['resident_code']}", params=PURPOSE).json()
        assert record["current"]["relationship"] == "世帯主"


def test_pooled_connections_the_server_closed_are_replaced_before_use(
        pg_services: Services, pg_admin: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pooled connections are pinged only after sitting idle (service/db.py); here every one of them
    counts as idle, the server ends them all, and the next lookup and 方法2 still find the record."""
    from mynacard.service import db

    created = birth(pg_admin, given="再接続")
    assert pg_admin.post("/v1/lookup", json={"my_number": created["my_number"], **PURPOSE}).status_code == 200
    monkeypatch.setattr(db, "PING_IDLE_SECONDS", -1.0)
    assert pg_services.register_db is not None
    engine = create_engine(pg_services.register_db)
    with engine.connect() as connection:
        ended = connection.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar_one()
    engine.dispose()
    assert ended > 0
    assert pg_admin.post("/v1/lookup", json={"my_number": created["my_number"], **PURPOSE}).status_code == 200
    answer = pg_admin.post("/v1/method2", json={"my_number": created["my_number"], "name": "見本 再接続",
                                                "birth_date": "1980-02-17", "sex": "1",
                                                "address": "東京都千代田区見本町1-2-3", **PURPOSE})
    assert answer.status_code == 200 and answer.json()["result"] == "match"


def test_a_database_refusal_on_the_event_loop_is_a_503_naming_no_value(
        pg_services: Services, pg_admin: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    """Lookup and 方法2 on the event loop (register_stub/loop_routes.py) answer a failing statement as
    the framework answers any database refusal, log no value of the request, and serve the next one."""
    number = birth(pg_admin, given="障害")["my_number"]
    body = {"my_number": number, **PURPOSE}
    facts = {"name": "見本 障害", "birth_date": "1980-02-17", "sex": "1", "address": "東京都千代田区見本町1-2-3"}
    assert pg_services.register_db is not None
    engine = create_engine(pg_services.register_db)
    with pg_services.register("centre") as centre:
        assert centre.post("/v1/lookup", json=body).status_code == 200
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE register_access_records RENAME TO register_access_records_away"))
        try:
            refused = centre.post("/v1/lookup", json=body)
            compared = pg_admin.post("/v1/method2", json={**body, **facts})
        finally:
            with engine.begin() as connection:
                connection.execute(text("ALTER TABLE register_access_records_away RENAME TO register_access_records"))
        engine.dispose()
        for answer in (refused, compared):
            assert answer.status_code == 503 and answer.json()["error"] == "database-error"
            assert number not in answer.text
        assert number not in caplog.text
        assert centre.post("/v1/lookup", json=body).json()["status"] == "active"
        assert pg_admin.post("/v1/method2", json={**body, **facts}).json()["result"] == "match"
