"""The benchmarks under bench/ still run (with a handful of iterations) and print their figures.

They are not timed here — performance figures belong to the benchmarks themselves, never to
assertions — but a benchmark that no longer runs after a refactor would silently lose them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"

CASES = [
    ("bench_card.py", ["--reads", "200", "--signatures", "5"], ["APDUs/s", "overhead ratio"]),
    ("bench_vpcd.py", ["--rounds", "1", "--reads", "20", "--full-reads", "2"], ["ratio", "full read"]),
    ("bench_host_read.py", ["--rounds", "2"], ["full read", "minimum"]),
    ("bench_sm_read.py", ["--rounds", "2"], ["secure messaging", "ratio SM/plain"]),
    ("bench_host_verify.py", ["--runs", "2"], ["clerk check", "verification alone"]),
    ("bench_conformance.py", ["--rounds", "1"], ["through pcscd", "100.0 %"]),
    ("bench_register_load.py", ["--residents", "300"], ["residents/s", "ratio"]),
    ("bench_register_query.py", ["--residents", "300", "--threads", "2", "--queries", "20", "--http"],
     ["lookup by My Number", "方法2 over HTTP"]),
    ("bench_register_events.py", ["--residents", "5", "--clients", "2"], ["events/s including", "ratio"]),
    ("bench_ca_service.py", ["--certs", "50", "--duration", "1", "--crl", "50", "--issue", "2"],
     ["responses/s", "ratio mynacard / openssl", "through nginx's cache", "first 'revoked' answer",
      "CRL with 50 revoked"]),
    ("bench_trace.py", ["--rounds", "2"], ["host trace", "redaction policy alone"]),
    ("bench_pades.py", ["--runs", "1"], ["PAdES B-B through pcscd", "ratio to CMS", "CMS detached signature"]),
    ("bench_serve.py", ["--residents", "300", "--duration", "1", "--connections", "4", "--databases", "postgresql",
                        "--workers", "2"],
     ["baseline GET /healthz", "lookup by My Number", "方法2 with its access record", "ratio"]),
    ("bench_kiosk.py", ["--kiosks", "3", "--rounds", "1", "--think-scale", "0.05"], ["p99", "ratio p99", "human waits"]),
    ("bench_centre_pdf.py", ["--runs", "1"], ["baseline", "household of six", "ratio"]),
    ("bench_counter_lock.py", ["--rounds", "2"], ["wrong VERIFY", "READ BINARY", "ratio"]),
    ("bench_window.py", ["--runs", "1"], ["insertion → verdict", "window/host ratio", "render 方法2"]),
]


@pytest.mark.e2e
@pytest.mark.parametrize("script, args, expected", CASES, ids=[c[0] for c in CASES])
def test_benchmark_runs_and_prints_its_figures(script: str, args: list[str], expected: list[str]) -> None:
    done = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    for text in expected:
        assert text in done.stdout, done.stdout[-2000:]
