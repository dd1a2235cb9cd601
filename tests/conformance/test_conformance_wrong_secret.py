"""A wrong value in the secrets file costs one try — once — and is named (issue 8, defect 5).

Through `mynacard conformance --emulator --secrets FILE` as a vendor runs it, non-destructive: the
card can only judge a PIN by spending a try (CI §3: 63Cx = a wrong value, one try fewer), so the
rule is at most one try per wrong secret, every later case needing it SKIPPED, and one sentence
naming the key and the tries left in the terminal, the JSON, the JUnit XML and the HTML, exit 1.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mynacard.conformance.model import Status
from mynacard.conformance.reports import load_json, render_html

MYNACARD = [sys.executable, "-m", "mynacard"]
AUTH_SENTENCE = ("the secrets file's 'auth-pin' (JPKI auth PIN (利用者証明用暗証番号)) is wrong: the card answered "
                 "63C2 to it at JPKI auth PIN (EF 0018), which now has 2 of 3 tries left; it was not sent again "
                 "in this run")


def wrong_secrets_file(card_dir: Path, tmp_path: Path, **wrong: str) -> Path:
    """The demo card's secrets file with some values replaced (keys as in the file)."""
    lines = []
    for line in (card_dir / "secrets.toml").read_text("utf-8").splitlines():
        key = line.split("=")[0].strip()
        lines.append(f'{key} = "{wrong[key]}"' if key in wrong else line)
    path = tmp_path / "wrong.toml"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def conformance(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MYNACARD, "conformance", *args], capture_output=True, text=True, timeout=120)


def tries(card_dir: Path) -> dict[str, int]:
    return json.loads((card_dir / "state.json").read_text())["tries"]


def test_a_wrong_auth_pin_costs_exactly_one_try_and_every_report_names_it(card_dir, tmp_path):
    secrets = wrong_secrets_file(card_dir, tmp_path, **{"auth-pin": "4321"})
    before = tries(card_dir)
    done = conformance("--emulator", "--card", str(card_dir), "--secrets", str(secrets), "--out", str(tmp_path / "r"))
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert f"WRONG SECRET: {AUTH_SENTENCE}." in done.stderr.splitlines()
    after = tries(card_dir)
    assert after["jpki/auth-pin"] == before["jpki/auth-pin"] - 1  # CI §3, §6.1: one try, not more
    assert {k: v for k, v in after.items() if k != "jpki/auth-pin"} == \
           {k: v for k, v in before.items() if k != "jpki/auth-pin"}

    report = json.loads((tmp_path / "r" / "report.json").read_text("utf-8"))
    assert report["wrong_secrets"] == [AUTH_SENTENCE]
    sent = [e for r in report["results"] for e in r["exchanges"]
            if "auth PIN" in e["label"] and "supplied value" in e["label"]]
    assert len(sent) == 1  # the supplied auth PIN went to the card once in the whole run
    needing = [r for r in report["results"] if r["status"] == "SKIPPED" and "'auth-pin'" in r["reason"]]
    assert len(needing) >= 10  # JPKI-SIG-*, FLOW-B-001, JPKI-STATE-*: skipped with the reason

    junit = ET.parse(tmp_path / "r" / "report.xml").getroot()
    (check,) = [c for c in junit.iter("testcase") if c.get("name", "").startswith("RUN-SECRETS")]
    assert check.find("failure").get("message") == AUTH_SENTENCE[0].upper() + AUTH_SENTENCE[1:] + "."
    html = (tmp_path / "r" / "report.html").read_text("utf-8")
    assert "Wrong secrets" in html and "&#x27;auth-pin&#x27;" in html and "2 of 3 tries left" in html
    assert "NOT JUDGED: a supplied secret was wrong" in html and "DOES NOT CONFORM" not in html
    judged = load_json(tmp_path / "r" / "report.json")  # the same run with one real failure besides
    passed = next(r for r in judged.results if r.status is Status.PASSED)
    passed.status, passed.reason = Status.FAILED, "the card answered 6D00"
    assert "DOES NOT CONFORM" in render_html(judged)

    again = conformance("--emulator", "--card", str(card_dir), "--secrets", str(secrets), "--out", str(tmp_path / "r2"))
    assert tries(card_dir) == after  # a second run spends nothing more: the counter is not at its maximum
    assert "has 2 of 3 tries left" in again.stdout


def test_one_wrong_key_used_by_two_aps_costs_one_try_in_all(card_dir, tmp_path):
    """code-a opens text EF 0014 and visual EF 0013 (CI §7.1, §8): two counters, one wrong value."""
    secrets = wrong_secrets_file(card_dir, tmp_path, **{"code-a": "000000000000"})
    done = conformance("--emulator", "--card", str(card_dir), "--secrets", str(secrets), "-q",
                       "--out", str(tmp_path / "r"))
    assert done.returncode == 1
    after = tries(card_dir)
    assert after["text/code-a"] + after["visual/code-a"] == 19
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("WRONG SECRET:")]
    assert "'code-a'" in line and "9 of 10 tries left" in line


def test_the_demo_copy_run_reports_the_try_in_its_counters(card_dir, tmp_path):
    """`--emulator` without --card: the temporary copy's counters, as the report shows them."""
    secrets = wrong_secrets_file(card_dir, tmp_path, **{"auth-pin": "4321"})
    done = conformance("--emulator", "--secrets", str(secrets), "-q", "--out", str(tmp_path / "r"))
    assert done.returncode == 1
    counters = json.loads((tmp_path / "r" / "report.json").read_text("utf-8"))["counters"]
    assert (counters["start"]["auth"], counters["end"]["auth"]) == (3, 2)


def test_help_says_what_a_non_destructive_run_can_spend(capsys):
    from mynacard.main import main

    with pytest.raises(SystemExit):
        main(["conformance", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "nothing spends a try" not in out
    assert "a WRONG value in the secrets file costs one try of its key — once" in out
    assert "names the key of the file and the tries left" in out
