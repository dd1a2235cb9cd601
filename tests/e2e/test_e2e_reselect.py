"""The re-SELECT behaviour (CI §4, §12 `reselect`) seen by a client that re-SELECTs the AP between
VERIFY and use, as the public Python JPKI client PYJ does, through pyscard → pcscd → vpcd. With
`keeps` it gets a signature openssl verifies and the 基本4情報; with `clears` it gets 6982."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from e2e_harness import JPKI, SHA256_DIGEST_INFO, TEXT, Client, demo

DEMO = demo()
SIDES = [{"reselect": "keeps"}, {"reselect": "clears"}]
MESSAGE = b"contract signed by a client that re-SELECTs the JPKI AP"


@pytest.fixture
def client(reader_name):
    c = Client(reader_name)
    yield c
    c.close()


@pytest.mark.parametrize("card_behaviours", SIDES, ids=["keeps", "clears"])
def test_sign_after_reselect(client: Client, card_behaviours: dict[str, str], tmp_path: Path) -> None:
    client.ok(JPKI)
    client.select_ef(0x001B)
    client.ok("00200080", DEMO.sign_password.encode())
    client.select_ef(0x0001)
    certificate = client.read_sized()  # the signing certificate, readable now (CI §6.1)
    client.ok(JPKI)  # PYJ selects the AP again before signing
    client.select_ef(0x001A)
    digest_info = SHA256_DIGEST_INFO + hashlib.sha256(MESSAGE).digest()
    signature, sw = client.send(bytes.fromhex("802A0080") + bytes([len(digest_info)]) + digest_info + b"\x00")
    if card_behaviours["reselect"] == "clears":
        assert (signature, sw) == (b"", 0x6982)
        return
    assert sw == 0x9000 and len(signature) == 256
    (tmp_path / "cert.der").write_bytes(certificate)
    (tmp_path / "message").write_bytes(MESSAGE)
    (tmp_path / "signature").write_bytes(signature)
    pub = subprocess.run(["openssl", "x509", "-inform", "DER", "-in", "cert.der", "-pubkey", "-noout"],
                         cwd=tmp_path, capture_output=True, check=True).stdout
    (tmp_path / "pub.pem").write_bytes(pub)
    verified = subprocess.run(["openssl", "dgst", "-sha256", "-verify", "pub.pem", "-signature", "signature", "message"],
                              cwd=tmp_path, capture_output=True, text=True)
    assert verified.returncode == 0 and "Verified OK" in verified.stdout


@pytest.mark.parametrize("card_behaviours", SIDES, ids=["keeps", "clears"])
def test_read_four_facts_after_reselect(client: Client, card_behaviours: dict[str, str]) -> None:
    client.ok(TEXT)
    client.select_ef(0x0011)
    client.ok("00200080", DEMO.text_pin.encode())
    client.ok(TEXT)  # PYJ selects the AP again before reading
    client.select_ef(0x0002)
    data, sw = client.send("00B0000000")
    if card_behaviours["reselect"] == "clears":
        assert (data, sw) == (b"", 0x6982)
    else:
        assert sw == 0x9000 and DEMO.name.encode("utf-8") in data
