"""Helpers of the `mynacard serve --workers N` tests: start one, find its worker processes, the
leader of each service (from its stderr line), the worker at the other end of a connection (from
/proc: nothing in the server reports it), and the summed metrics."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from ca_server import CaServer, seed_responder_keys

LEADS = re.compile(r"process (\d+) runs the (\w+) background jobs")
#: --ocsp-refresh of the servers these tests start, seconds
REFRESH = 2
#: A bound for things that take a few seconds (a successor, a worker replaced): generous, never a speed test.
DEADLINE = 30.0


def start_workers(data: Path, pool_keys: list[rsa.RSAPrivateKey], databases: list[str]) -> CaServer:
    """`serve --workers 2` (`databases`: e.g. `--ca-db URL`), once both workers run and each service has a leader."""
    seed_responder_keys(data, pool_keys[:2])
    server = CaServer(data, extra_args=["--workers", "2", "--ocsp-refresh", str(REFRESH), *databases]).start(timeout=60)
    wait_for(lambda: len(workers(server)) == 2 and leaders(server.log, "register") and leaders(server.log, "ca"),
             "two workers and a leader of each service")
    return server


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def workers(server: CaServer) -> set[int]:
    """The supervisor's worker processes (not multiprocessing's resource tracker)."""
    assert server.process is not None
    alive = set()
    for pid in children(server.process.pid):
        try:
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                alive.add(pid)
        except OSError:  # it ended meanwhile
            continue
    return alive


def leaders(log: Path, service: str) -> list[int]:
    """The processes that took the lead of `service`, in order."""
    return [int(pid) for pid, name in LEADS.findall(log.read_text(errors="replace")) if name == service]


def worker_serving(server: CaServer, http: httpx.Client) -> int:
    """The worker at the other end of `http`'s connection (made now if it has none, then kept alive:
    the next requests on `http` within uvicorn's keep-alive go to the same worker)."""
    answer = http.get(f"http://127.0.0.1:{server.port}/healthz")
    assert answer.status_code == 200, answer.text
    client_port = answer.extensions["network_stream"].get_extra_info("client_addr")[1]
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(address.split(":")[1], 16) for address in fields[1:3])
        if local == server.port and remote == client_port and fields[9] != "0":  # 0: a closed one's TIME_WAIT
            inode = fields[9]
    assert inode is not None, "the server end of the connection is not in /proc/net/tcp"
    for pid in workers(server):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    raise AssertionError("no worker holds the server end of the connection")


def client_of_another_worker(server: CaServer, than: int, tries: int = 200) -> httpx.Client:
    """A client whose connection a worker other than `than` accepted (the kernel picks one per connection)."""
    for _ in range(tries):
        http = httpx.Client(timeout=30)
        if worker_serving(server, http) != than:
            return http
        http.close()
    raise AssertionError(f"all {tries} new connections went to worker {than}")


def scrape(server: CaServer) -> str:
    answer = httpx.get(f"http://127.0.0.1:{server.port}/metrics",
                       headers={"Authorization": f"Bearer {server.tokens['metrics']}"})
    assert answer.status_code == 200, answer.text
    return answer.text


def sample(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} not in the scrape"
    return float(match.group(1))


def job_runs(server: CaServer, job: str) -> float:
    """Rounds of background job `job` run so far, summed over every worker (dead ones too)."""
    text = scrape(server)
    name = f'mynacard_background_job_runs_total{{job="{job}"}}'
    return sample(text, name) if name in text else 0.0


def wait_for(condition: Callable[[], object], what: str, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
