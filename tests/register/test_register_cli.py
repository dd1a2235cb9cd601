"""`mynacard register …` as a person runs it: --help that teaches, one-line errors, JSON answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from register_server import Services, access_record_count

MYNACARD = [sys.executable, "-m", "mynacard"]


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MYNACARD, "register", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env})


def test_help_teaches_the_commands_and_examples() -> None:
    top = run("--help")
    assert top.returncode == 0
    for word in ("birth", "event", "card", "method2", "outbox", "examples:", "--purpose"):
        assert word in top.stdout
    event = run("event", "--help")
    assert "move-within" in event.stdout and "--planned-date" in event.stdout


def test_errors_are_one_line(services: Services, tmp_path: Path) -> None:
    missing = run("show", "24727059608", "--purpose", "t", "--data", str(tmp_path))
    assert missing.returncode == 1 and "tokens.json does not exist" in missing.stderr
    assert missing.stderr.count("\n") == 1
    url = f"{services.base}/register"
    bad = run("show", "12345", "--purpose", "t", "--url", url, "--data", str(services.data_dir))
    assert bad.returncode == 1 and "住民票コード" in bad.stderr and bad.stderr.count("\n") == 1
    down = run("show", "24727059608", "--purpose", "t", "--url", "http://127.0.0.1:9/register",
               "--data", str(services.data_dir))
    assert down.returncode == 1 and "cannot reach" in down.stderr


def test_birth_and_show_print_json(services: Services) -> None:
    common = ["--url", f"{services.base}/register", "--data", str(services.data_dir)]
    born = run("birth", *common, "--family-name", "山田", "--given-name", "花", "--birth-date", "2001-03-03",
               "--sex", "female", "--address", "東京都千代田区見本町3-3", "--municipality-code", "13101")
    assert born.returncode == 0, born.stderr
    code = json.loads(born.stdout)["resident_code"]
    shown = run("show", code, *common, "--purpose", "cli test", "--token-name", "clerk")
    assert json.loads(shown.stdout)["current"]["given_name"] == "花"
    refused = run("replace-number", code, *common, "--cause", "漏えい", "--token-name", "clerk")
    assert refused.returncode == 1 and "may not" in refused.stderr
    audit = json.loads(run("access-records", code, *common, "--purpose", "監査").stdout)
    assert [(a["actor"], a["action"]) for a in audit[:2]] == [("clerk", "read-record"), ("register-admin", "event:birth")]


def test_openapi_documents_every_endpoint(services: Services) -> None:
    import httpx

    document = httpx.get(f"{services.base}/register/openapi.json").json()
    paths = set(document["paths"])
    for path in ("/v1/residents", "/v1/residents/{code}/events", "/v1/method2", "/v1/lookup", "/v1/outbox",
                 "/v1/residents/{code}/cards", "/v1/cards/{serial}/lost", "/v1/portal/login",
                 "/v1/portal/me/access-records"):
        assert path in paths


def test_load_checks_every_row_first_then_loads(tmp_path: Path) -> None:
    data = tmp_path / "data"
    good = tmp_path / "good.csv"
    good.write_text("family_name,given_name,birth_date,sex,address\n"
                    "佐藤,一郎,1970-01-01,1,東京都千代田区見本町1-1\n鈴木,花子,1975-05-05,female,東京都千代田区見本町2-2\n",
                    encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text(good.read_text(encoding="utf-8") + "田中,次郎,1980-02-30,1,東京都千代田区見本町3-3\n", encoding="utf-8")
    refused = run("load", str(bad), "--municipality-code", "13101", "--data", str(data))
    assert refused.returncode == 1 and "line 4" in refused.stderr and "birth date" in refused.stderr
    assert not (data / "register.sqlite3").exists()  # nothing written
    loaded = run("load", str(good), "--municipality-code", "13101", "--data", str(data))
    assert loaded.returncode == 0, loaded.stderr
    assert "Loaded 2 records" in loaded.stdout
    import sqlite3

    with sqlite3.connect(data / "register.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM register_my_numbers").fetchone()[0] == 2


def test_a_my_number_with_a_wrong_check_digit_is_refused_and_not_recorded(services: Services) -> None:
    """方法2 and lookup refuse a number whose last digit is not its check digit: one sentence that
    does not echo it, exit 1, and no access record claiming a comparison was made."""
    common = ["--url", f"{services.base}/register", "--data", str(services.data_dir)]
    before = access_record_count(services)
    asked = run("method2", *common, "--token-name", "clerk", "--name", "見本 太郎", "--birth-date", "1980-02-17",
                "--sex", "男", "--address", "東京都千代田区見本町1-2-3", "--purpose", "児童手当の申請",
                MYNACARD_MY_NUMBER="123456789019")
    looked = run("lookup", *common, "--token-name", "centre", "--purpose", "t", MYNACARD_MY_NUMBER="123456789019")
    for refused in (asked, looked):
        assert refused.returncode == 1 and refused.stdout == "", refused.stdout
        assert "not a valid My Number" in refused.stderr and "check digit" in refused.stderr, refused.stderr
        assert refused.stderr.count("\n") == 1 and "123456789019" not in refused.stderr
    assert access_record_count(services) == before


def test_the_default_event_date_is_today_in_japan_wherever_the_machine_is(services: Services) -> None:
    """The register decides "in the future" by Japan's calendar, so the CLI's default "today" is
    Japan's too: run from a zone whose date differs from Japan's now, `entry` without
    --event-date records Japan's date (not yesterday, and not refused as tomorrow)."""
    from datetime import datetime, timedelta, timezone

    from mynacard.register_stub.schemas import today_in_japan

    japan = today_in_japan()
    zone = next(name for name, hours in (("Etc/GMT+12", -12), ("Etc/GMT-14", 14))
                if datetime.now(timezone(timedelta(hours=hours))).date() != japan)
    common = ["--url", f"{services.base}/register", "--data", str(services.data_dir)]
    entered = run("entry", *common, "--family-name", "Smith", "--given-name", "Anna", "--birth-date", "1990-05-05",
                  "--sex", "female", "--address", "東京都千代田区見本町4-4", "--municipality-code", "13101", TZ=zone)
    assert entered.returncode == 0, entered.stderr
    assert json.loads(entered.stdout)["event"]["event_date"] in {japan.isoformat(), today_in_japan().isoformat()}
