"""`mynacard serve --workers 2`: two processes on one port, one leader for the background jobs,
OCSP answers that agree within --ocsp-refresh, metrics summed over both, a clean stop; a killed
leader is succeeded (the register's, and the CA's on SQLite and PostgreSQL) and replaced."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp

from mynacard.ca.client import CaClient

from ca_server import CaServer
from ca_service_helpers import issue_sign
from workers_helpers import REFRESH, job_runs, leaders, sample, scrape, wait_for, workers


def ocsp_request(certificate: x509.Certificate, issuer: x509.Certificate) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA1())
    return builder.build().public_bytes(serialization.Encoding.DER)


def status(http: httpx.Client, url: str, request: bytes) -> ocsp.OCSPCertStatus:
    answer = http.post(url, content=request, headers={"content-type": "application/ocsp-request"})
    return ocsp.load_der_ocsp_response(answer.content).certificate_status


def fresh_status(url: str, request: bytes) -> ocsp.OCSPCertStatus:
    """On a new connection: whichever worker accepts it answers."""
    with httpx.Client() as http:
        return status(http, url, request)


def test_a_revocation_shows_at_once_in_its_worker_and_within_the_refresh_in_the_other(
        two_workers: CaServer, pool_keys: list[rsa.RSAPrivateKey]) -> None:
    server = two_workers
    token = server.tokens["ca-admin"]
    url = f"{server.url}/ocsp/sign"
    with httpx.Client() as http:
        admin = CaClient(server.url, token, http=http)
        record = issue_sign(admin, pool_keys[2])
        issuer = x509.load_pem_x509_certificate(str(admin.cas()[0]["certificate_pem"]).encode())
        request = ocsp_request(x509.load_pem_x509_certificate(str(record["certificate_pem"]).encode()), issuer)
        for _ in range(12):  # both workers sign and cache 'good'
            assert fresh_status(url, request) is ocsp.OCSPCertStatus.GOOD
        admin.revoke("sign", str(record["serial"]), "keyCompromise")
        # The same keep-alive connection, so the worker that revoked: its cache was dropped at once.
        assert status(http, url, request) is ocsp.OCSPCertStatus.REVOKED
    time.sleep(REFRESH + 0.5)
    assert {fresh_status(url, request) for _ in range(12)} == {ocsp.OCSPCertStatus.REVOKED}
    scraped = scrape(server)
    hits = sample(scraped, 'mynacard_ocsp_cache_total{ca="sign",result="hit"}')
    misses = sample(scraped, 'mynacard_ocsp_cache_total{ca="sign",result="miss"}')
    assert hits + misses == 25 and misses >= 3  # one count per answer, summed over both workers
    assert 'route="/ca/ocsp/{path}"' in scraped and 'route="/ca/ocsp/sign' not in scraped  # templates only


def test_one_worker_runs_the_jobs_and_another_takes_over_when_it_dies(two_workers: CaServer) -> None:
    server = two_workers
    assert httpx.get(f"http://127.0.0.1:{server.port}/metrics").status_code == 401
    leader = leaders(server.log, "register")[0]
    assert leader in workers(server)
    assert sample(scrape(server), 'mynacard_leader{service="register"}') == 1
    runs = 'mynacard_background_job_runs_total{job="register-outbox"}'
    before, started = sample(scrape(server), runs), time.monotonic()
    time.sleep(4)
    rounds, elapsed = sample(scrape(server), runs) - before, time.monotonic() - started
    assert 1 <= rounds <= elapsed + 1.5  # one round a second in all, not one per worker

    os.kill(leader, signal.SIGKILL)
    wait_for(lambda: len(leaders(server.log, "register")) > 1, "a new leader")
    successor = leaders(server.log, "register")[-1]
    assert successor != leader and successor in workers(server)
    wait_for(lambda: len(workers(server)) == 2, "the dead worker replaced")
    assert sample(scrape(server), 'mynacard_leader{service="register"}') == 1
    before = sample(scrape(server), runs)
    time.sleep(2.5)
    assert sample(scrape(server), runs) > before

    pids = workers(server)
    assert server.process is not None
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(20) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)


@pytest.mark.parametrize("two_workers", ["sqlite", "postgresql"], indirect=True)
def test_a_dead_ca_leader_is_succeeded_and_its_successor_does_the_jobs_at_once(
        two_workers: CaServer, pool_keys: list[rsa.RSAPrivateKey]) -> None:
    server = two_workers
    leader = leaders(server.log, "ca")[0]
    assert leader in workers(server)
    wait_for(lambda: job_runs(server, "ca-crl-remake") == 1, "the leader's first CRLs")
    wait_for(lambda: job_runs(server, "ca-responder-renewal") == 1, "the leader's renewal round at start (one in all)")
    with server.client() as admin:
        serial = str(issue_sign(admin, pool_keys[2])["serial"])

    os.kill(leader, signal.SIGKILL)
    wait_for(lambda: len(leaders(server.log, "ca")) > 1, "a new CA leader")
    successor = leaders(server.log, "ca")[-1]
    assert successor != leader and successor in workers(server)
    # What the dead leader would have done next, its successor does on taking the lead (the dead
    # one's counts stay in the sums): a signer renewal round and CRLs of its own.
    wait_for(lambda: job_runs(server, "ca-responder-renewal") == 2, "the successor's renewal round")
    wait_for(lambda: job_runs(server, "ca-crl-remake") == 2, "the successor's CRLs")
    wait_for(lambda: len(workers(server)) == 2, "the dead worker replaced")  # by uvicorn's supervisor
    assert sample(scrape(server), 'mynacard_leader{service="ca"}') == 1

    with server.client() as admin:  # the jobs go on in the successor: a revocation is in its next CRL
        admin.revoke("sign", serial, "keyCompromise")
    wait_for(lambda: job_runs(server, "ca-crl-remake") >= 3, "the successor's CRLs after a revocation")
    assert job_runs(server, "ca-responder-renewal") == 2  # the replacement follows: no round of its own
    assert leaders(server.log, "ca") == [leader, successor]
