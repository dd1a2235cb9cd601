"""住民票コード pools and My Number generation (jpki-system.md §4.1–§4.3), checked by an
independent implementation (python-stdnum's `jp.in_`) and by the database itself."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from stdnum.jp import in_ as stdnum_my_number

from mynacard.codec import resident_code
from mynacard.codec.errors import CodecError
from mynacard.register_stub import numbers
from mynacard.register_stub.code_permutation import unscatter
from mynacard.register_stub.models import CodePool, MyNumber, NumberCollision
from mynacard.register_stub.store import RegisterStore, number_key

KEY = bytes(range(32))


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RegisterStore]:
    """The register store on SQLite and on the session's real PostgreSQL server."""
    if request.param == "sqlite":
        url = f"sqlite+pysqlite:///{tmp_path / 'register.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")()
    opened = RegisterStore.open(url)
    yield opened
    opened.dispose()


def test_resident_code_check_digit_matches_the_public_sample() -> None:
    """§4.2: base 2472705960 → sum 179, R = 3, check digit 8."""
    assert resident_code.check_digit("2472705960") == 8
    assert resident_code.make(2472705960) == "24727059608"
    assert resident_code.is_valid("24727059608") and not resident_code.is_valid("24727059607")
    with pytest.raises(CodecError) as caught:
        resident_code.validate("2472705960X")
    assert "2472705960" not in str(caught.value)


def test_100000_generated_my_numbers_pass_stdnum_with_no_duplicate(store: RegisterStore) -> None:
    with store.session() as session, session.begin():
        codes = numbers.next_codes(session, KEY, "13101", 100_000)
        issued = numbers.issue_numbers(session, KEY, codes)
    assert len(set(codes)) == 100_000 and all(resident_code.is_valid(c) for c in codes)
    values = list(issued.values())
    assert len(values) == 100_000 and len(set(values)) == 100_000
    assert all(stdnum_my_number.is_valid(n) for n in values)
    with store.session() as session:
        assert session.execute(select(func.count()).select_from(MyNumber)).scalar_one() == 100_000


def test_pools_never_overlap_under_concurrent_allocation(store: RegisterStore) -> None:
    municipalities = [f"13{n:03d}" for n in range(101, 109)]
    codes: dict[str, list[str]] = {m: [] for m in municipalities}

    def allocate(municipality: str) -> None:
        for _ in range(5):
            with store.transaction() as session:
                codes[municipality] += numbers.next_codes(session, KEY, municipality, 13, pool_size=7)

    threads = [threading.Thread(target=allocate, args=(m,)) for m in municipalities]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with store.session() as session:
        pools = sorted(session.execute(select(CodePool)).scalars(), key=lambda p: p.first_base)
    assert len(pools) == 8 * 10  # 65 codes per municipality from pools of 7
    for before, after in zip(pools, pools[1:], strict=False):
        assert before.first_base + before.size <= after.first_base
    every = [c for m in municipalities for c in codes[m]]
    assert len(every) == len(set(every)) == 8 * 65
    for m in municipalities:  # each code comes from one of its own municipality's pools
        own = [p for p in pools if p.municipality_code == m]
        for code in codes[m]:
            base = unscatter(KEY, int(code[:10]))
            assert any(p.first_base <= base < p.first_base + p.size for p in own)


def test_a_pool_hands_out_every_code_once_in_scattered_order(store: RegisterStore) -> None:
    with store.session() as session, session.begin():
        pool = numbers.allocate_pool(session, "01100", size=1000)
        issued = numbers.next_codes(session, KEY, "01100", 1000, pool_size=1000)
    bases = [unscatter(KEY, int(c[:10])) for c in issued]
    assert sorted(bases) == list(range(pool.first_base, pool.first_base + 1000))
    assert bases != sorted(bases)
    spread = sorted(int(c[:10]) for c in issued)  # the codes themselves cover the whole space
    assert spread[-1] - spread[0] > 10**9


def test_a_taken_number_is_recorded_as_a_collision_and_the_next_derivation_used(store: RegisterStore) -> None:
    with store.session() as session, session.begin():
        first, second = numbers.next_codes(session, KEY, "13101", 2)
        # someone already holds what derivation 0 of `second` gives (e.g. a retired number)
        session.add(MyNumber(number=numbers.derive(KEY, second, 0), resident_code=first, derivation=9,
                             issued_at=datetime.now(UTC), retired_at=datetime.now(UTC), retired_reason="leaked"))
        session.flush()
        issued = numbers.issue_numbers(session, KEY, [second])[second]
    assert issued == numbers.derive(KEY, second, 1)
    with store.session() as session:
        collision = session.execute(select(NumberCollision)).scalar_one()
        assert (collision.resident_code, collision.derivation) == (second, 0)


def test_replacement_never_reissues_a_retired_number(store: RegisterStore) -> None:
    with store.session() as session, session.begin():
        (code,) = numbers.next_codes(session, KEY, "13101", 1)
        numbers.issue_numbers(session, KEY, [code])
    seen = {numbers.derive(KEY, code, 0)}
    for _ in range(5):
        with store.session() as session, session.begin():
            seen.add(numbers.replace_number(session, KEY, code, "leaked"))
    assert len(seen) == 6
    with store.session() as session:
        held = session.execute(select(MyNumber).where(MyNumber.resident_code == code)).scalars().all()
        assert sum(1 for n in held if n.retired_at is None) == 1 and len(held) == 6


def test_the_derivation_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    key = number_key(tmp_path)
    assert number_key(tmp_path) == key and len(key) == 32
    assert (tmp_path / "register-number-key").stat().st_mode & 0o777 == 0o600
    assert numbers.derive(key, "24727059608", 0) != numbers.derive(bytes(32), "24727059608", 0)


def test_database_errors_never_quote_a_my_number(store: RegisterStore, caplog: pytest.LogCaptureFixture) -> None:
    """A failed statement (e.g. a number issued twice by a race) reaches neither the server log nor
    the answer with its values: SQLAlchemy hides its parameters, and the HTTP layer drops the
    message that PostgreSQL writes the duplicate key into."""
    import json

    import sqlalchemy.exc

    from mynacard.register_stub.http import database_error_response

    with store.transaction() as session:
        (code,) = numbers.next_codes(session, KEY, "13101", 1)
        number = numbers.issue_numbers(session, KEY, [code])[code]
    with pytest.raises(sqlalchemy.exc.IntegrityError) as caught, store.transaction() as session:
        session.add(MyNumber(number=number, resident_code=code, derivation=0, issued_at=datetime.now(UTC)))
        session.flush()
    assert "[SQL parameters hidden" in str(caught.value)
    answer = database_error_response(caught.value)
    assert answer.status_code == 503 and number not in bytes(answer.body).decode()
    assert json.loads(bytes(answer.body))["error"] == "database-error"
    assert number not in caplog.text and "refused" in caplog.text
