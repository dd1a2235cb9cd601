"""Delivering the outbox: revocations (and holds, releases) to the CA service, retried until done.

An event commits its outbox rows with it (`events.py`); this worker reads due rows, calls the CA
service outside any database transaction, then records the round's answers in one transaction. The CA's revoke is
idempotent (a second revoke returns the first record), so a row delivered twice — after a crash
between the call and the update, or by two workers — does no harm.

A failed call is retried with exponential backoff (2 s, 4 s, … capped at 5 min). Rows stay
`pending` while retrying and become `failed` when the CA refuses them outright (a 4xx other than
408/425/429: an unknown serial, a release of a revoked certificate); both show in
`mynacard register outbox` and `GET /register/v1/outbox` with their attempts and last error,
and `retry` puts a failed row back in the queue. Nothing is ever dropped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy import func, select

from mynacard.ca.client import CaServiceError
from mynacard.register_stub.errors_api import Conflict, NotFound
from mynacard.register_stub.models import Revocation
from mynacard.register_stub.store import RegisterStore
from mynacard.service.metrics import JOB_RUNS, MetricSource

log = logging.getLogger(__name__)

BACKOFF_START = timedelta(seconds=2)
BACKOFF_MAX = timedelta(minutes=5)
BATCH = 100
#: Answers that will not change by asking again: the row fails and waits for an operator.
PERMANENT_STATUSES = frozenset(range(400, 500)) - {408, 425, 429}


class CertificateChanger(Protocol):
    """What the worker needs of `mynacard.ca.client.CaClient`."""

    def revoke(self, ca: str, serial: str, reason: str, cause: str | None = None) -> dict[str, object]: ...

    def hold(self, ca: str, serial: str, cause: str | None = None) -> dict[str, object]: ...

    def release(self, ca: str, serial: str, cause: str | None = None) -> dict[str, object]: ...

    def get(self, ca: str, serial: str) -> dict[str, object]: ...


@dataclass(frozen=True)
class Delivery:
    delivered: int
    retrying: int
    failed: int


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF_START * (1 << min(max(attempts - 1, 0), 16)), BACKOFF_MAX)


#: What a hold or release wants the certificate to be; a refusal (409) because it already is —
#: a release sent twice after a crash, a hold on a certificate revoked since — is success.
SATISFIED = {"hold": ("hold", "revoked"), "release": ("good",)}


def _send(client: CertificateChanger, row: Revocation) -> None:
    cause = f"register event {row.event_id}"
    if row.action == "revoke":  # idempotent at the CA
        client.revoke(row.ca, row.serial, row.reason or "unspecified", cause)
        return
    try:
        if row.action == "hold":
            client.hold(row.ca, row.serial, cause)
        else:
            client.release(row.ca, row.serial, cause)
    except CaServiceError as exc:
        if exc.status != 409 or client.get(row.ca, row.serial).get("status") not in SATISFIED[row.action]:
            raise


def deliver_due(store: RegisterStore, client: CertificateChanger, now: datetime | None = None) -> Delivery:
    """Send every row that is due now, oldest first; returns what happened."""
    now = now or datetime.now(UTC)
    with store.reader() as session:
        rows = list(session.execute(
            select(Revocation).where(Revocation.status == "pending", Revocation.next_attempt_at <= now)
            .order_by(Revocation.id).limit(BATCH)
        ).scalars())
    if not rows:  # the worker asks every second: no empty write transaction (nor a standby LSN note) then
        return Delivery(0, 0, 0)
    answers: list[tuple[int, CaServiceError | None]] = []
    for row in rows:
        try:
            _send(client, row)
        except CaServiceError as exc:
            answers.append((row.id, exc))
        else:
            answers.append((row.id, None))
    delivered = retrying = failed = 0
    # One transaction (one durable commit) records the whole round; a crash before it only means
    # the round is sent again, which the CA's idempotent revoke absorbs.
    with store.transaction() as session:
        for row_id, error in answers:
            current = session.get(Revocation, row_id)
            if current is None or current.status != "pending":
                continue
            current.attempts += 1
            if error is None:
                current.status, current.delivered_at, current.last_error = "delivered", datetime.now(UTC), None
                delivered += 1
            elif error.status in PERMANENT_STATUSES:
                current.status, current.last_error = "failed", error.detail
                failed += 1
            else:
                current.last_error = error.detail
                current.next_attempt_at = datetime.now(UTC) + backoff(current.attempts)
                retrying += 1
    return Delivery(delivered, retrying, failed)


def retry(store: RegisterStore, row_id: int) -> Revocation:
    """Queue a failed (or backing-off) row for delivery now."""
    with store.transaction() as session:
        row = session.get(Revocation, row_id)
        if row is None:
            raise NotFound(f"outbox entry {row_id} does not exist")
        if row.status == "delivered":
            raise Conflict(f"outbox entry {row_id} has already been delivered")
        row.status, row.next_attempt_at = "pending", datetime.now(UTC)
        return row


def depth_metrics(store: RegisterStore) -> MetricSource:
    """The outbox's rows not yet delivered, by status, read at scrape time (`mynacard_register_outbox_depth`)."""

    def collect() -> list[Metric]:
        family = GaugeMetricFamily("mynacard_register_outbox_depth",
                                   "Outbox rows not delivered to the CA service yet, by status", labels=["status"])
        with store.reader() as session:
            counts = dict(session.execute(select(Revocation.status, func.count()).where(
                Revocation.status != "delivered").group_by(Revocation.status)).tuples().all())
        for status in ("pending", "failed"):
            family.add_metric([status], counts.get(status, 0))
        return [family]

    return collect


class OutboxWorker:
    """A daemon thread that delivers due rows every `interval` seconds until stopped, in the one
    process that `leads()` (delivering twice is harmless, see above, but wasteful)."""

    def __init__(self, store: RegisterStore, client: Callable[[], CertificateChanger], interval: float = 1.0,
                 leads: Callable[[], bool] = lambda: True) -> None:
        self.store = store
        self.client = client
        self.leads = leads
        self.interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="register-outbox", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Deliver now (called after an event committed revocations)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.leads():
                    JOB_RUNS.labels("register-outbox").inc()
                    deliver_due(self.store, self.client())
            except Exception:
                log.exception("register outbox: delivery round failed; the rows stay queued")
            self._wake.wait(self.interval)
            self._wake.clear()
