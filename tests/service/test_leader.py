"""Leader election for the background jobs: one holder at a time, the next one takes over as
soon as the holder lets go (or dies), on SQLite's flock and on PostgreSQL's advisory lock."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from mynacard.register_stub.centre.sessions import SessionTable
from mynacard.register_stub.centre.store import prepare
from mynacard.register_stub.store import RegisterStore
from mynacard.service.config import ServiceConfig, sqlite_url
from mynacard.service.db import make_engine
from mynacard.service.errors import ApiError
from mynacard.service.leader import Leadership


def test_one_flock_holder_until_it_lets_go(tmp_path: Path) -> None:
    first = Leadership("register", make_engine(sqlite_url(tmp_path, "a")), tmp_path)
    second = Leadership("register", make_engine(sqlite_url(tmp_path, "a")), tmp_path)
    other_service = Leadership("ca", make_engine(sqlite_url(tmp_path, "b")), tmp_path)
    assert first.held() and first.held()
    assert not second.held()
    assert other_service.held()  # each service elects its own leader
    first.release()
    assert second.held() and not first.held()


def test_one_advisory_lock_holder_and_a_lost_session_is_a_lost_lead(postgres_url: Callable[[], str]) -> None:
    url = postgres_url()
    first, second = (Leadership("ca", make_engine(url), Path("/nonexistent")) for _ in range(2))
    assert first.held()
    assert not second.held()
    with first.engine.connect() as admin:  # the database server ends the leader's session
        ended = admin.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_locks "
                                   "WHERE locktype = 'advisory' AND pid <> pg_backend_pid()")).scalar()
        admin.commit()
    assert ended == 1
    assert second.held()
    assert not first.held()  # it notices its session is gone and does not claim the lead
    second.release()
    assert first.held()


def test_a_challenge_made_in_one_process_is_taken_in_another(tmp_path: Path) -> None:
    config = ServiceConfig(data_dir=tmp_path)
    one, two = (prepare(RegisterStore.open(config.database_url("register")), config) for _ in range(2))
    made, taker = SessionTable(one), SessionTable(two)
    challenge_id, _value = made.new_challenge("kiosk-1")
    assert len(taker.take_challenge("kiosk-1", challenge_id)) == 32
    opened = taker.open("kiosk-1", "12345678901", "1A")
    assert made.get("kiosk-1", opened.session_id).resident_code == "12345678901"
    with pytest.raises(ApiError):  # another kiosk may not use it
        taker.get("kiosk-2", opened.session_id)
    made.end("kiosk-1", opened.session_id)
    with pytest.raises(ApiError):
        taker.get("kiosk-1", opened.session_id)
    with pytest.raises(ApiError):  # taken once
        taker.take_challenge("kiosk-1", challenge_id)
