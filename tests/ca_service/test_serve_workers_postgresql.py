"""`mynacard serve --workers 2` on PostgreSQL (the CA and the register each on a database of the
session's server), judged over HTTP: both workers answer, each service has one leader (an
advisory lock) whose jobs run once, and what one worker writes the other reads at once."""

from __future__ import annotations

from contextlib import closing

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.ca.client import CaClient

from ca_server import CaServer
from ca_service_helpers import issue_sign
from workers_helpers import client_of_another_worker, job_runs, leaders, sample, scrape, wait_for, worker_serving, workers

pytestmark = pytest.mark.parametrize("two_workers", ["postgresql"], indirect=True)

PURPOSE = {"purpose": "workers test"}
BIRTH = {"kind": "birth", "event_date": "2020-05-01", "cause": "出生届", "municipality_code": "13101",
         "resident": {"family_name": "見本", "given_name": "二郎", "birth_date": "2020-05-01", "sex": "1",
                      "address": "東京都千代田区見本町1-2-3"}}


def test_both_workers_answer_and_each_service_has_one_leader(two_workers: CaServer) -> None:
    server = two_workers
    pids = workers(server)
    answered: set[int] = set()
    for _ in range(200):  # the kernel gives each new connection to whichever worker accepts first
        with httpx.Client() as http:
            answered.add(worker_serving(server, http))
        if answered == pids:
            break
    assert answered == pids
    scraped = scrape(server)
    for service in ("ca", "register"):
        assert sample(scraped, f'mynacard_leader{{service="{service}"}}') == 1  # summed over both workers
        assert len(leaders(server.log, service)) == 1 and leaders(server.log, service)[0] in pids
    wait_for(lambda: job_runs(server, "ca-responder-renewal") == 1, "the CA leader's renewal round at start (one in all)")


def test_a_write_on_one_worker_is_read_on_the_other_and_the_leader_remakes_the_crl_once(
        two_workers: CaServer, pool_keys: list[rsa.RSAPrivateKey]) -> None:
    server = two_workers
    tokens = server.tokens
    register = f"http://127.0.0.1:{server.port}/register"
    staff = {"Authorization": f"Bearer {tokens['register-admin']}"}
    ca_leader = leaders(server.log, "ca")[0]
    wait_for(lambda: job_runs(server, "ca-crl-remake") == 1, "the CA leader's first CRLs")
    with closing(client_of_another_worker(server, ca_leader)) as on_follower:
        follower = worker_serving(server, on_follower)
        ca = CaClient(server.url, tokens["ca-admin"], http=on_follower)
        record = issue_sign(ca, pool_keys[2])
        serial = str(record["serial"])
        born = on_follower.post(f"{register}/v1/residents", json=BIRTH, headers=staff)
        assert born.status_code == 201, born.text
        assert worker_serving(server, on_follower) == follower  # both writes went to the follower

        with closing(client_of_another_worker(server, follower)) as on_leader:
            assert worker_serving(server, on_leader) == ca_leader
            read = CaClient(server.url, tokens["ca-admin"], http=on_leader).get("sign", serial)
            assert read["certificate_pem"] == record["certificate_pem"] and read["status"] == "good"
            resident = on_leader.get(f"{register}/v1/residents/{born.json()['resident_code']}", params=PURPOSE,
                                     headers=staff)
            assert resident.status_code == 200, resident.text
            assert resident.json()["my_number"] == born.json()["my_number"]

            # Revoked in the follower, which makes no CRL in the background: the leader learns of
            # the change from the database and remakes its CRLs, in one round.
            ca.revoke("sign", serial, "keyCompromise")
            wait_for(lambda: job_runs(server, "ca-crl-remake") == 2, "the leader's CRLs after the revocation")
            for http in (on_leader, on_follower):  # each worker's CRL lists it (the follower's made on demand)
                crl = x509.load_der_x509_crl(http.get(f"{server.url}/crl/sign.crl").content)
                assert int(serial, 16) in {entry.serial_number for entry in crl}
            assert worker_serving(server, on_leader) == ca_leader and worker_serving(server, on_follower) == follower
    assert job_runs(server, "ca-crl-remake") == 2  # once: the follower ran no round of its own
