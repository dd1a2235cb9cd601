"""Bulk load of residents into the register (issue 10; target: 1,000,000 in < 60 s on SQLite and
on PostgreSQL).

Loads --residents generated records (four facts) through `register_stub.bulk.load`: 住民票コード
from the municipality's pools, My Numbers through the uniqueness table, a household and the first
住民票 version each. Prints records/s, and the ratio against a baseline measured in the same run:
the same number of version rows written by the same driver bulk interface into a scratch table
with no index, no code, no number (the floor any load has to pay).

Run: .venv/bin/python bench/bench_register_load.py [--residents 1000000] [--db URL]
     (default: a fresh SQLite file in a temporary directory)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from mynacard.register_stub import bulk
from mynacard.register_stub.bulk_sql import write
from mynacard.register_stub.store import RegisterStore

FAMILY = ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤")
GIVEN = ("太郎", "花子", "一郎", "陽子", "健", "美咲", "翔", "結衣", "大輔", "愛")


def rows(count: int) -> Iterator[bulk.LoadRow]:
    start = date(1930, 1, 1)
    for n in range(count):
        yield bulk.LoadRow(FAMILY[n % 10], GIVEN[(n // 10) % 10], start + timedelta(days=n % 30000), "12"[n % 2],
                           f"東京都千代田区見本町{n % 9 + 1}-{n % 50 + 1}-{n % 30 + 1}")


def baseline(store: RegisterStore, count: int) -> float:
    """The same rows, bulk-written into a scratch table without indexes."""
    columns = bulk.VERSION_COLUMNS
    with store.engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE TEMPORARY TABLE bench_scratch ({', '.join(c + ' TEXT' for c in columns)})")
    t = time.perf_counter()
    for chunk in bulk.chunks(rows(count), bulk.BATCH):
        with store.engine.begin() as connection:
            write(connection, "bench_scratch", columns, [
                (f"{i:011d}", "1", "2026-01-01", str(r.birth_date), r.family_name, r.given_name, str(r.birth_date),
                 r.sex, str(i), "世帯主", str(r.birth_date), r.address, str(r.birth_date), "{}")
                for i, r in enumerate(chunk)])
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--db", help="SQLAlchemy URL (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.db or f"sqlite+pysqlite:///{Path(folder) / 'register.sqlite3'}"
        store = RegisterStore.open(url)
        key = bytes(range(32))
        t = time.perf_counter()
        loaded = bulk.load(store, key, key, "13101", rows(args.residents),
                           progress=lambda n: print(f"  {n:,} loaded", flush=True) if n % 200_000 == 0 else None)
        load_s = time.perf_counter() - t
        base_s = baseline(store, args.residents)
        store.dispose()
    backend = url.split(":", 1)[0]
    print(f"bulk load ({backend}): {loaded:,} residents in {load_s:.1f} s = {loaded / load_s:,.0f} residents/s")
    print(f"baseline (the version rows alone, no index): {base_s:.1f} s; ratio {load_s / base_s:.1f}")


if __name__ == "__main__":
    main()
