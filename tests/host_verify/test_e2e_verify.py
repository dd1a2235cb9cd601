"""The clerk check, `sign` and `verify` through a real PC/SC stack: pyscard → pcscd → vpcd → the
emulated demo card (the emulator plugin's `reader_card`; these tests are marked e2e)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from host_verify_cards import flip_at, tamper, write_image
from mynacard.host.card import MyNumberCard
from mynacard.host.clerk import ApplicationForm, ClerkSecrets, run_clerk_check
from mynacard.host.transport import open_transport
from mynacard.host.trust import default_trust, roots_directory
from mynacard.main import main


@pytest.fixture
def env(monkeypatch):
    for name in ("MYNACARD_CODE_B", "MYNACARD_CODE_A", "MYNACARD_TEXT_PIN", "MYNACARD_SIGN_PASSWORD",
                 "MYNACARD_TRUST_TEST_AUTHORITY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    return monkeypatch


def test_clerk_check_through_pcscd(reader_name, demo):
    with MyNumberCard(open_transport(f"pcsc:{reader_name}")) as card:
        card.detect()
        report = run_clerk_check(card, ApplicationForm.from_mapping(demo.application),
                                 ClerkSecrets(code_b=demo.code_b, text_pin=demo.text_pin),
                                 trust=default_trust(trust_test_authority=True))
    assert report.passed, report.render()
    assert report.check("presence.visual").status.value == "passed"
    assert report.card == reader_name


def test_cli_check_sign_verify_through_pcscd(env, reader_name, demo, tmp_path, capsys):
    env.setenv("MYNACARD_CODE_B", demo.code_b)
    env.setenv("MYNACARD_TEXT_PIN", demo.text_pin)
    application = tmp_path / "application.json"
    application.write_text(json.dumps(demo.application, ensure_ascii=False), encoding="utf-8")
    check = ["card", "check", "--reader", reader_name, "--application", str(application), "--json"]
    assert main(check) == 1  # fail closed: the demo card chains to the test authority
    report = json.loads(capsys.readouterr().out)
    assert report["result"] == "failed" and report["untrusted"] == ["test"]
    assert "JPKI-TEST (mynacard)" in report["notice"] and "--trust-test-authority" in report["notice"]
    assert main([*check, "--trust-test-authority"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["result"] == "passed" and report["test_authority_trusted"] is True

    env.setenv("MYNACARD_SIGN_PASSWORD", demo.sign_password)
    document = tmp_path / "doc.pdf"
    document.write_bytes(b"%PDF-1.4 not really\n" * 20)
    assert main(["card", "sign", str(document), "--reader", reader_name, "--trust-test-authority"]) == 0
    assert main(["card", "verify", str(document), str(tmp_path / "doc.pdf.p7s"), "--trust-test-authority"]) == 0
    assert main(["card", "verify", str(document), str(tmp_path / "doc.pdf.p7s")]) == 1
    if shutil.which("openssl"):
        result = subprocess.run(
            ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(tmp_path / "doc.pdf.p7s"),
             "-content", str(document), "-CAfile", str(roots_directory() / "sign-test-mynacard.pem"),
             "-purpose", "any", "-out", "/dev/null"], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


class TestTamperedCardInTheReader:
    """The reader's card is a tampered copy: `card_dir` (which `reader_card` inserts) is overridden."""

    @pytest.fixture
    def card_dir(self, demo_image, tmp_path):
        ef = demo_image.applications["visual"].files[0x0002]
        index = ef.index(b"jP  ") + 200  # inside the JPEG 2000 photo (DF27)
        return write_image(tamper(demo_image, "visual", 0x0002, flip_at(index)), tmp_path / "tampered")

    def test_check_names_the_card_face_signature(self, env, reader_card, demo, tmp_path, capsys):
        env.setenv("MYNACARD_CODE_B", demo.code_b)
        application = tmp_path / "application.json"
        application.write_text(json.dumps(demo.application, ensure_ascii=False), encoding="utf-8")
        status = main(["card", "check", "--reader", reader_card.reader, "--application", str(application), "--json",
                       "--trust-test-authority"])
        report = json.loads(capsys.readouterr().out)
        assert status == 1
        assert "signatures.card_face" in report["failed"]
