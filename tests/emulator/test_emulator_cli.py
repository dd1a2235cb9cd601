"""`mynacard apdu` (issue 2) and the error paths of `mynacard emulate` / `mynacard pcscd` that need
no running pcscd (issue 3: clear errors for a missing card, a corrupt image, a missing pcscd)."""

from __future__ import annotations

import json
import os

import pytest

from mynacard.main import main

SELECT_JPKI = "00A4040C0AD392F000260100000001"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_apdu_prints_data_and_status_word_of_each_response(capsys, card_dir):
    status, out, _ = run(capsys, "apdu", "--card", str(card_dir), SELECT_JPKI, "00A4020C02000A", "00B0000004")
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == f"> {SELECT_JPKI}"
    assert lines[1] == "< 9000  (success)"
    assert lines[5].startswith("< 3082") and lines[5].endswith(" 9000  (success)")  # CI §13 A


def test_apdu_counters_persist_between_calls_and_the_pin_is_not_echoed(capsys, card_dir):
    status, out, _ = run(capsys, "apdu", "--card", str(card_dir), SELECT_JPKI, "00A4020C020018",
                         "00200080 04 39393939")
    assert status == 0
    assert "< 63C2  (2 tries left)" in out
    assert "39393939" not in out and "<4 bytes redacted>" in out
    _, out, _ = run(capsys, "apdu", "--card", str(card_dir), "--raw", SELECT_JPKI, "00A4020C020018", "00200080")
    assert out.split() == ["9000", "9000", "63C2"]  # CI §13 B: the query does not spend a try


def test_apdu_accepts_spaces_and_colons_and_rejects_bad_hex(capsys, card_dir):
    spaced = "00:A4:04:0C:0A D3 92 F0 00 26 01 00 00 00 01"
    status, out, _ = run(capsys, "apdu", "--card", str(card_dir), "--raw", spaced)
    assert status == 0 and out.strip() == "9000"
    status, _, err = run(capsys, "apdu", "--card", str(card_dir), "00A4XX")
    assert status == 2 and "is not hex" in err
    status, _, err = run(capsys, "apdu", "--card", str(card_dir), "00A4")
    assert status == 2 and "shorter than an APDU header" in err


def test_apdu_missing_and_corrupt_images_give_one_sentence(capsys, tmp_path, card_dir):
    status, _, err = run(capsys, "apdu", "--card", str(tmp_path / "nope"), SELECT_JPKI)
    assert status == 1 and "mynacard card new" in err and "Traceback" not in err
    manifest = card_dir / "card.json"
    manifest.write_text(manifest.read_text()[:200])
    status, _, err = run(capsys, "apdu", "--card", str(card_dir), SELECT_JPKI)
    assert status == 1 and "cannot be used" in err and "card.json" in err


def test_apdu_help_teaches_select_and_verify_query(capsys):
    with pytest.raises(SystemExit):
        main(["apdu", "--help"])
    out = capsys.readouterr().out
    assert SELECT_JPKI in out and "00200080" in out and "tries left" in out


def test_emulate_refuses_a_missing_card_before_touching_pcscd(capsys, tmp_path, monkeypatch):
    import mynacard.emulator.readers as readers

    monkeypatch.setattr(readers.PcscdLease, "acquire", lambda self: pytest.fail("pcscd touched"))
    status, _, err = run(capsys, "emulate", "--card", str(tmp_path / "nope"))
    assert status == 1 and "there is no card image" in err


def test_emulate_refuses_an_unknown_profile(capsys, card_dir):
    status, _, err = run(capsys, "emulate", "--card", str(card_dir), "--profile", "bogus")
    assert status == 1 and "unknown card profile 'bogus'" in err and "contactless-06" in err


def test_missing_pcscd_says_to_run_setup(capsys, card_dir, monkeypatch, tmp_path):
    import mynacard.emulator.pcscd as pcscd

    monkeypatch.setattr(pcscd, "find_pcscd", lambda: None)
    monkeypatch.setenv("MYNACARD_RUNTIME_DIR", str(tmp_path / "run"))
    status, _, err = run(capsys, "emulate", "--card", str(card_dir))
    assert status == 1 and "pcscd is not installed" in err and "tools/setup.sh" in err
    status, _, err = run(capsys, "pcscd", "status")
    assert status == 1 and "tools/setup.sh" in err


def test_missing_vpcd_says_to_run_setup(capsys, monkeypatch, tmp_path):
    import mynacard.emulator.pcscd as pcscd

    monkeypatch.setattr(pcscd, "VPCD_DRIVER", tmp_path / "libifdvpcd.so")
    status, _, err = run(capsys, "pcscd", "start")
    assert status == 1 and "vpcd driver" in err and "tools/setup.sh" in err


def test_demo_card_is_copied_once_to_the_state_directory(monkeypatch, tmp_path):
    from mynacard.emulator.demo import user_demo_card

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    first, copied = user_demo_card()
    assert copied and first == tmp_path / "mynacard" / "demo-card"
    assert json.loads((first / "card.json").read_text())["format"] == "mynacard-card-image"
    assert oct(os.stat(first / "keys" / "jpki-auth.pem").st_mode & 0o777) == "0o600"
    (first / "marker").write_text("mine")
    again, copied = user_demo_card()
    assert again == first and not copied and (again / "marker").exists()


def test_control_without_a_running_emulator_says_so(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("MYNACARD_RUNTIME_DIR", str(tmp_path / "run"))
    status, _, err = run(capsys, "emulate", "control", "status")
    assert status == 1 and "no `mynacard emulate` is running" in err


#: PYJ's signing flow: VERIFY the signing password, SELECT the JPKI AP again, sign (CI §12).
SIGN_AFTER_RESELECT = ["00A4040C0AD392F000260100000001", "00A4020C02001B", "0020008006" + b"ABC123".hex(),
                       "00A4040C0AD392F000260100000001", "00A4020C02001A",
                       "802A008033" + "3031300D060960864801650304020105000420" + "11" * 32 + "00"]


@pytest.mark.parametrize("side, last_sw", [("keeps", "9000"), ("clears", "6982")])
def test_apdu_behaviour_option_serves_that_side(capsys, card_dir, side, last_sw):
    """`mynacard apdu --behaviour reselect=…`: signing after a re-SELECT of the JPKI AP (CI §12)."""
    image = (card_dir / "card.json").read_bytes()
    assert main(["apdu", "--card", str(card_dir), "--raw", "--behaviour", f"reselect={side}",
                 *SIGN_AFTER_RESELECT]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.endswith(last_sw) and len(last) == (4 + 2 * 256 if side == "keeps" else 4)
    assert (card_dir / "card.json").read_bytes() == image  # served that way, not written into the card


def test_behaviour_option_errors_and_help(capsys, card_dir):
    assert main(["apdu", "--card", str(card_dir), "--behaviour", "reselect=maybe", "00A4000000"]) == 1
    assert "behaviour reselect has no value 'maybe'; choose one of: keeps, clears." in capsys.readouterr().err
    for command in (["emulate", "--help"], ["apdu", "--help"], ["card", "new", "--help"]):
        with pytest.raises(SystemExit):
            main(command)
        out = capsys.readouterr().out
        assert "--behaviour KEY=VALUE" in out and "reselect      keeps (default), clears" in out
        assert "mf-7f21       present (default), absent" in out
