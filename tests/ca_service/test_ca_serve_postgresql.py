"""`mynacard serve --ca-db postgresql+psycopg://…`: the same service on PostgreSQL, judged by openssl."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from ca_server import CaServer, seed_responder_keys
from ca_service_helpers import issue_sign, write_pem


def test_serve_on_postgresql(tmp_path: Path, postgres_url: Callable[[], str],
                             pool_keys: list[rsa.RSAPrivateKey]) -> None:
    data = tmp_path / "data"
    seed_responder_keys(data, pool_keys[:2])
    url = postgres_url()
    server = CaServer(data, extra_args=["--ca-db", url]).start()
    try:
        admin = server.client()
        record = issue_sign(admin, pool_keys[2])
        admin.revoke("sign", str(record["serial"]), "cessationOfOperation", cause="death (register event 3)")
        root = write_pem(tmp_path / "root.pem", str(admin.cas()[0]["certificate_pem"]))
        cert = write_pem(tmp_path / "cert.pem", str(record["certificate_pem"]))
        answer = subprocess.run(["openssl", "ocsp", "-issuer", str(root), "-cert", str(cert), "-url",
                                 f"{server.url}/ocsp/sign", "-CAfile", str(root)], capture_output=True, text=True)
        assert "Response verify OK" in answer.stdout + answer.stderr
        assert "revoked" in answer.stdout and "Reason: cessationOfOperation" in answer.stdout
        assert not (data / "ca.sqlite3").exists()  # everything went to PostgreSQL
    finally:
        server.stop()
