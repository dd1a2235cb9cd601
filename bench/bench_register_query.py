"""Lookup by My Number and 方法2 under concurrent load (issue 10; target p99 < 2 ms).

Loads --residents records (bulk), then runs --threads threads doing --queries each of:
- lookup: which record holds a My Number (a read of the uniqueness table);
- 方法2: My Number + four facts, normalised and compared, with its access record written in the
  same transaction (the audited path the API runs);
- 方法2 over HTTP: the same through the register app served by uvicorn (--http).
Prints p50/p99 latencies and the ratio against a baseline measured in the same run under the same
concurrency: a `SELECT 1` round trip on the same engine.

Run: .venv/bin/python bench/bench_register_query.py [--residents 100000] [--threads 8] [--queries 500]
     [--db URL] [--http]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select, text

from mynacard.register_stub import bulk, method2, numbers
from mynacard.register_stub.models import MyNumber, Resident, ResidentVersion
from mynacard.register_stub.store import RegisterStore, code_key, number_key
from mynacard.service.auth import Caller

CLERK = Caller("bench", "clerk")


def rows(count: int) -> list[bulk.LoadRow]:
    from datetime import date, timedelta

    return [bulk.LoadRow("佐藤", f"太郎{n}", date(1950, 1, 1) + timedelta(days=n % 20000), "1",
                         f"東京都千代田区見本町{n % 9 + 1}-{n % 50 + 1}") for n in range(count)]


def concurrent(threads: int, per_thread: int, call: Callable[[int], None]) -> list[float]:
    """Latencies (seconds) of threads × per_thread calls started together."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    barrier = threading.Barrier(threads)

    def worker(w: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            t = time.perf_counter()
            call(w * per_thread + i)
            latencies[w].append(time.perf_counter() - t)

    pool = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return [x for xs in latencies for x in xs]


def report(name: str, latencies: list[float], base: list[float]) -> None:
    def p(xs: list[float], q: int) -> float:
        return statistics.quantiles(xs, n=100)[q - 1] * 1000

    print(f"{name}: p50 {p(latencies, 50):.2f} ms, p99 {p(latencies, 99):.2f} ms "
          f"(ratio to the SELECT 1 baseline: p50 {p(latencies, 50) / p(base, 50):.1f}, "
          f"p99 {p(latencies, 99) / p(base, 99):.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--queries", type=int, default=500, help="per thread")
    parser.add_argument("--db", help="SQLAlchemy URL (default: SQLite in a temporary directory)")
    parser.add_argument("--http", action="store_true", help="also measure 方法2 through HTTP (uvicorn)")
    parser.add_argument("--switch-interval", type=float, default=0.0005,
                        help="Python's thread switch interval in seconds (default 0.5 ms; Python's own 5 ms "
                        "puts a 5 ms floor under every p99 of concurrent threads)")
    args = parser.parse_args()
    sys.setswitchinterval(args.switch_interval)
    with tempfile.TemporaryDirectory() as folder:
        url = args.db or f"sqlite+pysqlite:///{Path(folder) / 'register.sqlite3'}"
        store = RegisterStore.open(url)
        data = Path(folder)  # the keys of this data dir, which the --http runtime opens again
        bulk.load(store, number_key(data), code_key(data, store), "13101", rows(args.residents))
        with store.reader() as session:
            sample = session.execute(
                select(MyNumber.number, ResidentVersion.family_name, ResidentVersion.given_name,
                       ResidentVersion.birth_date, ResidentVersion.address)
                .join(Resident, Resident.resident_code == MyNumber.resident_code)
                .join(ResidentVersion, (ResidentVersion.resident_code == Resident.resident_code)
                      & (ResidentVersion.version == Resident.current_version))
                .limit(5000)
            ).all()
        queries = [method2.Method2Query(my_number=s.number, name=f"{s.family_name} {s.given_name}",
                                        birth_date=s.birth_date.isoformat(), sex="1", address=s.address,
                                        purpose="bench") for s in sample]
        total = args.threads * args.queries

        def select_one(i: int) -> None:
            with store.reader() as session:
                session.execute(text("SELECT 1"))

        def lookup(i: int) -> None:
            with store.reader() as session:
                numbers.resident_by_number(session, sample[i % len(sample)].number)

        def audited(i: int) -> None:
            method2.query(store, CLERK, queries[i % len(queries)])

        base = concurrent(args.threads, args.queries, select_one)
        print(f"{args.residents:,} residents, {args.threads} threads × {args.queries} queries ({total:,}), "
              f"{url.split(':', 1)[0]}")
        report("baseline SELECT 1", base, base)
        report("lookup by My Number", concurrent(args.threads, args.queries, lookup), base)
        report("方法2 with its access record", concurrent(args.threads, args.queries, audited), base)
        if args.http:
            http_latencies(store, url, folder, args, queries, base)
        store.dispose()


def http_latencies(store: RegisterStore, url: str, folder: str, args: argparse.Namespace,
                   queries: list[method2.Method2Query], base: list[float]) -> None:
    import httpx
    import uvicorn

    from mynacard.register_stub.http import create_app
    from mynacard.register_stub.runtime import RegisterRuntime
    from mynacard.service.auth import new_token
    from mynacard.service.config import ServiceConfig

    tokens = {"clerk": new_token()}
    config = ServiceConfig(data_dir=Path(folder), database_urls={"register": url}, tokens=tokens)
    runtime = RegisterRuntime.open(config, start_worker=False)
    server = uvicorn.Server(uvicorn.Config(create_app(config, runtime), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {tokens['clerk']}"})
               for _ in range(args.threads)]
    bodies = [q.model_dump() for q in queries]

    def over_http(i: int) -> None:
        clients[i // args.queries].post("/v1/method2", json=bodies[i % len(bodies)]).raise_for_status()

    report("方法2 over HTTP", concurrent(args.threads, args.queries, over_http), base)
    server.should_exit = True
    thread.join(10)
    runtime.close()


if __name__ == "__main__":
    main()
