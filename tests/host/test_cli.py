"""`mynacard card …` commands of host, in-process on the demo card (`--card DIR`)."""

from __future__ import annotations

import io
import json
import stat

import pytest
from cryptography import x509
from PIL import Image

from mynacard.main import main

SECRET_ENV = ("MYNACARD_AUTH_PIN", "MYNACARD_SIGN_PASSWORD", "MYNACARD_TEXT_PIN", "MYNACARD_CODE_A",
              "MYNACARD_CODE_B", "MYNACARD_BIRTH_KEY", "MYNACARD_COMMON_PIN", "MYNACARD_JUKI_PIN",
              "MYNACARD_NEW_PIN")


@pytest.fixture(autouse=True)
def no_secrets_in_env(monkeypatch):
    for name in SECRET_ENV:
        monkeypatch.delenv(name, raising=False)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_status_json(capsys, card_dir) -> None:
    code, out, err = run(capsys, "card", "status", "--card", str(card_dir), "--json")
    assert code == 0, err
    status = json.loads(out)
    assert all(status["applications"].values())
    assert [s["tries_left"] for s in status["secrets"]] == [3, 5, 3, 10, 10, 10, 10, 10, 3, 3]


def test_status_table(capsys, card_dir) -> None:
    code, out, _ = run(capsys, "card", "status", "--card", str(card_dir))
    assert code == 0
    assert "3 of 3 tries left" in out and "5 of 5 tries left" in out and "照合番号B" in out


def test_certs_pem_to_stdout(capsys, card_dir) -> None:
    code, out, _ = run(capsys, "card", "certs", "--card", str(card_dir))
    assert code == 0
    certs = x509.load_pem_x509_certificates(out.encode())
    assert len(certs) == 3  # auth, auth-ca, sign-ca: no password needed


def test_certs_all_as_der(capsys, card_dir, tmp_path, monkeypatch, demo) -> None:
    monkeypatch.setenv("MYNACARD_SIGN_PASSWORD", demo.sign_password)
    out_dir = tmp_path / "certs"
    code, out, err = run(capsys, "card", "certs", "--card", str(card_dir), "--which", "all",
                         "--format", "der", "--out", str(out_dir))
    assert code == 0, err
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == ["auth-ca.der", "auth.der", "sign-ca.der", "sign.der"]
    sign = x509.load_der_x509_certificate((out_dir / "sign.der").read_bytes())
    sign_ca = x509.load_der_x509_certificate((out_dir / "sign-ca.der").read_bytes())
    assert sign.issuer == sign_ca.subject


def test_certs_usage_errors(capsys, card_dir) -> None:
    code, _, err = run(capsys, "card", "certs", "--card", str(card_dir), "--format", "der")
    assert code == 2 and "--out DIR" in err
    code, _, err = run(capsys, "card", "certs", "--card", str(card_dir), "--which", "root")
    assert code == 2 and "root" in err


def test_sign_cert_without_password_or_terminal(capsys, card_dir, tmp_path) -> None:
    """No argv option for secrets; without the variable and a terminal, say which to set."""
    code, _, err = run(capsys, "card", "certs", "--card", str(card_dir), "--which", "sign")
    assert code == 2 and "MYNACARD_SIGN_PASSWORD" in err and "Traceback" not in err


@pytest.mark.parametrize("using, env, has_number, has_facts", [
    ("pin", "MYNACARD_TEXT_PIN", True, True),
    ("code-a", "MYNACARD_CODE_A", True, False),
    ("code-b", "MYNACARD_CODE_B", False, True),
])
def test_read(capsys, card_dir, monkeypatch, demo, using, env, has_number, has_facts) -> None:
    value = {"pin": demo.text_pin, "code-a": demo.my_number, "code-b": demo.code_b}[using]
    monkeypatch.setenv(env, value)
    code, out, err = run(capsys, "card", "read", "--card", str(card_dir), "--with", using)
    assert code == 0, err
    data = json.loads(out)
    assert data["my_number"] == (demo.my_number if has_number else None)
    assert data["name"] == (demo.name if has_facts else None)
    assert data["birth_date"] == (demo.birth_date if has_facts else None)


