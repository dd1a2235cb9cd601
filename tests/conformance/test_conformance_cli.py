"""`mynacard conformance …` as a user runs it: run, spec, list, diff; exit statuses; no secret echoed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from mynacard.conformance.commands import demo_card_directory
from mynacard.main import main


def _tree_hash(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(f.relative_to(path).as_posix().encode() + f.read_bytes())
    return h.hexdigest()


def test_emulator_run_without_card_uses_a_copy_of_the_demo_card(tmp_path: Path, secrets_file: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    demo = demo_card_directory()
    before = _tree_hash(demo)
    status = main(["conformance", "--emulator", "--secrets", str(secrets_file), "--allow-destructive",
                   "--only", "JPKI-PIN-007", "JPKI-PIN-003", "--out", str(tmp_path / "out")])
    out = capsys.readouterr()
    assert status == 0, out
    assert _tree_hash(demo) == before  # the blocking case blocked a temporary copy
    assert "BLOCK" in out.err and "JPKI auth PIN" in out.err
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"report.json", "report.xml", "report.html"}
    assert "PASSED          JPKI-PIN-007" in out.out


def test_reports_are_owner_only_even_over_an_older_readable_one(tmp_path: Path) -> None:
    """Reports describe one person's card (issue 17): 0600, also when replacing a 0644 report."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_text("old", encoding="utf-8")
    (out / "report.html").chmod(0o644)
    (out / "report.json.tmp").write_text("left over", encoding="utf-8")
    (out / "report.json.tmp").chmod(0o644)
    assert main(["conformance", "--emulator", "-q", "--only", "CORE-INS-001", "--out", str(out)]) == 0
    modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir()}
    assert modes == {"report.json": 0o600, "report.xml": 0o600, "report.html": 0o600}


def test_the_demo_card_needs_no_secrets_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With --emulator and no --card, the demo card's documented secrets are used (README)."""
    status = main(["conformance", "--emulator", "--profile", "TEXT,VISUAL", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "using the demo card's documented secrets" in out
    report = json.loads((tmp_path / "report.json").read_text())
    reasons = [r.get("reason", "") for r in report["results"] if r["status"] == "SKIPPED"]
    assert not [r for r in reasons if "in the secrets file" in r], reasons
    assert "60041220362468" not in out and "123456789018" not in out
    # The emulator models secure messaging (CI §11), so --emulator claims SM and its cases run.
    sm = {r["id"]: r["status"] for r in report["results"] if r["id"].startswith("SM-")}
    assert len(sm) == 7 and set(sm.values()) == {"PASSED"}, sm


def test_card_option_writes_counters_back_to_that_card(tmp_path: Path, card_dir: Path, secrets_file: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["conformance", "--emulator", "--card", str(card_dir), "--secrets", str(secrets_file),
                   "--allow-destructive", "--only", "JPKI-PIN-007", "--out", str(tmp_path)])
    assert status == 0, capsys.readouterr()
    status = main(["conformance", "--emulator", "--card", str(card_dir), "--secrets", str(secrets_file),
                   "--only", "FLOW-B-001", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0
    assert "SKIPPED" in out and "blocked" in out  # the auth PIN of that card stays blocked


def test_non_destructive_run_prints_that_counters_are_unchanged(tmp_path: Path, secrets_file: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["conformance", "--emulator", "--secrets", str(secrets_file), "-q", "--profile", "JUKI,COMMON",
                   "--json", str(tmp_path / "a.json"), "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0
    assert "retry counters: all 11 unchanged" in out
    assert not any(line.startswith("PASSED") for line in out.splitlines())  # -q prints failures only


def test_bad_secrets_file_names_the_key_never_the_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "s.toml"
    bad.write_text('auth-pin = "12345"\nsign-password = "Abc123xyz"\n', encoding="utf-8")
    status = main(["conformance", "--emulator", "--secrets", str(bad)])
    err = capsys.readouterr().err
    assert status == 1
    assert "'auth-pin'" in err and "12345" not in err and "Abc123xyz" not in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance"]) == 2
    assert "--reader NAME, --emulator" in capsys.readouterr().err
    assert main(["conformance", "--emulator", "--only", "NOPE-NOPE-001"]) == 2
    assert main(["conformance", "--emulator", "--profile", "BOGUS"]) == 2


def test_spec_and_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance", "spec", "--output", str(tmp_path / "c.md")]) == 0
    assert (tmp_path / "c.md").read_text(encoding="utf-8").startswith("# mynacard conformance catalogue")
    assert main(["conformance", "list", "--profile", "JUKI"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing and all(line.split()[0].startswith(("JUKI-", "COM-", "FLOW-")) for line in listing)
    assert any("[blocks]" in line for line in listing)


def test_diff_same_card_twice_is_clean_and_a_wrong_card_differs(tmp_path: Path, secrets_file: Path,
                                                               card_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    only = ["CORE-SEL-002", "JPKI-EF-002", "MF-CHAL-001", "JPKI-READ-001", "FLOW-B-001"]
    for name in ("a", "b"):
        assert main(["conformance", "--emulator", "--secrets", str(secrets_file), "--only", *only,
                     "--json", str(tmp_path / f"{name}.json"), "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    # Two different demo cards (fresh copies, different runs): same behaviour, random data differs.
    assert main(["conformance", "diff", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 0
    text = capsys.readouterr().out
    assert "0 differences" in text

    # A card whose EF 0008 says it has no signing certificate and whose SELECT of unknown AIDs succeeds.
    report = json.loads((tmp_path / "b.json").read_text(encoding="utf-8"))
    for result in report["results"]:
        for e in result["exchanges"]:
            if "data" in e:
                e["data"] = "000000"
                e["response"] = "000000 9000"
            if e["command"].startswith("00A4040C0AD392F0002601000000FF"):
                e["sw"], e["response"] = "9000", "9000"
    (tmp_path / "c.json").write_text(json.dumps(report), encoding="utf-8")
    assert main(["conformance", "diff", str(tmp_path / "a.json"), str(tmp_path / "c.json")]) == 1
    text = capsys.readouterr().out
    assert "≠ JPKI-EF-002" in text and "data: A 8F8F00 | B 000000" in text
    assert "≠ CORE-SEL-002" in text and "SW: A 6A82 | B 9000" in text
    assert main(["conformance", "diff", str(tmp_path / "a.json"), str(secrets_file)]) == 2
