"""Everything one running CA service holds: database, tokens, keys, caches.

`CaRuntime.open(config)` migrates the database, loads the CA keys (the test authority unless
`mynacard ca init` made a deployment CA in `DATA/ca/`) and wires the CRL and OCSP publishers to
the status changes. One runtime per process; the HTTP app and tests share it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from mynacard.ca import store_schema
from mynacard.ca.crl import CrlPolicy, CrlPublisher
from mynacard.ca.identity import RESPONDER_RENEW_BEFORE, CaDirectory, PassphraseSource, ask_passphrase
from mynacard.ca.jpki_ca import StatusUrls
from mynacard.ca.keys import KeySource
from mynacard.ca.ocsp_responder import OcspPolicy, OcspResponder
from mynacard.ca.service import CaService
from mynacard.ca.store import CertificateStore
from mynacard.service import migrations
from mynacard.service.auth import TokenStore
from mynacard.service.config import ServiceConfig
from mynacard.service.db import make_engine
from mynacard.service.leader import LEADER_POLL, Leadership
from mynacard.service.metrics import JOB_RUNS
from mynacard.service.standby import StandbyReads, standby_url

log = logging.getLogger(__name__)

VERSION_TABLE = "ca_alembic_version"
#: How often the leading process checks whether the OCSP signers need a new certificate (and the
#: others look for the certificates it renewed); a new leader checks at once.
MAINTENANCE_INTERVAL = timedelta(hours=6)
VERSIONS_DIR = Path(__file__).with_name("migrations") / "versions"


def migrate(engine: Engine) -> None:
    """Bring the CA tables to the newest revision."""
    migrations.upgrade(engine, VERSIONS_DIR, VERSION_TABLE)


@dataclass
class CaRuntime:
    config: ServiceConfig
    engine: Engine
    service: CaService
    tokens: TokenStore
    origin: str
    crls: CrlPublisher
    ocsp: OcspResponder
    #: whether this process runs the CA's scheduled jobs (one of `serve --workers N` does)
    leader: Leadership
    #: the PostgreSQL standby OCSP reads status from (`--read-db`), if any
    standby: StandbyReads | None = None
    _maintenance: threading.Thread | None = field(default=None, repr=False)
    _stopping: threading.Event = field(default_factory=threading.Event, repr=False)

    @classmethod
    def open(
        cls,
        config: ServiceConfig,
        *,
        passphrase: PassphraseSource = ask_passphrase,
        key_source: KeySource | None = None,
        crl_policy: CrlPolicy | None = None,
        ocsp_policy: OcspPolicy | None = None,
    ) -> CaRuntime:
        # Timings first: a refused setting must stop start-up before any key is made.
        crl_policy = crl_policy or CrlPolicy(refresh=timedelta(minutes=config.crl_refresh_minutes))
        ocsp_policy = ocsp_policy or OcspPolicy(validity=timedelta(minutes=config.ocsp_validity_minutes),
                                                refresh=timedelta(seconds=config.ocsp_refresh_seconds))
        read_url = standby_url(config, "ca")  # a refused --read-db stops start-up here too
        engine = make_engine(config.database_url("ca"))
        migrate(engine)
        standby = StandbyReads.open(engine, read_url, "ca") if read_url else None
        directory = CaDirectory(config.data_dir / "ca")

        def status_urls(ca_id: str) -> StatusUrls:
            return status_urls_for(config, ca_id)

        cas = directory.load(status_urls, passphrase, key_source)
        service = CaService(cas, CertificateStore(engine, standby))
        leader = Leadership("ca", engine, config.data_dir)
        return cls(
            config=config,
            engine=engine,
            service=service,
            tokens=TokenStore(engine, store_schema.api_tokens),
            origin=directory.origin(),
            crls=CrlPublisher(service, {ca_id: status_urls(ca_id).crl_url for ca_id in cas}, crl_policy,
                              leads=leader.held),
            ocsp=OcspResponder(service, ocsp_policy),
            leader=leader,
            standby=standby,
        )

    def status_urls(self, ca_id: str) -> StatusUrls:
        return status_urls_for(self.config, ca_id)

    def renew_responders(self, now: datetime | None = None) -> list[str]:
        """Re-certify every OCSP signer with under `RESPONDER_RENEW_BEFORE` left; returns the CA ids.

        Start-up does the same; this keeps a server that runs for months from signing with an
        expired delegate. Pre-signed answers carry the old certificate, so they are dropped.
        """
        moment = now or datetime.now(UTC)
        renewed = []
        directory = CaDirectory(self.config.data_dir / "ca")
        for ca_id, served in list(self.service.cas.items()):
            if served.responder.certificate.not_valid_after_utc - moment > RESPONDER_RENEW_BEFORE:
                continue
            responder = directory.recertify(ca_id, served.certificate, served.ca.private_key, served.responder.key, moment)
            self.service.cas[ca_id] = replace(served, responder=responder)
            renewed.append(ca_id)
        if renewed:
            self.ocsp.forget()
        return renewed

    def adopt_responders(self) -> list[str]:
        """Take up the OCSP signer certificates the leading process renewed (a follower's part of
        `renew_responders`: one process re-certifies, every process signs with the new one)."""
        adopted = []
        directory = CaDirectory(self.config.data_dir / "ca")
        for ca_id, served in list(self.service.cas.items()):
            on_disk = directory.responder_certificate(ca_id)
            if (on_disk is not None and on_disk != served.responder.certificate
                    and on_disk.public_key() == served.responder.key.public_key()
                    and on_disk.not_valid_after_utc > served.responder.certificate.not_valid_after_utc):
                self.service.cas[ca_id] = replace(served, responder=replace(served.responder, certificate=on_disk))
                adopted.append(ca_id)
        if adopted:
            self.ocsp.forget()
        return adopted

    def start_maintenance(self) -> None:
        """Background work of a serving process: CRLs (on change and on schedule), OCSP signer renewal."""
        self.crls.start()
        if self._maintenance is None:
            self._maintenance = threading.Thread(target=self._maintain, name="ca-maintenance", daemon=True)
            self._maintenance.start()

    def _maintain(self) -> None:
        """Renew the OCSP signers when this process starts leading, then every `MAINTENANCE_INTERVAL`
        while it leads (a follower adopts the leader's renewals as often). A follower asks for the
        lead every `LEADER_POLL` seconds, so a dead leader's successor does at once what it missed."""
        leading, last = False, float("-inf")
        delay = 0.0  # the first look at once: the CA has a leader from the start
        while not self._stopping.wait(delay):
            delay = LEADER_POLL
            now_leading = self.leader.held()
            if now_leading != leading:  # the lead changed hands: this process's part is due at once
                leading, last = now_leading, float("-inf")
            if time.monotonic() - last < MAINTENANCE_INTERVAL.total_seconds():
                continue
            last = time.monotonic()
            try:
                if leading:
                    JOB_RUNS.labels("ca-responder-renewal").inc()
                    self.renew_responders()
                else:
                    self.adopt_responders()
            except Exception:
                log.exception("CA: the OCSP signer renewal failed; it runs again in %s", MAINTENANCE_INTERVAL)

    def close(self) -> None:
        self._stopping.set()
        if self._maintenance is not None:
            self._maintenance.join(10)
        self.crls.stop()
        self.leader.release()
        self.engine.dispose()
        if self.standby is not None:
            self.standby.dispose()


def status_urls_for(config: ServiceConfig, ca_id: str) -> StatusUrls:
    base = config.service_url("ca")
    return StatusUrls(ocsp_url=f"{base}/ocsp/{ca_id}", crl_url=f"{base}/crl/{ca_id}.crl")
