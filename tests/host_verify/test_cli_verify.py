"""`mynacard card check | sign | verify` end to end through the CLI, in-process (`--card DIR`;
`card_dir` is the emulator plugin's fresh copy of the demo card)."""

from __future__ import annotations

import json
import stat
import shutil
import subprocess

import pytest

from host_verify_cards import flip_at, tamper, write_image
from mynacard.host.trust import roots_directory
from mynacard.main import main

SECRET_ENV = ("MYNACARD_CODE_B", "MYNACARD_CODE_A", "MYNACARD_TEXT_PIN", "MYNACARD_SIGN_PASSWORD",
              "MYNACARD_TRUST_TEST_AUTHORITY")
TEST = "--trust-test-authority"  # the demo card chains to the test authority (fail closed without)


@pytest.fixture
def env(monkeypatch, demo):
    for name in SECRET_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)  # no prompts in tests
    return monkeypatch


@pytest.fixture
def application(demo, tmp_path):
    path = tmp_path / "application.json"
    path.write_text(json.dumps({"format": "mynacard-application-form", "version": 1,
                                **{("birth_date" if k == "birth" else k): v for k, v in demo.application.items()}},
                               ensure_ascii=False), encoding="utf-8")
    return path


def test_check_passes_and_saves_the_photo(env, demo, card_dir, application, tmp_path, capsys, open_umask):
    env.setenv("MYNACARD_CODE_B", demo.code_b)
    env.setenv("MYNACARD_TEXT_PIN", demo.text_pin)
    env.setenv("MYNACARD_TRUST_TEST_AUTHORITY", "1")  # the environment's opt-in
    photo = tmp_path / "face.png"
    status = main(["card", "check", "--card", str(card_dir), "--application", str(application),
                   "--photo", str(photo), "--json"])
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert status == 0 and report["result"] == "passed", out.out
    assert report["test_authority_trusted"] is True and report["notice"].startswith("TEST AUTHORITY TRUSTED")
    assert report["photo"] == str(photo) and photo.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert stat.S_IMODE(photo.stat().st_mode) == 0o600  # the holder's face: private from creation
    assert report["chip"]["my_number"] == "********" + demo.code_a[-4:]
    assert demo.code_a not in out.out + out.err and demo.code_b not in out.out + out.err


def test_check_names_the_failing_check_of_a_tampered_card(env, demo, demo_image, application, tmp_path, capsys):
    ef = demo_image.applications["text"].files[0x0002]
    card_dir = write_image(tamper(demo_image, "text", 0x0002, flip_at(ef.index("花子".encode()))), tmp_path / "bad")
    env.setenv("MYNACARD_CODE_B", demo.code_b)
    status = main(["card", "check", "--card", str(card_dir), "--application", str(application), TEST])
    out = capsys.readouterr().out
    assert status == 1
    assert out.splitlines()[2].startswith("TEST AUTHORITY TRUSTED: the mynacard TEST authority")
    assert "FAIL  integrity record (EF 0003)" in out
    assert "Result: FAILED — signatures.text_integrity, application.name" in out


def test_check_options_override_the_file(env, demo, card_dir, application, capsys):
    env.setenv("MYNACARD_CODE_B", demo.code_b)
    status = main(["card", "check", "--card", str(card_dir), "--application", str(application),
                   "--name", "見本 太郎", "--json", TEST])
    report = json.loads(capsys.readouterr().out)
    assert status == 1 and report["failed"] == ["application.name"]


def test_check_needs_an_application_and_a_code(env, card_dir, application, capsys):
    assert main(["card", "check", "--card", str(card_dir)]) == 2
    assert "give the application" in capsys.readouterr().err
    assert main(["card", "check", "--card", str(card_dir), "--application", str(application)]) == 2
    assert "MYNACARD_CODE_B" in capsys.readouterr().err


def test_check_refuses_a_malformed_code_before_touching_the_card(env, card_dir, application, capsys):
    env.setenv("MYNACARD_CODE_B", "1234")
    assert main(["card", "check", "--card", str(card_dir), "--application", str(application)]) == 1
    err = capsys.readouterr().err
    assert "14 digits" in err and "nothing was sent" in err and "1234" not in err


