"""`mynacard card new DIR` through the real command line (jpki-system.md §1.6 PIN formats, §4.1
check digit; card-interface.md §7–§8 for what lands on the card). Keys come from the session pool
(conftest), except in the one subprocess run."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from PIL import Image

from mynacard.applet_model.store import DirectoryStore
from mynacard.main import main
from register_stub_helpers import read_template

REPO = Path(__file__).resolve().parents[2]
DEMO_SECRETS = ("123456789018", "60041220362468", "600412", "ABC123", "2468")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["card", "new", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def _text_fields(card_dir: Path) -> dict[int, bytes]:
    data = DirectoryStore(card_dir).load_image().applications["text"].files[0x0002]
    _, children = read_template(data)
    return {c.tag: c.value for c in children}


def test_defaults_make_the_demo_card(tmp_path: Path, capsys) -> None:
    card_dir = tmp_path / "mycard"
    status, out, err = run(capsys, str(card_dir))
    assert (status, err) == (0, "")
    for secret in DEMO_SECRETS:
        assert secret in out
    assert out.count("1234") >= 3 and str(card_dir.resolve()) in out
    image = DirectoryStore(card_dir).load_image()
    assert image.applications["text"].files[0x0001] == b"\xff\x10\x0c123456789018\xff\xff"
    assert image.applications["jpki"].pins["sign-password"].matches(b"ABC123")
    assert image.applications["visual"].pins["code-b"].matches(b"60041220362468")
    assert image.profile.name == "contact-2024"
    assert (card_dir / "state.json").is_file()


def test_every_option_reaches_the_card(tmp_path: Path, capsys) -> None:
    photo = tmp_path / "me.png"
    Image.new("RGB", (300, 400), (250, 200, 180)).save(photo)
    card_dir = tmp_path / "taro"
    status, out, _ = run(
        capsys, str(card_dir),
        "--family-name", "山田", "--given-name", "太郎", "--sex", "male",
        "--birth-date", "1990-01-02", "--address", "東京都清瀬市中里1-2-3",
        "--municipality-code", "13221", "--my-number", "537686677188",
        "--expiry", "2034-01-02", "--security-code", "9753", "--photo", str(photo),
        "--profile", "contactless-06",
    )
    assert status == 0
    fields = _text_fields(card_dir)
    assert fields[0xDF22].decode() == "山田\u3000太郎"
    assert fields[0xDF23].decode() == "東京都清瀬市中里１－２－３"
    assert (fields[0xDF24], fields[0xDF25]) == (b"19900102", b"1")
    image = DirectoryStore(card_dir).load_image()
    assert image.profile.atr == bytes.fromhex("3B8880010000 05E0B381A1007F".replace(" ", ""))
    code_b = "020102" + "2034" + "9753"  # 平成2年1月2日
    assert code_b in out and image.applications["text"].pins["code-b"].matches(code_b.encode())
    assert image.applications["visual"].pins["birth-key"].matches(b"020102")
    assert image.mf_objects[0x00F0] == b"13221" and image.mf_objects[0x00F2] == b"20340102"
    sign = x509.load_der_x509_certificate(image.applications["jpki"].files[0x0001])
    assert "L=Kiyose-shi" in sign.subject.rfc4514_string()
    _, face = read_template(image.applications["visual"].files[0x0002])
    photo_jp2 = next(c.value for c in face if c.tag == 0xDF27)
    assert Image.open(io.BytesIO(photo_jp2)).getextrema()[0] > 150  # the light photo, not the demo portrait


def test_random_my_number_is_valid_and_printed(tmp_path: Path, capsys) -> None:
    from mynacard.register_stub.my_number import validate

    status, out, _ = run(capsys, str(tmp_path / "c"), "--my-number", "random")
    assert status == 0
    number = DirectoryStore(tmp_path / "c").load_image().applications["text"].files[0x0001][3:15].decode()
    assert validate(number) == number and number in out


def test_pins_from_the_environment(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("MYNACARD_AUTH_PIN", "4321")
    monkeypatch.setenv("MYNACARD_SIGN_PASSWORD", "SECRET42")
    monkeypatch.setenv("MYNACARD_TEXT_PIN", "5678")
    monkeypatch.setenv("MYNACARD_JUKI_PIN", "0000")
    assert run(capsys, str(tmp_path / "c"))[0] == 0
    apps = DirectoryStore(tmp_path / "c").load_image().applications
    assert apps["jpki"].pins["auth-pin"].matches(b"4321")
    assert apps["jpki"].pins["sign-password"].matches(b"SECRET42")
    assert apps["text"].pins["pin"].matches(b"5678")
    assert apps["common"].pins["pin"].matches(b"0000") and apps["juki"].pins["pin"].matches(b"0000")


def test_pins_typed_without_echo(tmp_path: Path, capsys, monkeypatch) -> None:
    answers = iter(["1111", "1111", "PASS99", "PASS99", "2222", "2222", "3333", "3333"])
    prompts = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or next(answers))
    assert run(capsys, str(tmp_path / "c"), "--ask-pins")[0] == 0
    apps = DirectoryStore(tmp_path / "c").load_image().applications
    assert apps["jpki"].pins["sign-password"].matches(b"PASS99")
    assert apps["juki"].pins["pin"].matches(b"3333")
    assert len(prompts) == 8


def test_mistyped_confirmation_writes_nothing(tmp_path: Path, capsys, monkeypatch) -> None:
    answers = iter(["1111", "1112"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    status, _, err = run(capsys, str(tmp_path / "c"), "--ask-pins")
    assert status == 1 and "differ" in err and "1111" not in err
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize(
    ("argv", "env", "message", "secret"),
    [
        ((), {"MYNACARD_AUTH_PIN": "12a4"}, "auth PIN must be exactly 4 digits", "12a4"),
        ((), {"MYNACARD_SIGN_PASSWORD": "abc123"}, "A-Z", "abc123"),
        ((), {"MYNACARD_SIGN_PASSWORD": "ABCDEFG"}, "one letter and one digit", "ABCDEFG"),
        ((), {"MYNACARD_JUKI_PIN": "12345"}, "住基/共通 PIN", "12345"),
        (("--my-number", "123456789012"), {}, "check digit", "123456789012"),
        (("--my-number", "12345"), {}, "12 digits", None),
        (("--birth-date", "2999-01-01"), {}, "birth date", None),
        (("--expiry", "2001-01-01"), {}, "expiry date must be in the future", None),
        (("--security-code", "12"), {}, "security code", None),
        (("--municipality-code", "13999"), {}, "--city-roman", None),
        (("--address", "大阪府大阪市北区1-1"), {}, "prefecture", None),
        (("--photo", "/nonexistent/me.jpg"), {}, "cannot read the photo", None),
    ],
)
def test_invalid_input_is_refused_and_nothing_is_written(
    tmp_path: Path, capsys, monkeypatch, argv, env, message, secret
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    card_dir = tmp_path / "card"
    status, out, err = run(capsys, str(card_dir), *argv)
    assert status == 1 and out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    if secret:
        assert secret not in err
    assert not card_dir.exists()
    assert list(tmp_path.iterdir()) == []


def test_not_a_photo_is_refused(tmp_path: Path, capsys) -> None:
    fake = tmp_path / "fake.jpg"
    fake.write_text("not an image")
    status, _, err = run(capsys, str(tmp_path / "card"), "--photo", str(fake))
    assert status == 1 and "not an image" in err and not (tmp_path / "card").exists()


def test_bad_dates_are_usage_errors(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["card", "new", str(tmp_path / "c"), "--birth-date", "1985/04/12"])
    assert caught.value.code == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_an_existing_card_is_replaced_only_with_force(tmp_path: Path, capsys) -> None:
    card_dir = tmp_path / "c"
    assert run(capsys, str(card_dir))[0] == 0
    before = (card_dir / "card.json").read_bytes()
    status, _, err = run(capsys, str(card_dir), "--security-code", "1357")
    assert status == 1 and "--force" in err
    assert (card_dir / "card.json").read_bytes() == before
    assert run(capsys, str(card_dir), "--force", "--security-code", "1357")[0] == 0
    assert DirectoryStore(card_dir).load_image().applications["text"].pins["code-b"].matches(b"60041220361357")


def test_force_never_replaces_something_that_is_not_a_card(tmp_path: Path, capsys) -> None:
    precious = tmp_path / "documents"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work")
    status, _, err = run(capsys, str(precious), "--force")
    assert status == 1 and "not a card image" in err
    assert (precious / "thesis.txt").read_text() == "years of work"


def test_help_teaches_with_examples(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["card", "new", "--help"])
    text = capsys.readouterr().out
    for expected in ("examples:", "mynacard card new ./mycard", "MYNACARD_SIGN_PASSWORD", "--ask-pins",
                     "--photo", "--profile", "123456789018", "ABC123"):
        assert expected in text


def test_the_installed_command_works(tmp_path: Path) -> None:
    """One real run in a subprocess, generating its own keys, as a user would."""
    card_dir = tmp_path / "card"
    result = subprocess.run(
        [sys.executable, "-m", "mynacard", "card", "new", str(card_dir)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert result.returncode == 0, result.stderr
    assert "60041220362468" in result.stdout
    assert DirectoryStore(card_dir).load_image().applications["jpki"].keys["sign"].key_size == 2048


def test_behaviours_are_written_into_the_card(tmp_path: Path, capsys) -> None:
    """`--behaviour KEY=VALUE` (CI §12): the card image keeps the side it was made with."""
    status, out, _ = run(capsys, str(tmp_path / "card"), "--behaviour", "reselect=clears",
                         "--behaviour", "mf-7f21=absent")
    assert status == 0
    assert "behaviours   reselect=clears, verify-query=retries, atr-object=mf, mf-7f21=absent" in out
    profile = DirectoryStore(tmp_path / "card").load_image().profile
    assert (profile.reselect_same_ap, profile.mf_7f21) == ("clears", False)
    with pytest.raises(SystemExit) as exit_info:
        run(capsys, str(tmp_path / "other"), "--behaviour", "reselect")
    assert exit_info.value.code == 2
    assert "'reselect' is not KEY=VALUE" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()
