"""The register behind `mynacard serve --workers N`, loaded by wrk (issue 16; targets with PostgreSQL
and 2 workers: lookup p99 < 2 ms and ≥ 3,000 lookups/s; 方法2 with its access record p99 < 5 ms).

For each database (SQLite file, PostgreSQL from service/pg_testing.py) it bulk-loads --residents
residents with the register's own loader (`register_stub.bulk.load`, what `mynacard register load`
runs), then for each --workers count starts `mynacard serve` as a process of its own and drives it
with Debian's `wrk` (compiled, in another process; a Lua script rotates through 5,000 residents and
sends the clerk's token in a header):

- max: wrk with --connections connections, closed loop: the throughput ceiling;
- one client: one connection, each request sent when the last was answered — a request's own
  latency through the whole stack, nothing queued behind another;
- at half of it: Debian's wrk has no fixed-rate mode (-R is wrk2's), so each of --paced-connections
  connections pauses before every request (the Lua `delay()` hook) for a random, exponentially
  distributed time — requests arrive as Poisson streams, not in lockstep — whose mean is calibrated
  by one short run so that the rate is about 50 % of the maximum; the rate reached is printed
  beside its p50/p99. Latency is measured from each request's send, as wrk does.

The baseline, measured in the same run on the same server: `GET /healthz` (the same process,
HTTP parser and middleware, no database) — at its own maximum (ratios are route / baseline
throughput), and at each route's half-load arrivals (the same connections and pauses), whose
p50/p99 are what this machine's HTTP stack and scheduler cost a request at that rate without any
work: the floor under the route's latency.

Run: .venv/bin/python bench/bench_serve.py [--residents 1000000] [--duration 10] [--workers 1 2]
     [--databases sqlite postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from bench_register_load import rows
from sqlalchemy import select

from mynacard.register_stub import bulk
from mynacard.register_stub.models import MyNumber, Resident, ResidentVersion
from mynacard.register_stub.store import RegisterStore, code_key, number_key
from mynacard.serve import ensure_tokens
from mynacard.service import pg_testing

SAMPLE = 5000
WRK_SCRIPT = r"""
local bodies, index, pause = {}, 0, 0
local path, token = nil, nil

function init(args)
  path, token = args[1], args[2]
  if args[3] and args[3] ~= "" then
    for line in io.lines(args[3]) do bodies[#bodies + 1] = line end
    index = math.random(#bodies)
  end
  pause = tonumber(args[4] or "0")
end

function delay()
  -- exponential pauses: each connection's requests arrive as a Poisson stream (no lockstep bursts)
  if pause == 0 then return 0 end
  return -math.log(1 - math.random()) * pause
end

function request()
  if #bodies == 0 then return wrk.format("GET", path) end
  index = index % #bodies + 1
  return wrk.format("POST", path, {["Content-Type"] = "application/json",
                                   ["Authorization"] = "Bearer " .. token}, bodies[index])
end

function done(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d %d\n", summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class Run:
    connections: int
    rate: float  # requests/s
    p50_ms: float
    p99_ms: float
    socket_errors: int  # connect/read/write errors and answers slower than wrk's 10 s timeout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wrk(url: str, script: Path, connections: int, duration: float, args: list[str]) -> Run:
    threads = min(2, connections)
    done = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(duration))}s",
                           "--timeout", "10s", "-s", str(script), url, "--", *args],
                          capture_output=True, text=True, timeout=duration + 60)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"bench_serve: wrk failed: {done.stdout[-500:]} {done.stderr[-500:]}")
    requests, micros, refused, socket_errors, p50, p99 = (int(x) for x in line.split()[1:])
    if refused:
        raise SystemExit(f"bench_serve: {refused} answers of {requests} against {url} were not 2xx")
    return Run(connections, requests / (micros / 1e6), p50 / 1000, p99 / 1000, socket_errors)


def half_load(url: str, script: Path, ceiling: float, duration: float, args: list[str],
              connections: int) -> tuple[Run, float]:
    """`connections` connections, each pausing before every request so that together they send about
    half of `ceiling`: a short run with a first guess measures the time a request takes, then the
    mean pause is set from it (rate = connections / (pause + request time)). The run, and the pause."""
    target = ceiling / 2
    guess = connections / target * 1000
    trial = wrk(url, script, connections, min(duration, 3), [*args, f"{guess:.3f}"])
    request_ms = connections / trial.rate * 1000 - guess
    pause = max(0.1, connections / target * 1000 - request_ms)
    return wrk(url, script, connections, duration, [*args, f"{pause:.3f}"]), pause