def test_sign_then_verify_then_openssl(env, demo, card_dir, tmp_path, capsys):
    document = tmp_path / "申請書.txt"
    document.write_bytes("転入届\n".encode() * 50)
    env.setenv("MYNACARD_SIGN_PASSWORD", demo.sign_password)
    assert main(["card", "sign", str(document), "--card", str(card_dir), TEST]) == 0
    signature = tmp_path / "申請書.txt.p7s"
    out = capsys.readouterr()
    assert signature.exists() and demo.sign_password not in out.out + out.err
    assert "TEST AUTHORITY TRUSTED" in out.err
    assert main(["card", "verify", str(document), str(signature), TEST]) == 0
    out = capsys.readouterr().out
    assert out.startswith("TEST AUTHORITY TRUSTED") and "VALID: signed by 見本　花子" in out
    if shutil.which("openssl"):
        result = subprocess.run(
            ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(signature),
             "-content", str(document), "-CAfile", str(roots_directory() / "sign-test-mynacard.pem"),
             "-purpose", "any", "-out", "/dev/null"], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    document.write_bytes(document.read_bytes() + b"!")
    assert main(["card", "verify", str(document), str(signature), "--json", TEST]) == 1
    assert "message digest differs" in json.loads(capsys.readouterr().out)["reason"]


