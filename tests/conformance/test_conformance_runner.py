"""The whole catalogue against the emulator in-process (the fast twin of the e2e run through pcscd):
non-destructive runs leave every counter as found; destructive runs pass with the robot; reports."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mynacard.conformance.catalogue import ordered
from mynacard.conformance.card_map import PIN_REFS
from mynacard.conformance.model import Profile, Status
from mynacard.conformance.reports import load_json, render_html, render_json, render_junit, write_reports
from mynacard.conformance.robot import ReinsertRobot
from mynacard.conformance.runner import RunOptions, Runner, SelectionError, select_cases
from mynacard.conformance.secrets import Secrets
from mynacard.emulator.inprocess import InProcessTransport

from deviant_cards import DEMO_SECRETS

#: The optional secure-messaging cases (CI §11).
#: The cases of the optional SM profile (CI §11), NOT APPLICABLE unless the vendor claims it, and
#: those of them that pass or fail (the others observe).
SM_PROFILE = tuple(c.id for c in ordered() if Profile.SM in c.profiles)
SM_CASES = tuple(c for c in SM_PROFILE if not next(x for x in ordered() if x.id == c).observes)


def independent_counters(transport: InProcessTransport) -> dict[str, int]:
    """Every retry counter by VERIFY query, read without the conformance package (CI §13 F)."""
    out = {}
    transport.reset()
    for pin in PIN_REFS:
        transport.transmit(bytes.fromhex("00A4040C0A") + pin.app.aid)
        transport.transmit(bytes.fromhex("00A4020C02") + pin.fid.to_bytes(2, "big"))
        sw = transport.transmit(bytes.fromhex("00200080"))
        assert sw[0] == 0x63, (pin.code, sw.hex())
        out[pin.code] = sw[1] & 0x0F
    return out


def test_non_destructive_run_passes_and_leaves_every_counter_unchanged(
        inprocess_transport: InProcessTransport, demo_secrets: Secrets) -> None:
    before = independent_counters(inprocess_transport)
    report = Runner(inprocess_transport, RunOptions(secrets=demo_secrets, robot=ReinsertRobot(inprocess_transport))).run()
    after = independent_counters(inprocess_transport)
    assert before == after
    assert report.counters_unchanged is True
    assert report.counters_start == before == report.counters_end
    bad = [(r.case_id, r.status.value, r.reason) for r in report.results if r.status in (Status.FAILED, Status.ERROR)]
    assert not bad
    skipped = {r.case_id: r.reason for r in report.results if r.status is Status.SKIPPED}
    assert skipped and all("--allow-destructive" in reason for reason in skipped.values())
    assert report.ok


def test_non_destructive_run_refuses_a_correct_verify_on_a_spent_counter(
        inprocess_transport: InProcessTransport, demo_secrets: Secrets) -> None:
    """A correct VERIFY would reset a spent counter: a non-destructive run must skip, not send it."""
    inprocess_transport.transmit(bytes.fromhex("00A4040C0AD392F000260100000001"))
    inprocess_transport.transmit(bytes.fromhex("00A4020C020018"))
    assert inprocess_transport.transmit(bytes.fromhex("002000800439393939")).hex() == "63c2"
    report = Runner(inprocess_transport, RunOptions(secrets=demo_secrets, only=("JPKI-SIG-001", "JPKI-PIN-002"))).run()
    assert {r.status for r in report.results} == {Status.SKIPPED}
    assert all("2 of 3 tries" in r.reason for r in report.results)
    assert report.counters_start["auth"] == report.counters_end["auth"] == 2


def test_destructive_run_passes_every_applicable_case(inprocess_transport: InProcessTransport,
                                                      demo_secrets: Secrets) -> None:
    options = RunOptions(secrets=demo_secrets, allow_destructive=True, robot=ReinsertRobot(inprocess_transport))
    report = Runner(inprocess_transport, options).run()
    by_status: dict[Status, list[str]] = {}
    for r in report.results:
        by_status.setdefault(r.status, []).append(r.case_id)
    assert set(by_status) == {Status.PASSED, Status.NOT_APPLICABLE, Status.OBSERVED}, [
        (r.case_id, r.reason) for r in report.results
        if r.status not in (Status.PASSED, Status.NOT_APPLICABLE, Status.OBSERVED)]
    assert sorted(by_status[Status.OBSERVED]) == sorted(c.id for c in ordered() if c.observes and c.id not in SM_PROFILE)
    # Not applicable here: contactless ATR, and the optional SM profile nobody claimed.
    assert sorted(by_status[Status.NOT_APPLICABLE]) == sorted(["CORE-ATR-002", *SM_PROFILE])
    assert report.counters_unchanged is None
    # Every key with a retry limit ends blocked by its blocking case.
    assert all(v == 0 for v in report.counters_end.values())
    # Cases that spent tries restored them before the blocking cases ran.
    restored = [r for r in report.results if r.impact == "spends-try"]
    assert restored and all(r.status is Status.PASSED for r in restored)


def test_sm_cases_pass_on_the_emulator_when_claimed_and_do_not_apply_otherwise(
        inprocess_transport: InProcessTransport, demo_secrets: Secrets) -> None:
    """The emulator models CI §11: every SM case passes once the profile is claimed."""
    claim = frozenset({Profile.SM})
    with_sm = Runner(inprocess_transport, RunOptions(secrets=demo_secrets, only=SM_CASES, claims=claim)).run()
    assert [r.status for r in with_sm.results] == [Status.PASSED] * len(SM_CASES), [
        (r.case_id, r.reason) for r in with_sm.results]
    unclaimed = Runner(inprocess_transport, RunOptions(secrets=demo_secrets, only=SM_CASES)).run()
    assert [r.status for r in unclaimed.results] == [Status.NOT_APPLICABLE] * len(SM_CASES)


def test_missing_secrets_and_robot_skip_with_the_reason(inprocess_transport: InProcessTransport) -> None:
    report = Runner(inprocess_transport, RunOptions(
        secrets=Secrets.from_mapping({"auth-pin": "1234"}), allow_destructive=True,
        only=("JPKI-SIG-001", "JPKI-CERT-004", "JPKI-STATE-003", "JPKI-CERT-003"))).run()
    result = {r.case_id: r for r in report.results}
    assert result["JPKI-SIG-001"].status is Status.PASSED
    assert result["JPKI-CERT-003"].status is Status.PASSED
    assert result["JPKI-CERT-004"].status is Status.SKIPPED
    assert "'sign-password'" in result["JPKI-CERT-004"].reason
    assert result["JPKI-STATE-003"].status is Status.SKIPPED and "robot" in result["JPKI-STATE-003"].reason


def test_a_wrong_supplied_secret_fails_once_and_is_never_sent_again(inprocess_transport: InProcessTransport) -> None:
    wrong = Secrets.from_mapping({**DEMO_SECRETS, "auth-pin": "9999"})
    report = Runner(inprocess_transport, RunOptions(
        secrets=wrong, only=("JPKI-SIG-001", "JPKI-SIG-002", "FLOW-B-001"))).run()
    statuses = [r.status for r in report.results]
    assert statuses[0] is Status.FAILED and "'auth-pin'" in report.results[0].reason
    assert statuses[1:] == [Status.SKIPPED, Status.SKIPPED]
    assert report.counters_end["auth"] == 2  # exactly one try spent, and the run says so
    assert report.counters_unchanged is False and not report.ok
    assert report.wrong_secrets == [report.results[0].reason]


def test_selection_by_id_and_profile(inprocess_transport: InProcessTransport) -> None:
    with pytest.raises(SelectionError, match="NOPE-XYZ-001"):
        select_cases(RunOptions(only=("NOPE-XYZ-001",)))
    cases = select_cases(RunOptions(profiles=frozenset({Profile.COMMON})))
    assert cases and all(Profile.COMMON in c.profiles for c in cases)
    report = Runner(inprocess_transport, RunOptions(only=("CORE-INS-001", "MF-CHAL-001"))).run()
    assert [r.case_id for r in report.results] == ["CORE-INS-001", "MF-CHAL-001"]


def test_reports_junit_html_json(tmp_path: Path, inprocess_transport: InProcessTransport,
                                 demo_secrets: Secrets) -> None:
    report = Runner(inprocess_transport, RunOptions(
        secrets=demo_secrets, only=("FLOW-C-001", "FLOW-E-001", "JPKI-SIG-001", "CORE-ATR-002", "JPKI-PIN-003"))).run()
    paths = write_reports(report, json_path=tmp_path / "r.json", junit_path=tmp_path / "r.xml",
                          html_path=tmp_path / "r.html")
    assert [p.name for p in paths] == ["r.json", "r.xml", "r.html"]
    junit = ET.parse(tmp_path / "r.xml").getroot()
    cases = {c.get("name").split()[0]: c for c in junit.iter("testcase")}
    assert set(cases) == {"FLOW-C-001", "FLOW-E-001", "JPKI-SIG-001", "CORE-ATR-002", "JPKI-PIN-003", "RUN-COUNTERS",
                          "RUN-SECRETS"}
    assert cases["CORE-ATR-002"].find("skipped").get("message").startswith("NOT APPLICABLE")
    assert cases["JPKI-PIN-003"].find("skipped").get("message").startswith("SKIPPED")
    assert "80 2A" in cases["JPKI-SIG-001"].find("system-out").text or "802A" in cases["JPKI-SIG-001"].find("system-out").text
    assert cases["RUN-COUNTERS"].find("failure") is None and cases["RUN-SECRETS"].find("failure") is None
    assert junit.get("failures") == "0" and junit.get("tests") == "7"
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script" not in html and "http" not in html.replace("http-equiv", "")
    assert all(i in html for i in ("FLOW-C-001", "JPKI-SIG-001", "Summary per profile", "Retry counters"))
    again = load_json(tmp_path / "r.json")
    assert [r.to_json() for r in again.results] == [r.to_json() for r in report.results]
    # Timings and APDUs are in every result that ran.
    assert all(r.exchanges and r.duration_ms > 0 for r in report.results if r.status is Status.PASSED)


def test_no_secret_and_no_my_number_reaches_any_report(inprocess_transport: InProcessTransport,
                                                       demo_secrets: Secrets) -> None:
    report = Runner(inprocess_transport, RunOptions(secrets=demo_secrets, allow_destructive=True,
                                                    robot=ReinsertRobot(inprocess_transport))).run()
    texts = [render_json(report), render_junit(report), render_html(report)]
    forbidden = {"my number": b"123456789018", "code B": b"60041220362468", "password": b"ABC123",
                 "birth key": b"600412"}
    for what, value in forbidden.items():
        for text in texts:
            assert value.hex().upper() not in text.upper(), what
            assert value.decode() not in text, what
    kinds = {e["kind"] for r in json.loads(texts[0])["results"] for e in r["exchanges"]}
    assert {"secret", "my-number", "personal"} <= kinds