def load_residents(url: str, data: Path, count: int) -> tuple[list[str], list[str]]:
    """Bulk-load `count` residents; returns JSON bodies for lookup and for 方法2 (5,000 residents)."""
    store = RegisterStore.open(url)
    started = time.perf_counter()
    bulk.load(store, number_key(data), code_key(data, store), "13101", rows(count))
    print(f"  loaded {count:,} residents in {time.perf_counter() - started:.1f} s")
    with store.reader() as session:
        sample = session.execute(
            select(MyNumber.number, ResidentVersion.family_name, ResidentVersion.given_name,
                   ResidentVersion.birth_date, ResidentVersion.sex, ResidentVersion.address)
            .join(Resident, Resident.resident_code == MyNumber.resident_code)
            .join(ResidentVersion, (ResidentVersion.resident_code == Resident.resident_code)
                  & (ResidentVersion.version == Resident.current_version))
            .limit(SAMPLE)
        ).all()
    store.dispose()
    lookups = [json.dumps({"my_number": s.number, "purpose": "bench"}) for s in sample]
    method2 = [json.dumps({"my_number": s.number, "name": f"{s.family_name} {s.given_name}",
                           "birth_date": s.birth_date.isoformat(), "sex": s.sex, "address": s.address,
                           "purpose": "bench"}, ensure_ascii=False) for s in sample]
    return lookups, method2


def serve(data: Path, url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "mynacard", "serve", "--data", str(data), "--port", str(port),
                                "--register-db", url, "--workers", str(workers)],
                               stdout=subprocess.DEVNULL, stderr=(data.parent / "serve.log").open("ab"))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit("bench_serve: mynacard serve did not start; see " + str(data.parent / "serve.log"))
        time.sleep(0.2)
    time.sleep(1.0 if workers > 1 else 0)  # the other workers finish starting
    return process, base


def show(name: str, peak: Run, single: Run, half: Run, baseline: Run, floor: Run) -> None:
    print(f"    {name:<28} max {peak.rate:8,.0f}/s (c={peak.connections}, p50 {peak.p50_ms:.2f} p99 {peak.p99_ms:.2f} ms)"
          f"  ratio {peak.rate / baseline.rate:.2f} of /healthz")
    print(f"    {'':<28} one client ({single.rate:,.0f}/s, {single.rate / peak.rate:.0%} of max): "
          f"p50 {single.p50_ms:.2f} ms, p99 {single.p99_ms:.2f} ms")
    print(f"    {'':<28} at {half.rate / peak.rate:.0%} of max ({half.rate:,.0f}/s, c={half.connections} paced): "
          f"p50 {half.p50_ms:.2f} ms, p99 {half.p99_ms:.2f} ms;  /healthz at the same arrivals ({floor.rate:,.0f}/s): "
          f"p50 {floor.p50_ms:.2f} ms, p99 {floor.p99_ms:.2f} ms"
          + (f"  [{peak.socket_errors + half.socket_errors} socket errors]" if peak.socket_errors + half.socket_errors
             else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections for the maximum")
    parser.add_argument("--paced-connections", type=int, default=8,
                        help="wrk connections at half load, each pausing between its requests")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--databases", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(f"bench_serve: {args.residents:,} residents, wrk {args.duration:g} s per run, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}")
    for database in args.databases:
        with tempfile.TemporaryDirectory(prefix="bench-serve-") as folder:
            data = Path(folder) / "data"
            data.mkdir(mode=0o700)
            postgres = None
            if database == "postgresql":
                binaries = pg_testing.find_binaries()
                if binaries is None:
                    print("  PostgreSQL is not installed: skipped")
                    continue
                postgres = pg_testing.start_server(binaries)
                url = postgres.create_database()
            else:
                url = f"sqlite+pysqlite:///{data / 'register.sqlite3'}"
            try:
                print(f"{database} (PostgreSQL: fsync off, as service/pg_testing.py runs it)" if postgres else database)
                clerk = ensure_tokens(data)["clerk"]
                lookups, method2 = load_residents(url, data, args.residents)
                script = Path(folder) / "register.lua"
                script.write_text(WRK_SCRIPT)
                (Path(folder) / "lookup.jsonl").write_text("\n".join(lookups) + "\n")
                (Path(folder) / "method2.jsonl").write_text("\n".join(method2) + "\n", encoding="utf-8")
                for workers in args.workers:
                    process, base = serve(data, url, workers)
                    try:
                        print(f"  --workers {workers} (load average {os.getloadavg()[0]:.2f})")
                        healthz = wrk(f"{base}/healthz", script, args.connections, args.duration, ["/healthz", ""])
                        print(f"    {'baseline GET /healthz':<28} max {healthz.rate:8,.0f}/s "
                              f"(p50 {healthz.p50_ms:.2f} p99 {healthz.p99_ms:.2f} ms)")
                        for name, path, bodies in (("lookup by My Number", "/register/v1/lookup", "lookup.jsonl"),
                                                   ("方法2 with its access record", "/register/v1/method2",
                                                    "method2.jsonl")):
                            wrk_args = [path, clerk, str(Path(folder) / bodies)]
                            peak = wrk(base + path, script, args.connections, args.duration, wrk_args)
                            single = wrk(base + path, script, 1, args.duration, wrk_args)
                            half, pause = half_load(base + path, script, peak.rate, args.duration, wrk_args,
                                                    args.paced_connections)
                            floor = wrk(f"{base}/healthz", script, args.paced_connections, args.duration,
                                        ["/healthz", "", "", f"{pause:.3f}"])
                            show(name, peak, single, half, healthz, floor)
                    finally:
                        process.terminate()
                        process.wait(30)
            finally:
                if postgres is not None:
                    postgres.stop()


if __name__ == "__main__":
    main()
