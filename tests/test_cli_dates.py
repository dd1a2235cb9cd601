"""Every command-line date (`--birth-date`, `--date`, `--expiry`, … and the CSV of `register
load`) tells a date that is not on the calendar from one of the wrong form, through `main()`
as a person runs it: argparse refuses before anything is sent or written."""

from __future__ import annotations

from pathlib import Path

import pytest

from mynacard.main import main

NOT_REAL = "1980-02-30 is not a real date (February has no 30th)"


@pytest.mark.parametrize("argv", [
    ["card", "new", "{tmp}/card", "--birth-date", "1980-02-30"],
    ["card", "new", "{tmp}/card", "--expiry", "1980-02-30"],
    ["register", "birth", "--family-name", "見本", "--given-name", "太郎", "--birth-date", "1980-02-30", "--sex", "1",
     "--address", "東京都千代田区見本町1", "--municipality-code", "13101"],
    ["register", "event", "24727059608", "death", "--date", "1980-02-30"],
    ["register", "card", "issue", "24727059608", "--expiry", "1980-02-30"],
    ["ca", "issue", "auth", "--csr", "{tmp}/key.csr", "--birth-date", "1980-02-30", "--prefecture", "Tokyo",
     "--city", "Chiyoda-ku", "--municipality-code", "13101", "--card-expiry", "2030-01-01"],
], ids=["card new --birth-date", "card new --expiry", "register birth", "register event --date",
        "register card --expiry", "ca issue --birth-date"])
def test_a_date_not_on_the_calendar_is_called_so(argv: list[str], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([part.format(tmp=tmp_path) for part in argv])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and NOT_REAL in err and "of the form" not in err, err
    assert list(tmp_path.iterdir()) == []


def test_a_date_of_another_form_is_called_so(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["register", "event", "24727059608", "death", "--date", "1980/02/17"])
    assert "'1980/02/17' is not a date of the form YYYY-MM-DD" in capsys.readouterr().err


def test_a_csv_birth_date_not_on_the_calendar_is_called_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("family_name,given_name,birth_date,sex,address\n田中,次郎,1981-02-29,1,東京都千代田区見本町3-3\n",
                    encoding="utf-8")
    assert main(["register", "load", str(rows), "--municipality-code", "13101", "--data", str(tmp_path / "data")]) == 1
    err = capsys.readouterr().err
    assert "line 2: the birth date 1981-02-29 is not a real date (1981 is not a leap year, so February has 28 days)" in err
    assert not (tmp_path / "data").exists()
