"""End to end: a card issued through the CA service, in the emulator behind pcscd, signs; its
signing certificate is revoked through the API; `mynacard card verify` then fails closed and
names the revocation (jpki-system.md §2.4: status is a separate step, fail closed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.ca.client import CaClient
from mynacard.ca.keys import KeyPool
from mynacard.main import main

from ca_server import CaServer

CARD_SERIAL = "912345678901234"


@pytest.fixture
def card_dir(tmp_path: Path, server: CaServer, pool_keys: list[rsa.RSAPrivateKey],
             monkeypatch: pytest.MonkeyPatch) -> Path:
    """Overrides the emulator plugin's demo card: `card new --ca-url` against the test's server."""
    monkeypatch.setattr("mynacard.ca.keys.generate_rsa_key", KeyPool(pool_keys[2:8]))
    for name in ("MYNACARD_CA_TOKEN", "MYNACARD_SIGN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    directory = tmp_path / "card"
    assert main(["card", "new", str(directory), "--ca-url", server.url, "--ca-data", str(server.data_dir)]) == 0
    return directory


def test_card_from_service_revoked_then_verify_fails_closed(
    card_dir: Path, reader_name: str, server: CaServer, admin: CaClient, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    # The card's certificates were recorded by the service and point at it.
    metadata = json.loads((card_dir / "card.json").read_text(encoding="utf-8"))["metadata"]
    serial = metadata["sign-certificate-serial"]
    record = admin.get("sign", serial)
    assert record["status"] == "good" and record["card_serial"] == metadata["card-serial"]
    certificate = x509.load_pem_x509_certificate(str(record["certificate_pem"]).encode())
    aia = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    ocsp_url = str(aia[0].access_location.value)
    assert ocsp_url == f"{server.url}/ocsp/sign"

    monkeypatch.setenv("MYNACARD_SIGN_PASSWORD", "ABC123")
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    document = tmp_path / "contract.txt"
    document.write_text("契約書\n", encoding="utf-8")
    trust = "--trust-test-authority"  # the service signs with the test authority (opt-in trust)
    assert main(["card", "sign", str(document), "--reader", reader_name, trust]) == 0
    signature = tmp_path / "contract.txt.p7s"
    capsys.readouterr()
    assert main(["card", "verify", str(document), str(signature), "--ocsp", ocsp_url, trust]) == 0
    assert "revocation" in capsys.readouterr().out.lower()

    admin.revoke("sign", serial, "keyCompromise", cause="card reported stolen")

    # `--ocsp aia`: the responder the certificate names (its AIA, checked above).
    assert main(["card", "verify", str(document), str(signature), "--ocsp", "aia", trust]) == 1
    output = capsys.readouterr()
    text = (output.out + output.err).lower()
    assert "revoked" in text and "keycompromise" in text.replace("_", "")
    assert main(["card", "verify", str(document), str(signature), "--crl", f"{server.url}/crl/sign.crl", trust]) == 1
    assert "revoked" in (capsys.readouterr().out.lower())
