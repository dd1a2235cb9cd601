"""Observation cases (area OBS, CI §12): what the card does where real cards disagree. They never
pass or fail; run against the emulator under each side of each behaviour (the plugin's
`card_behaviours`), they must report that side — in-process and, for the re-SELECT, through pcscd."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mynacard.applet_model.profiles import BEHAVIOURS
from mynacard.conformance.catalogue import ordered
from mynacard.conformance.diff import compare, render
from mynacard.conformance.model import ANSWER_OBSERVATION, OBSERVED_BEHAVIOURS, Status
from mynacard.conformance.reports import load_json, render_html, render_junit, write_reports
from mynacard.conformance.runner import RunOptions, Runner, RunReport
from mynacard.conformance.secrets import Secrets
from mynacard.emulator.inprocess import InProcessTransport
from mynacard.host.transport import open_transport
from mynacard.main import main

OBSERVATIONS = tuple(c.id for c in ordered() if c.observes in OBSERVED_BEHAVIOURS)
SIDES = [{key: value} for key, b in BEHAVIOURS.items() for value in b.values]


def run_observations(transport, secrets: Secrets) -> RunReport:
    return Runner(transport, RunOptions(secrets=secrets, only=OBSERVATIONS)).run()


def test_the_observed_words_are_the_emulator_options() -> None:
    """A report's `reselect=clears` is exactly what `mynacard emulate --behaviour` takes."""
    assert {key: b.values for key, b in BEHAVIOURS.items()} == OBSERVED_BEHAVIOURS
    assert {c.observes for c in ordered() if c.observes in OBSERVED_BEHAVIOURS} == set(BEHAVIOURS)
    assert all(c.observes.startswith(ANSWER_OBSERVATION) for c in ordered() if c.observes and c.observes not in BEHAVIOURS)
    assert all(not c.impact.destructive for c in ordered() if c.observes)