def test_face_writes_the_files(capsys, card_dir, tmp_path, monkeypatch, demo) -> None:
    monkeypatch.setenv("MYNACARD_CODE_B", demo.code_b)
    out_dir = tmp_path / "face"
    code, out, err = run(capsys, "card", "face", "--card", str(card_dir), "--out", str(out_dir))
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "address.png", "face.json", "name.png", "photo.jp2", "photo.png", "security-code.png"]
    with Image.open(out_dir / "photo.png") as png:
        assert png.format == "PNG"
    assert json.loads((out_dir / "face.json").read_text())["birth_date"] == demo.birth_date


def test_files_with_personal_data_are_created_private(capsys, card_dir, tmp_path, monkeypatch, demo,
                                                     open_umask) -> None:
    """The photo, the name and address images, the facts read and the certificates (the signing
    one names the holder) are 0600 from creation, and a file they replace becomes 0600 too."""
    monkeypatch.setenv("MYNACARD_CODE_B", demo.code_b)
    monkeypatch.setenv("MYNACARD_TEXT_PIN", demo.text_pin)
    monkeypatch.setenv("MYNACARD_SIGN_PASSWORD", demo.sign_password)
    facts = tmp_path / "facts.json"
    facts.write_text("{}")
    assert run(capsys, "card", "face", "--card", str(card_dir), "--out", str(tmp_path / "face"))[0] == 0
    assert run(capsys, "card", "read", "--card", str(card_dir), "--with", "pin", "--out", str(facts))[0] == 0
    assert run(capsys, "card", "certs", "--card", str(card_dir), "--which", "all", "--format", "der",
               "--out", str(tmp_path / "certs"))[0] == 0
    written = [*(tmp_path / "face").iterdir(), facts, *(tmp_path / "certs").iterdir()]
    assert len(written) == 11 and json.loads(facts.read_text())["my_number"] == demo.my_number
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in written} == {p.name: "0o600" for p in written}


def test_pin_change(capsys, card_dir, monkeypatch, demo) -> None:
    monkeypatch.setenv("MYNACARD_AUTH_PIN", demo.auth_pin)
    monkeypatch.setenv("MYNACARD_NEW_PIN", "2468")
    code, out, err = run(capsys, "card", "pin", "change", "auth", "--card", str(card_dir))
    assert code == 0 and "changed" in out, err
    monkeypatch.setenv("MYNACARD_AUTH_PIN", "2468")
    monkeypatch.setenv("MYNACARD_NEW_PIN", demo.auth_pin)
    code, _, err = run(capsys, "card", "pin", "change", "auth", "--card", str(card_dir))
    assert code == 0, err  # the new PIN was accepted as the current one


def test_wrong_pin_is_one_sentence(capsys, card_dir, monkeypatch) -> None:
    monkeypatch.setenv("MYNACARD_TEXT_PIN", "0000")
    code, out, err = run(capsys, "card", "read", "--card", str(card_dir))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "wrong: 2 tries left" in err and "0000" not in err


def test_wrong_format_sends_nothing(capsys, card_dir, tmp_path, monkeypatch) -> None:
    """The format is checked before the card is even opened: the trace file stays empty."""
    trace = tmp_path / "trace.txt"
    monkeypatch.setenv("MYNACARD_CODE_A", "123456789017")
    code, _, err = run(capsys, "card", "read", "--card", str(card_dir), "--with", "code-a",
                       "--trace", str(trace))
    assert code == 1 and "check digit" in err and "123456789017" not in err
    assert not trace.exists() or trace.read_text() == ""


def test_trace_file_is_redacted(capsys, card_dir, tmp_path, monkeypatch, demo) -> None:
    trace = tmp_path / "trace.txt"
    monkeypatch.setenv("MYNACARD_TEXT_PIN", demo.text_pin)
    code, _, _ = run(capsys, "card", "read", "--card", str(card_dir), "--trace", str(trace))
    assert code == 0
    text = trace.read_text()
    assert "00200080" in text and "redacted" in text
    assert demo.my_number.encode().hex().upper() not in text
    assert demo.text_pin.encode().hex().upper() + " " not in text


