"""kill -9 during a burst of issuances and revocations: after a restart every acknowledged
operation is there, none is half-applied (status and audit trail agree), and the next CRL and the
OCSP answers agree with the store."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp

from mynacard.ca.client import CaServiceError

from ca_server import CaServer, seed_responder_keys
from ca_service_helpers import issue_sign

LAST_ACTION_STATUS = {"issue": "good", "revoke": "revoked", "hold": "hold", "release": "good"}


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_kill_9_during_a_burst(database: str, tmp_path: Path, pool_keys: list[rsa.RSAPrivateKey],
                               request: pytest.FixtureRequest) -> None:
    data = tmp_path / "data"
    seed_responder_keys(data, pool_keys[:2])
    extra = [] if database == "sqlite" else ["--ca-db", request.getfixturevalue("postgres_url")()]
    server = CaServer(data, extra_args=extra).start()
    issued: set[str] = set()
    revoked: set[str] = set()
    lock = threading.Lock()
    enough = threading.Event()

    def worker(index: int) -> None:
        client = server.client()
        previous = None
        try:
            while True:
                serial = str(issue_sign(client, pool_keys[2 + index])["serial"])
                with lock:
                    issued.add(serial)
                if previous is not None:
                    client.revoke("sign", previous, "superseded")
                    with lock:
                        revoked.add(previous)
                previous = serial
                if len(issued) >= 30:
                    enough.set()
        except CaServiceError:
            return  # the server died under us: this operation was never acknowledged

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(4)]
    for thread in threads:
        thread.start()
    assert enough.wait(60), "the burst did not get going"
    server.kill()
    for thread in threads:
        thread.join(30)

    server = CaServer(data, extra_args=extra).start()
    try:
        admin = server.client()
        stored = {str(r["serial"]): r for r in admin.list("sign", limit=1000)}
        assert issued <= stored.keys()
        for serial in revoked:
            assert stored[serial]["status"] == "revoked"
        for serial, record in stored.items():
            events = admin.events("sign", serial)
            assert events[0]["action"] == "issue"
            assert LAST_ACTION_STATUS[str(events[-1]["action"])] == record["status"]

        crl = x509.load_der_x509_crl(httpx.get(f"{server.url}/crl/sign.crl").content)
        on_crl = {f"{entry.serial_number:X}" for entry in crl}
        assert on_crl == {serial for serial, record in stored.items() if record["status"] == "revoked"}

        root = x509.load_pem_x509_certificate(str(admin.cas()[0]["certificate_pem"]).encode())
        with httpx.Client() as http:
            for serial, record in stored.items():
                certificate = x509.load_pem_x509_certificate(str(record["certificate_pem"]).encode())
                request = ocsp.OCSPRequestBuilder().add_certificate(certificate, root, hashes.SHA1()).build()
                body = request.public_bytes(serialization.Encoding.DER)
                answer = ocsp.load_der_ocsp_response(http.post(f"{server.url}/ocsp/sign", content=body).content)
                expected = ocsp.OCSPCertStatus.REVOKED if serial in on_crl else ocsp.OCSPCertStatus.GOOD
                assert answer.certificate_status is expected, serial
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MYNACARD_CA_TOKEN", raising=False)