@pytest.mark.parametrize("card_behaviours", SIDES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_each_side_is_observed_as_itself(card_dir: Path, card_behaviours: dict[str, str], demo_secrets: Secrets) -> None:
    (key, value), = card_behaviours.items()
    report = run_observations(InProcessTransport.from_directory(card_dir), demo_secrets)
    assert {r.status for r in report.results} == {Status.OBSERVED}, [(r.case_id, r.reason) for r in report.results]
    seen = {r.case_id: r.observation.value for r in report.results if r.observation.behaviour == key}
    assert seen and set(seen.values()) == {value}, seen
    assert report.ok  # an observation never fails a run
    assert report.counters_unchanged is True


@pytest.mark.parametrize("card_behaviours", [{"reselect": "keeps"}, {"reselect": "clears"}],
                         ids=["keeps", "clears"])
def test_reselect_observed_through_pcscd(reader_card, card_behaviours: dict[str, str], demo_secrets: Secrets) -> None:
    transport = open_transport(f"pcsc:{reader_card.reader}")
    try:
        report = Runner(transport, RunOptions(secrets=demo_secrets, only=("OBS-RESELECT-001", "OBS-RESELECT-002"))).run()
    finally:
        transport.close()
    assert [(r.status, r.observation.value) for r in report.results] == [(Status.OBSERVED, card_behaviours["reselect"])] * 2
    sign = report.results[0].exchanges[-1]
    assert sign.command.startswith("802A0080")
    assert sign.sw == (0x9000 if card_behaviours["reselect"] == "keeps" else 0x6982)


def _report_with(tmp_path: Path, name: str, behaviours: dict[str, str], secrets: Secrets) -> Path:
    from mynacard.applet_model.profiles import apply_behaviours
    from mynacard.applet_model.store import DirectoryStore
    from mynacard.emulator.demo import copy_card, packaged_demo_card

    card = copy_card(packaged_demo_card(), tmp_path / name)
    store = DirectoryStore(card)
    store.replace_profile(apply_behaviours(store.load_image().profile, behaviours))
    report = run_observations(InProcessTransport.from_directory(card), secrets)
    path = tmp_path / f"{name}.json"
    write_reports(report, json_path=path)
    return path


def test_reports_show_the_observation_and_diff_highlights_it(tmp_path: Path, demo_secrets: Secrets) -> None:
    a_path = _report_with(tmp_path, "keeps", {}, demo_secrets)
    b_path = _report_with(tmp_path, "clears", {"reselect": "clears", "verify-query": "ok"}, demo_secrets)
    a, b = load_json(a_path), load_json(b_path)  # the JSON keeps the observation
    assert {r.case_id: str(r.observation) for r in b.results}["OBS-RESELECT-001"] == "reselect=clears"

    junit = ET.fromstring(render_junit(b))
    case = next(c for c in junit.iter("testcase") if c.get("name").startswith("OBS-RESELECT-001"))
    assert {p.get("name"): p.get("value") for p in case.iter("property")}["observed"] == "reselect=clears"
    assert case.find("failure") is None and case.find("skipped") is None
    assert junit.get("failures") == "0"
    html = render_html(b)
    assert "Observations (CI §12)" in html and ">clears<" in html

    diffs = compare(a, b)
    # Only the observations differ: their steps (9000 vs 6982) are not reported as ≠ on top.
    assert sorted((d.case_id, d.a, d.b, d.severity) for d in diffs) == [
        ("OBS-RESELECT-001", "keeps", "clears", "observation"),
        ("OBS-RESELECT-002", "keeps", "clears", "observation"),
        ("OBS-VERIFYQ-001", "retries", "ok", "observation")]
    text = render("A", "B", a, b, diffs)
    assert "◆ OBS-RESELECT-001: observed reselect: A keeps | B clears" in text
    assert "mynacard emulate --behaviour reselect=clears --behaviour verify-query=ok" in text
    assert not compare(a, a)


def test_cli_run_and_diff(tmp_path: Path, capsys) -> None:
    """`mynacard card new --behaviour`, `conformance --emulator --card`, `conformance diff`."""
    card = tmp_path / "card"
    assert main(["card", "new", str(card), "--behaviour", "reselect=clears"]) == 0
    secrets = Path(__file__).parents[2] / "emulator" / "demo_card" / "secrets.toml"
    only = ["--only", "OBS-RESELECT-001", "OBS-ATR-001"]
    assert main(["conformance", "--emulator", "--card", str(card), "--secrets", str(secrets), *only,
                 "--out", str(tmp_path / "b")]) == 0
    assert main(["conformance", "--emulator", *only, "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "OBSERVED        OBS-RESELECT-001" in out
    assert "mynacard emulate --behaviour atr-object=mf --behaviour reselect=clears" in out
    assert main(["conformance", "diff", str(tmp_path / "a" / "report.json"), str(tmp_path / "b" / "report.json"),
                 "--json"]) == 1
    diffs = json.loads(capsys.readouterr().out)
    assert diffs == [{"case_id": "OBS-RESELECT-001", "where": "observed reselect", "a": "keeps", "b": "clears",
                      "severity": "observation"}]


def test_conformance_emulator_behaviour_option_and_transport_query(tmp_path: Path, card_dir: Path, capsys) -> None:
    """`conformance --emulator --behaviour` and `--transport emulator:DIR?KEY=VALUE` serve that side."""
    assert main(["conformance", "--emulator", "--behaviour", "reselect=clears", "--only", "OBS-RESELECT-001",
                 "--out", str(tmp_path / "a")]) == 0
    assert "reselect=clears: COMPUTE DIGITAL SIGNATURE after re-SELECT answered 6982" in capsys.readouterr().out
    secrets = Path(__file__).parents[2] / "emulator" / "demo_card" / "secrets.toml"
    assert main(["conformance", "--transport", f"emulator:{card_dir}?verify-query=ok&atr-object=ap",
                 "--secrets", str(secrets), "--only", "OBS-VERIFYQ-001", "OBS-ATR-001", "--out", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "verify-query  ok" in out and "atr-object    ap" in out
    assert main(["conformance", "--reader", "any", "--behaviour", "reselect=clears"]) == 2
    assert "--behaviour goes with --emulator" in capsys.readouterr().err


@pytest.mark.parametrize("card_behaviours", [s for s in SIDES if not any(BEHAVIOURS[k].default.value == v
                                                                        for k, v in s.items())],
                         ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_every_case_passes_on_each_side(card_dir: Path, card_behaviours: dict[str, str], demo_secrets: Secrets) -> None:
    """No case of the catalogue depends on a side of CI §12: the destructive run, SM claimed, passes
    against the emulator under every other side (the defaults are test_conformance_runner's)."""
    from mynacard.conformance.model import Profile
    from mynacard.conformance.robot import ReinsertRobot

    transport = InProcessTransport.from_directory(card_dir)
    report = Runner(transport, RunOptions(secrets=demo_secrets, allow_destructive=True, claims=frozenset({Profile.SM}),
                                          robot=ReinsertRobot(transport))).run()
    assert {r.status for r in report.results} <= {Status.PASSED, Status.NOT_APPLICABLE, Status.OBSERVED}, [
        (r.case_id, r.reason) for r in report.results if r.status not in (Status.PASSED, Status.NOT_APPLICABLE,
                                                                          Status.OBSERVED)]
