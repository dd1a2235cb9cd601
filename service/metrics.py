"""Prometheus metrics of `mynacard serve`: `GET /metrics`, summed over every worker process.

Requests are counted and timed per route *template* (`/register/v1/residents/{code}`), never
per raw path: an OCSP GET path holds the request, a register path a 住民票コード, and a label per
path would also grow without bound. OCSP pre-signed cache hits and misses are counted per CA;
gauges that are facts of a database (the register's outbox depth) are read from it at scrape time
by the worker that answers the scrape, so they are right whichever worker that is.

With `--workers N` each worker writes its samples to files in PROMETHEUS_MULTIPROC_DIR (a private
temporary directory the supervisor makes and removes), and a scrape sums them
(prometheus-client's multiprocess mode). A gauge of "who leads" is summed over live processes
only: files of processes that died are dropped at scrape time.

`/metrics` needs `Authorization: Bearer <the "metrics" token of DATA/tokens.json>`: the figures
hold no personal data, but they show the office's load and backlog, and every other endpoint of
the back office that is not public PKI data authenticates its caller too.
"""

from __future__ import annotations

import hmac
import os
import re
import time
from collections.abc import Callable, Iterable, MutableMapping
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from mynacard.service.fast_paths import Asgi, Receive, Scope, Send, bearer

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
METRICS_TOKEN = "metrics"
#: Latency buckets from 0.5 ms: the register lookup's target is a p99 under 2 ms.
BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "unmatched"

REQUESTS = Counter("mynacard_http_requests", "HTTP requests answered, per route template", ["method", "route", "status"])
LATENCY = Histogram("mynacard_http_request_duration_seconds", "Time to answer, per route template",
                    ["method", "route"], buckets=BUCKETS)
OCSP_CACHE = Counter("mynacard_ocsp_cache", "OCSP requests answered from the pre-signed cache (hit) or signed (miss)",
                     ["ca", "result"])
LEADER = Gauge("mynacard_leader", "1 in the process that runs a service's background jobs", ["service"],
               multiprocess_mode="livesum")
JOB_RUNS = Counter("mynacard_background_job_runs", "Rounds of a background job run (by the leading process)", ["job"])

#: What a service adds to a scrape: metric families read at scrape time (e.g. from its database).
MetricSource = Callable[[], Iterable[Metric]]


class _Sources:
    """A collector over the mounted services' scrape-time sources."""

    def __init__(self, sources: list[MetricSource]) -> None:
        self.sources = sources

    def collect(self) -> Iterable[Metric]:
        for source in self.sources:
            yield from source()


class MetricsMiddleware:
    """Times and counts every HTTP request by route template; answers `GET /metrics`."""

    def __init__(self, app: Asgi, fast_paths: Iterable[str], fast_routes: Iterable[tuple[str, str]],
                 sources: list[MetricSource], token: str | None) -> None:
        self.app = app
        # A fast route is an exact path: its own template (the one the framework's route has).
        self.routes = frozenset(fast_routes)
        # A fast path's whole subtree is one template (its tail is data, e.g. an OCSP request).
        self.fast = sorted(((prefix, prefix + "/{path}") for prefix in fast_paths), key=lambda item: -len(item[0]))
        self.sources = _Sources(sources)
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == "/metrics":
            await self._scrape(scope, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = self._template(scope)
            method = scope["method"]
            LATENCY.labels(method, route).observe(time.perf_counter() - start)
            REQUESTS.labels(method, route, str(status)).inc()

    def _template(self, scope: Scope) -> str:
        path: str = scope["path"]
        if (scope["method"], path) in self.routes:
            return path
        for prefix, template in self.fast:
            if path.startswith(prefix + "/"):
                return template
        route = scope.get("route")
        route_path = getattr(route, "path", None)
        if not isinstance(route_path, str) or type(route).__name__ == "Mount":
            return UNMATCHED
        return str(scope.get("root_path", "")) + route_path

    async def _scrape(self, scope: Scope, send: Send) -> None:
        if self.token is None or not _bearer_matches(scope, self.token):
            body = (b'{"error": "unauthorized", "detail": "GET /metrics needs Authorization: Bearer with the '
                    b'metrics token of the server\'s tokens.json."}')
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]})
            await send({"type": "http.response.body", "body": body})
            return
        body = generate_latest(scrape_registry(self.sources))
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", CONTENT_TYPE_LATEST.encode()),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _bearer_matches(scope: Scope, token: str) -> bool:
    presented = bearer(scope)
    return presented is not None and hmac.compare_digest(presented.encode(), token.encode())


def scrape_registry(sources: _Sources) -> CollectorRegistry:
    """This process's registry, or in multiprocess mode every live worker's samples summed."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        registry = CollectorRegistry()
        registry.register(_Registered())
    else:
        forget_dead_processes(Path(directory))
        registry = CollectorRegistry()
        MultiProcessCollector(registry, directory)
    registry.register(sources)
    return registry


class _Registered:
    """The process's own metrics (the default registry), for the single-process scrape."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


PID_FILE = re.compile(r"_(\d+)\.db$")


def forget_dead_processes(directory: Path) -> None:
    """Drop the live-only gauge files of workers that died (the supervisor replaced them);
    their counters stay, so totals never go backwards."""
    pids = {int(match.group(1)) for path in directory.glob("gauge_live*.db") if (match := PID_FILE.search(path.name))}
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            mark_process_dead(pid, str(directory))
        except PermissionError:  # alive, someone else's (not ours to judge)
            pass
