"""Everything one running register service holds: database, number and code keys, CA client, outbox worker."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import httpx
from cryptography import x509

from mynacard.ca.client import CaClient, CaServiceError
from mynacard.ca.keys import KeySource
from mynacard.register_stub.errors_api import Upstream
from mynacard.register_stub.events import lapse_overdue
from mynacard.register_stub.outbox import OutboxWorker
from mynacard.register_stub.schemas import today_in_japan
from mynacard.register_stub.store import RegisterStore, code_key, number_key
from mynacard.service.auth import Caller
from mynacard.service.config import ServiceConfig
from mynacard.service.leader import LEADER_POLL, Leadership
from mynacard.service.metrics import JOB_RUNS
from mynacard.service.standby import standby_url

log = logging.getLogger(__name__)

CA_TOKEN = "register->ca"
OUTBOX_INTERVAL = 1.0
#: How often the running service lapses cards whose §2.1 move deadline passed.
SWEEP_INTERVAL = 3600.0
SWEEPER = Caller("register (deadline check)", "system")


@dataclass
class RegisterRuntime:
    config: ServiceConfig
    store: RegisterStore
    number_key: bytes = field(repr=False)
    #: The key of the 住民票コード permutation (`code_permutation`).
    code_key: bytes = field(repr=False)
    http: httpx.Client
    #: Where card keys come from (None: fresh RSA-2048 per key; tests pass a pool).
    key_source: KeySource | None = None
    worker: OutboxWorker | None = None
    #: whether this process delivers the outbox and sweeps deadlines (one of `serve --workers N` does)
    leader: Leadership | None = None
    _auth_ca: tuple[x509.Certificate, str] | None = None
    _stopped: threading.Event = field(default_factory=threading.Event)
    _sweeps: int = 0

    @classmethod
    def open(cls, config: ServiceConfig, *, key_source: KeySource | None = None, start_worker: bool = True) -> RegisterRuntime:
        store = RegisterStore.open(config.database_url("register"), standby_url(config, "register"))
        runtime = cls(config, store, number_key(config.data_dir), code_key(config.data_dir, store),
                      httpx.Client(timeout=30.0), key_source)
        store.tokens.install(config.tokens, "register")
        if start_worker:
            runtime.leader = Leadership("register", store.engine, config.data_dir)
            runtime.worker = OutboxWorker(store, runtime.ca_client, OUTBOX_INTERVAL, leads=runtime.leader.held)
            runtime.worker.start()
            threading.Thread(target=runtime._sweep_forever, name="register-deadlines", daemon=True).start()
        return runtime

    def sweep(self) -> int:
        """Lapse the cards whose deadline passed (what `POST /v1/deadlines/sweep` does); returns how many."""
        with self.store.transaction() as session:
            lapsed = lapse_overdue(session, SWEEPER, today_in_japan())
        if lapsed:
            self.wake_worker()
        return len(lapsed)

    def _sweep_forever(self) -> None:
        """Sweep when this process starts leading, then every `SWEEP_INTERVAL` while it leads;
        a follower asks every `LEADER_POLL` seconds, so a dead leader's successor sweeps at once."""
        last = float("-inf")
        while not self._stopped.wait(0 if self._sweeps == 0 else LEADER_POLL):
            self._sweeps += 1
            if self.leader is None or not self.leader.held():
                last = float("-inf")
                continue
            if time.monotonic() - last < SWEEP_INTERVAL:
                continue
            last = time.monotonic()
            JOB_RUNS.labels("register-deadline-sweep").inc()
            try:
                self.sweep()
            except Exception:
                log.exception("register: the deadline check failed; it runs again in an hour")

    @property
    def ca_url(self) -> str:
        return self.config.service_url("ca")

    def ca_client(self) -> CaClient:
        return CaClient(self.ca_url, self.config.tokens.get(CA_TOKEN, ""), http=self.http)

    def auth_ca(self) -> tuple[x509.Certificate, str]:
        """The auth CA certificate and its OCSP URL, as the CA service publishes them (cached)."""
        if self._auth_ca is None:
            try:
                entries = self.ca_client().cas()
            except CaServiceError as exc:
                raise Upstream(exc.detail) from None
            for entry in entries:
                if entry.get("id") == "auth":
                    certificate = x509.load_pem_x509_certificate(str(entry["certificate_pem"]).encode())
                    self._auth_ca = (certificate, str(entry["ocsp_url"]))
                    break
            else:
                raise Upstream("the CA service does not serve the user-authentication CA")
        return self._auth_ca

    def wake_worker(self) -> None:
        if self.worker is not None:
            self.worker.wake()

    def close(self) -> None:
        self._stopped.set()
        if self.worker is not None:
            self.worker.stop()
        if self.leader is not None:
            self.leader.release()
        self.http.close()
        self.store.dispose()
