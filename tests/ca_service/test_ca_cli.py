"""`mynacard ca …` against a running server, as an administrator uses it (tokens from tokens.json)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from mynacard.ca.client import CaClient, CaServiceError
from mynacard.main import main

from ca_server import CaServer


def ca(server: CaServer, *args: str) -> list[str]:
    return ["ca", *args, "--url", server.url, "--data", str(server.data_dir)]


@pytest.fixture(autouse=True)
def _no_token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MYNACARD_CA_TOKEN", raising=False)


def csr(key: rsa.RSAPrivateKey, path: Path) -> Path:
    request = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ignored")]))
               .sign(key, hashes.SHA256()))
    path.write_bytes(request.public_bytes(serialization.Encoding.PEM))
    return path


def test_issue_from_csr_then_revoke_hold_release_show_list(server: CaServer, admin: CaClient, tmp_path: Path,
                                                          pool_keys: list[rsa.RSAPrivateKey],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "auth.pem"
    assert main(ca(server, "issue", "auth", "--csr", str(csr(pool_keys[2], tmp_path / "a.csr")),
                   "--birth-date", "1985-04-12", "--prefecture", "Tokyo", "--city", "Kiyose-shi",
                   "--municipality-code", "13221", "--card-expiry", "2034-04-12", "--resident-id", "R-77",
                   "--out", str(out))) == 0
    certificate = x509.load_pem_x509_certificate(out.read_bytes())
    assert certificate.public_key().public_numbers() == pool_keys[2].public_key().public_numbers()
    serial = f"{certificate.serial_number:X}"
    assert f"issued auth certificate {serial}" in capsys.readouterr().err

    assert main(ca(server, "hold", "auth", serial.lower(), "--cause", "lost")) == 0
    assert "hold (certificateHold" in capsys.readouterr().out
    assert main(ca(server, "release", "auth", serial)) == 0
    assert main(ca(server, "revoke", "auth", serial, "--reason", "keyCompromise")) == 0
    assert "revoked (keyCompromise" in capsys.readouterr().out
    assert main(ca(server, "show", "auth", serial)) == 0
    shown = capsys.readouterr().out
    assert "R-77" in shown and [w for w in ("issue", "hold", "release", "revoke") if w in shown] == [
        "issue", "hold", "release", "revoke"]
    assert main(ca(server, "list", "auth", "--status", "revoked")) == 0
    assert serial in capsys.readouterr().out
    assert main(ca(server, "list", "auth", "--limit", "1")) == 0
    first = capsys.readouterr()
    assert serial in first.out and f"more with --after {serial}" in first.err
    assert main(ca(server, "list", "auth", "--limit", "1", "--after", serial)) == 0
    assert capsys.readouterr().out == ""  # the only auth certificate was the one shown

    crl = tmp_path / "auth.crl"
    assert main(ca(server, "crl", "auth", "--new", "--out", str(crl))) == 0
    assert "entries" in capsys.readouterr().out
    assert certificate.serial_number in {e.serial_number for e in x509.load_der_x509_crl(crl.read_bytes())}


def test_backup_and_restore_into_a_new_data_dir(server: CaServer, admin: CaClient, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "backup.tar.gz"
    assert main(ca(server, "backup", "--out", str(archive))) == 0
    assert archive.stat().st_mode & 0o077 == 0
    restored = tmp_path / "restored"
    assert main(["ca", "restore", str(archive), "--data", str(restored)]) == 0
    assert "restored into" in capsys.readouterr().out
    assert main(["ca", "restore", str(archive), "--data", str(restored)]) == 1
    assert "already holds" in capsys.readouterr().err
    copy = CaServer(restored).start()
    try:
        with copy.client() as client:
            assert [r["serial"] for r in client.list("sign")] == [r["serial"] for r in admin.list("sign")]
            assert [r["status"] for r in client.list("auth")] == [r["status"] for r in admin.list("auth")]
    finally:
        copy.stop()


def test_clear_errors_for_missing_token_wrong_role_unknown_serial(server: CaServer, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ca", "list", "sign", "--url", server.url, "--data", str(tmp_path / "none")]) == 1
    assert "no API token" in capsys.readouterr().err
    assert main(ca(server, "backup", "--out", str(tmp_path / "x.tgz"), "--token-name", "register->ca")) == 1
    assert "may not make this call" in capsys.readouterr().err
    assert main(ca(server, "show", "sign", "ABCDEF")) == 1
    assert "no certificate with serial ABCDEF" in capsys.readouterr().err
    assert main(["ca", "list", "sign", "--url", "http://127.0.0.1:9/ca", "--data", str(server.data_dir)]) == 1
    assert "cannot reach" in capsys.readouterr().err


def test_help_teaches() -> None:
    for command in (["ca", "--help"], ["serve", "--help"]):
        done = subprocess.run([sys.executable, "-m", "mynacard", *command], capture_output=True, text=True)
        assert done.returncode == 0 and "examples:" in done.stdout


def test_auditor_token_reads_but_may_not_change(server: CaServer, admin: CaClient,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(ca(server, "token", "audit-desk", "--role", "ca-auditor")) == 0
    token = capsys.readouterr().out.strip()
    with CaClient(server.url, token) as auditor:
        records = auditor.list("sign")
        assert records == admin.list("sign")
        if records:
            with pytest.raises(CaServiceError) as refused:
                auditor.revoke("sign", str(records[0]["serial"]), "keyCompromise")
            assert refused.value.status == 403
        with pytest.raises(CaServiceError) as refused:
            auditor.new_token("x", "ca-admin")
        assert refused.value.status == 403
    assert admin.list("sign") == records  # nothing changed
    assert main(ca(server, "token", "ca-admin", "--role", "ca-auditor")) == 1
    assert "manages" in capsys.readouterr().err
