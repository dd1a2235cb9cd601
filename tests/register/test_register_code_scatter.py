"""住民票コード show neither their pool nor their order (jpki-system.md §4.2): the pools' virtual
bases go through a permutation keyed by the register's own secret, so two fresh registers start
at different codes and one register's consecutive codes have no common step."""

from __future__ import annotations

import sqlite3
import statistics
import stat
from pathlib import Path

import pytest

from mynacard.codec import resident_code
from mynacard.main import main
from mynacard.register_stub import numbers
from mynacard.register_stub.code_permutation import scatter, unscatter
from mynacard.register_stub.store import RegisterStore, code_key

ROWS = "family_name,given_name,birth_date,sex,address\n見本,一郎,1970-01-01,1,東京都千代田区見本町1-1\n"


def load_one(data: Path, rows: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """`mynacard register load` of one row into the register of `data`; the code it was given."""
    status = main(["register", "load", str(rows), "--municipality-code", "13101", "--data", str(data)])
    assert status == 0, capsys.readouterr().err
    capsys.readouterr()
    with sqlite3.connect(data / "register.sqlite3") as db:
        return str(db.execute("SELECT resident_code FROM register_residents").fetchone()[0])


def test_two_fresh_registers_hand_out_different_first_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            open_umask: None) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text(ROWS, encoding="utf-8")
    first, second = (load_one(tmp_path / name, rows, capsys) for name in ("a", "b"))
    assert first != second and resident_code.is_valid(first) and resident_code.is_valid(second)
    for name in ("a", "b"):
        assert stat.S_IMODE((tmp_path / name / "register-code-key").stat().st_mode) == 0o600


def test_consecutive_codes_are_unique_valid_and_show_no_order(tmp_path: Path) -> None:
    store = RegisterStore.open(f"sqlite+pysqlite:///{tmp_path / 'register.sqlite3'}")
    try:
        with store.transaction() as session:
            codes = numbers.next_codes(session, code_key(tmp_path, store), "13101", 10_000)
    finally:
        store.dispose()
    assert len(set(codes)) == 10_000 and all(resident_code.is_valid(c) for c in codes)
    bases = [int(c[:10]) for c in codes]
    steps = [b - a for a, b in zip(bases, bases[1:], strict=False)]
    assert len(set(steps)) > 9_900  # no common step (a fixed affine map keeps one or two)
    assert 0.45 < sum(s > 0 for s in steps) / len(steps) < 0.55  # up as often as down
    assert statistics.median(abs(s) for s in steps) > 10**9  # neighbours land far apart


def test_the_permutation_is_a_bijection_that_depends_on_the_key() -> None:
    key, other = bytes(range(32)), bytes(32)
    for virtual in (0, 1, 2_000_000_000, 9_999_999_999, 1_234_567_890):
        assert unscatter(key, scatter(key, virtual)) == virtual
        assert 0 <= scatter(key, virtual) < numbers.CODE_SPACE
    assert [scatter(key, v) for v in range(5)] != [scatter(other, v) for v in range(5)]


def test_a_register_that_cut_pools_without_a_key_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Its codes came from the old fixed bijection; a key made now could give out one of them again."""
    rows = tmp_path / "rows.csv"
    rows.write_text(ROWS, encoding="utf-8")
    load_one(tmp_path / "data", rows, capsys)
    (tmp_path / "data" / "register-code-key").unlink()
    assert main(["register", "load", str(rows), "--municipality-code", "13101", "--data", str(tmp_path / "data")]) == 1
    err = capsys.readouterr().err
    assert "register-code-key" in err and err.count("\n") == 1
    assert not (tmp_path / "data" / "register-code-key").exists()