def test_sign_and_verify_refuse_the_test_authority_by_default(env, demo, card_dir, tmp_path, capsys):
    document = tmp_path / "doc"
    document.write_bytes(b"x")
    env.setenv("MYNACARD_SIGN_PASSWORD", demo.sign_password)
    assert main(["card", "sign", str(document), "--card", str(card_dir)]) == 1
    err = capsys.readouterr().err
    assert "not signing" in err and "JPKI-TEST (mynacard)" in err and TEST in err
    assert not (tmp_path / "doc.p7s").exists()
    assert main(["card", "sign", str(document), "--card", str(card_dir), "--out", str(tmp_path / "sig"), TEST]) == 0
    capsys.readouterr()
    assert main(["card", "verify", str(document), str(tmp_path / "sig")]) == 1
    out = capsys.readouterr().out
    assert out.startswith("INVALID:") and "chains to the mynacard TEST authority (JPKI-TEST (mynacard))" in out
    assert main(["card", "verify", str(document), str(tmp_path / "sig"), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["valid"] is False and result["test_authority_trusted"] is False and result["notice"] is None


def test_sign_refuses_a_tampered_signing_certificate(env, demo, demo_image, tmp_path, capsys):
    der = demo_image.applications["jpki"].files[0x0001]
    card_dir = write_image(tamper(demo_image, "jpki", 0x0001, flip_at(len(der) // 2)), tmp_path / "bad")
    document = tmp_path / "doc"
    document.write_bytes(b"x")
    env.setenv("MYNACARD_SIGN_PASSWORD", demo.sign_password)
    assert main(["card", "sign", str(document), "--card", str(card_dir), TEST]) == 1
    assert "not signing" in capsys.readouterr().err
    assert not (tmp_path / "doc.p7s").exists()


def test_verify_detects_a_certificate_swapped_inside_the_signature(env, demo, card_dir, tmp_path, capsys):
    document = tmp_path / "doc"
    document.write_bytes(b"payload")
    env.setenv("MYNACARD_SIGN_PASSWORD", demo.sign_password)
    assert main(["card", "sign", str(document), "--card", str(card_dir), TEST]) == 0
    capsys.readouterr()
    signature = tmp_path / "doc.p7s"
    data = signature.read_bytes()
    index = data.index("見本".encode())  # inside the signer certificate's SAN
    signature.write_bytes(data[:index] + "手本".encode() + data[index + 6:])
    assert main(["card", "verify", str(document), str(signature), TEST]) == 1
    assert "INVALID" in capsys.readouterr().out


def test_check_of_the_demo_card_fails_closed_without_the_opt_in(env, demo, card_dir, application, capsys):
    """Issue 8 defect 2: a card of the test authority (whose private keys ship with mynacard) is not
    a genuine card; the report says so in its first line and tells how to opt in."""
    env.setenv("MYNACARD_CODE_B", demo.code_b)
    env.setenv("MYNACARD_TEXT_PIN", demo.text_pin)
    status = main(["card", "check", "--card", str(card_dir), "--application", str(application)])
    out = capsys.readouterr().out
    assert status == 1
    notice = out.splitlines()[2]
    assert notice == ("UNTRUSTED: this card chains to the mynacard TEST authority (JPKI-TEST (mynacard)), whose "
                      "private keys are public, so it is not a genuine My Number Card and fails this check (to "
                      "check a test card on purpose, add --trust-test-authority or set "
                      "MYNACARD_TRUST_TEST_AUTHORITY=1).")
    assert "Result: FAILED — signatures.visual_cv, signatures.text_cv, certificates.auth" in out
    assert "Result: PASSED" not in out
    env.setenv("MYNACARD_TRUST_TEST_AUTHORITY", "0")
    assert main(["card", "check", "--card", str(card_dir), "--application", str(application), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["notice"] == notice and report["untrusted"] == ["test"] and report["result"] == "failed"
    env.setenv("MYNACARD_TRUST_TEST_AUTHORITY", "perhaps")
    assert main(["card", "check", "--card", str(card_dir), "--application", str(application)]) == 2
    assert "MYNACARD_TRUST_TEST_AUTHORITY must be 1" in capsys.readouterr().err


@pytest.fixture(scope="module")
def forged_card_image(demo):
    """The demo person's card, issued by a freshly generated authority (neither J-LIS nor the test
    authority) that copies the test authority's names and CV key IDs. Keys come from the session
    cache of host_verify_pki (no generation per test)."""
    from host_verify_pki import key
    from mynacard.ca.authority import Authority
    from mynacard.ca.keys import KeyPool
    from mynacard.register_stub.person import DEMO_CARD_EXPIRY, DEMO_PERSON, DEMO_PINS, DEMO_SECURITY_CODE, CardDetails
    from mynacard.register_stub.personalise import personalise

    pool = KeyPool([key(name) for name in ("sign-ee", "auth-ee", "text-ap", "card", "visual-issuer", "cv-root")])
    forger = Authority.generate(key_source=pool)
    details = CardDetails(DEMO_CARD_EXPIRY, DEMO_SECURITY_CODE)
    return personalise(DEMO_PERSON, details, DEMO_PINS, authority=forger, key_source=pool).image


@pytest.mark.parametrize("opt_in", [False, True], ids=["default", "trust-test-authority"])
def test_a_card_of_another_authority_fails_with_and_without_the_opt_in(env, demo, forged_card_image, application,
                                                                        tmp_path, capsys, opt_in):
    card_dir = write_image(forged_card_image, tmp_path / "forged")
    env.setenv("MYNACARD_CODE_B", demo.code_b)
    env.setenv("MYNACARD_TEXT_PIN", demo.text_pin)
    status = main(["card", "check", "--card", str(card_dir), "--application", str(application), "--json"]
                  + ([TEST] if opt_in else []))
    report = json.loads(capsys.readouterr().out)
    assert status == 1 and report["result"] == "failed"
    assert {"signatures.visual_cv", "signatures.text_cv", "certificates.auth"} <= set(report["failed"])
    assert report["untrusted"] == []  # its certificates verify with no anchor mynacard knows
    reasons = {c["id"]: c["reason"] for c in report["checks"]}
    if opt_in:  # same key IDs and names as the test authority, other keys: the signatures fail
        assert "does not verify" in reasons["signatures.visual_cv"]
        assert "no pinned user authentication (利用者証明用) root with that name verifies" in reasons["certificates.auth"]
    else:  # nothing mynacard trusts has those key IDs or names
        assert "not a pinned CV root" in reasons["signatures.visual_cv"]
        assert "not issued by any pinned user authentication" in reasons["certificates.auth"]