def test_last_try_refused_without_terminal(capsys, card_dir, monkeypatch) -> None:
    monkeypatch.setenv("MYNACARD_TEXT_PIN", "0000")
    for _ in range(2):
        run(capsys, "card", "read", "--card", str(card_dir))
    code, _, err = run(capsys, "card", "read", "--card", str(card_dir))
    assert code == 1 and "--allow-last-try" in err and "only 1 try left" in err
    code, _, err = run(capsys, "card", "status", "--card", str(card_dir), "--json")
    assert code == 0


def test_card_and_reader_are_exclusive(capsys, card_dir) -> None:
    code, _, err = run(capsys, "card", "status", "--card", str(card_dir), "--reader", "X")
    assert code == 2 and "not both" in err


def test_missing_card_image(capsys, tmp_path) -> None:
    code, _, err = run(capsys, "card", "status", "--card", str(tmp_path / "nothing"))
    assert code == 1 and "Traceback" not in err and str(tmp_path / "nothing") in err


@pytest.mark.parametrize("command", [["readers"], ["status"], ["certs"], ["read"], ["face"],
                                     ["pin", "change"]])
def test_help_teaches(capsys, command) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["card", *command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "Example" in out
    if command != ["readers"]:
        assert "--card DIR" in out and "--reader NAME" in out


def test_help_names_the_environment_variables(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["card", "read", "--help"])
    out = capsys.readouterr().out
    for name in ("MYNACARD_AUTH_PIN", "MYNACARD_SIGN_PASSWORD", "MYNACARD_TEXT_PIN",
                 "MYNACARD_CODE_A", "MYNACARD_CODE_B", "MYNACARD_BIRTH_KEY", "MYNACARD_JUKI_PIN"):
        assert name in out


def test_photo_png_matches_jp2(capsys, card_dir, tmp_path, monkeypatch, demo) -> None:
    monkeypatch.setenv("MYNACARD_CODE_A", demo.my_number)
    out_dir = tmp_path / "face"
    code, _, err = run(capsys, "card", "face", "--card", str(card_dir), "--with", "code-a",
                       "--out", str(out_dir))
    assert code == 0, err
    with Image.open(io.BytesIO((out_dir / "photo.jp2").read_bytes())) as jp2, \
            Image.open(out_dir / "photo.png") as png:
        assert jp2.size == png.size and jp2.tobytes() == png.tobytes()


def test_trace_file_is_private_and_holds_no_my_number(capsys, card_dir, tmp_path, monkeypatch) -> None:
    """`--trace FILE` (issue 8 defect 3): created 0600 whatever the umask, the My Number read by
    `card read` and the PIN that opened it are redacted, and a file others may read is refused."""
    import os
    import stat

    trace = tmp_path / "read.trace"
    monkeypatch.setenv("MYNACARD_TEXT_PIN", "1234")
    old_umask = os.umask(0o000)
    try:
        code, out, err = run(capsys, "card", "read", "--card", str(card_dir), "--trace", str(trace))
    finally:
        os.umask(old_umask)
    assert code == 0, err
    assert "123456789018" in out  # the user asked for it on the terminal
    assert stat.S_IMODE(trace.stat().st_mode) == 0o600
    text = trace.read_text()
    assert b"123456789018".hex().upper() not in text and b"1234".hex().upper() not in text
    assert "0020008004 <4 bytes redacted> -> 9000" in text and "<17 bytes redacted> 9000" in text
    trace.chmod(0o644)
    code, _, err = run(capsys, "card", "read", "--card", str(card_dir), "--trace", str(trace))
    assert code == 2 and "readable by others (mode 0644)" in err and "chmod 600" in err
    code, _, err = run(capsys, "apdu", "--card", str(card_dir), "--trace", str(trace), "00A4040C0AD392F000260100000001")
    assert code == 1 and "readable by others (mode 0644)" in err
