"""The bulk loader writes records the event path can read and change (same tables, same rules)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from stdnum.jp import in_ as stdnum_my_number

from mynacard.codec.resident_code import is_valid
from mynacard.register_stub import bulk, events, numbers, records
from mynacard.register_stub.models import MyNumber, Resident
from mynacard.register_stub.schemas import MoveWithin
from mynacard.register_stub.store import RegisterStore
from mynacard.service.auth import Caller

KEY = bytes(range(32))


def test_bulk_loaded_records_are_whole_and_usable(tmp_path: Path) -> None:
    store = RegisterStore.open(f"sqlite+pysqlite:///{tmp_path / 'r.sqlite3'}")
    rows = [bulk.LoadRow("佐藤", f"{n}郎", date(1970, 1, 1 + n % 28), "1", f"東京都千代田区見本町{n}-1") for n in range(250)]
    assert bulk.load(store, KEY, KEY, "13101", rows, batch=100) == 250
    with store.session() as session:
        codes = list(session.execute(select(Resident.resident_code)).scalars())
        assert len(codes) == 250 and all(is_valid(c) for c in codes)
        held = session.execute(select(MyNumber.number)).scalars().all()
        assert len(set(held)) == 250 and all(stdnum_my_number.is_valid(n) for n in held)
        record = records.record_out(session, codes[7], with_number=True)
        assert record.current.relationship == "世帯主" and record.my_number in held
    with store.session() as session, session.begin():
        done = events.record_event(session, Caller("t", "register-admin"), codes[7], MoveWithin(
            event_date=date(2020, 1, 1), cause="転居届", address="東京都千代田区見本町99-9"))
        assert done.event.version == 2
    with store.session() as session:
        assert session.execute(select(func.count()).select_from(MyNumber)).scalar_one() == 250
        assert numbers.current_number(session, codes[7]) is not None
