"""A deployment CA (`mynacard ca init`): new roots, keys encrypted at rest under a passphrase,
OCSP answers chaining to the new roots and not to the test authority."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.ca.authority import load_test_authority
from mynacard.ca.errors import AuthorityError
from mynacard.ca.identity import CaDirectory
from mynacard.ca.keys import KeyPool

from ca_server import CaServer, seed_responder_keys
from ca_service_helpers import issue_sign, write_pem

PASSPHRASE = "correct horse battery"


@pytest.fixture
def deployment(tmp_path: Path, pool_keys: list[rsa.RSAPrivateKey]) -> Path:
    data = tmp_path / "data"
    CaDirectory(data / "ca").init_deployment(PASSPHRASE.encode(), key_source=KeyPool(pool_keys[2:4]))
    seed_responder_keys(data, pool_keys[:2], PASSPHRASE.encode())
    return data


def test_keys_are_encrypted_and_init_refuses_to_overwrite(deployment: Path,
                                                         pool_keys: list[rsa.RSAPrivateKey]) -> None:
    for name in ("sign-ca.key.pem", "auth-ca.key.pem", "sign-ocsp.key.pem"):
        assert b"BEGIN ENCRYPTED PRIVATE KEY" in (deployment / "ca" / name).read_bytes()
        assert (deployment / "ca" / name).stat().st_mode & 0o077 == 0
    with pytest.raises(AuthorityError, match="already holds"):
        CaDirectory(deployment / "ca").init_deployment(PASSPHRASE.encode(), key_source=KeyPool(pool_keys))
    with pytest.raises(AuthorityError, match="at least 8"):
        CaDirectory(deployment.parent / "other").init_deployment(b"short", key_source=KeyPool(pool_keys))


def test_deployment_ca_serves_with_the_passphrase(deployment: Path, tmp_path: Path,
                                                  pool_keys: list[rsa.RSAPrivateKey]) -> None:
    server = CaServer(deployment, env={"MYNACARD_CA_PASSPHRASE": PASSPHRASE}).start()
    try:
        admin = server.client()
        cas = {str(ca["id"]): ca for ca in admin.cas()}
        assert cas["sign"]["origin"] == "deployment"
        root = x509.load_pem_x509_certificate(str(cas["sign"]["certificate_pem"]).encode())
        assert root != load_test_authority().sign_ca.certificate
        record = issue_sign(admin, pool_keys[4])
        cert = write_pem(tmp_path / "cert.pem", str(record["certificate_pem"]))
        root_file = write_pem(tmp_path / "root.pem", str(cas["sign"]["certificate_pem"]))
        test_root = write_pem(tmp_path / "test-root.pem", load_test_authority().sign_ca.certificate.public_bytes(
            serialization.Encoding.PEM).decode())
        good = subprocess.run(["openssl", "ocsp", "-issuer", str(root_file), "-cert", str(cert), "-url",
                               f"{server.url}/ocsp/sign", "-CAfile", str(root_file)], capture_output=True, text=True)
        assert "Response verify OK" in good.stdout + good.stderr and ": good" in good.stdout
        chained = subprocess.run(["openssl", "verify", "-CAfile", str(test_root), str(cert)], capture_output=True,
                                 text=True)
        assert chained.returncode != 0  # a deployment CA is not the test authority
    finally:
        server.stop()


def test_wrong_or_missing_passphrase_stops_the_server_without_echoing_it(deployment: Path) -> None:
    for env in ({"MYNACARD_CA_PASSPHRASE": "not the passphrase"}, {"MYNACARD_CA_PASSPHRASE": ""}):
        server = CaServer(deployment, env=env)
        with pytest.raises(RuntimeError, match="exited"):
            server.start(timeout=20)
        log = next(deployment.parent.glob(f"serve-{server.port}.log")).read_text()
        assert log.startswith("mynacard serve: ") and ("wrong passphrase" in log or "MYNACARD_CA_PASSPHRASE" in log)
        assert "not the passphrase" not in log and "Traceback" not in log


def test_cli_init_needs_a_passphrase(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "mynacard", "ca", "init", "--data", str(tmp_path / "d")],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 2 and "MYNACARD_CA_PASSPHRASE" in done.stderr
    assert not (tmp_path / "d" / "ca").exists()
