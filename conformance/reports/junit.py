"""JUnit XML, the format every CI understands (GlobalTester produces it the same way, anchors.md §3.2).

One <testsuite> per catalogue area, one <testcase> per case; NOT APPLICABLE and SKIPPED become
<skipped> with the status in the message; the redacted APDU log is the case's <system-out>. An
OBSERVED case (CI §12) neither passes nor fails in the card's favour or against it: it is a plain
<testcase> whose <properties> carry the observation (`observed` = `reselect=keeps`).
The run's own post-condition — retry counters unchanged in a non-destructive run — is a test
case `RUN-COUNTERS` of its own, so a CI that reads only JUnit still fails on it; so is `RUN-SECRETS`,
which fails with one sentence per key of the secrets file the card rejected.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from mynacard.conformance.model import CaseResult, Status
from mynacard.conformance.runner import RunReport


def _log(result: CaseResult) -> str:
    lines = [f"{e.command}  →  {e.response}   [{e.label}] {e.duration_ms:.2f} ms" for e in result.exchanges]
    lines += [f"note: {n}" for n in result.notes]
    return "\n".join(lines)


def _testcase(parent: ET.Element, area: str, result: CaseResult) -> None:
    case = ET.SubElement(parent, "testcase", classname=f"mynacard.conformance.{area}",
                         name=f"{result.case_id} {result.title}", time=f"{result.duration_ms / 1000:.4f}")
    if result.status is Status.FAILED:
        ET.SubElement(case, "failure", message=result.reason, type="FAILED").text = result.reason
    elif result.status is Status.ERROR:
        ET.SubElement(case, "error", message=result.reason, type="ERROR").text = result.reason
    elif result.status in (Status.SKIPPED, Status.NOT_APPLICABLE):
        ET.SubElement(case, "skipped", message=f"{result.status.value}: {result.reason}")
    if result.observation is not None:
        props = ET.SubElement(case, "properties")
        ET.SubElement(props, "property", name="observed", value=str(result.observation))
        ET.SubElement(props, "property", name="observation-detail", value=result.observation.detail)
    out = _log(result)
    if result.observation is not None:
        out = f"OBSERVED {result.observation}: {result.observation.detail}\n" + out
    if out:
        ET.SubElement(case, "system-out").text = out


def render_junit(report: RunReport) -> str:
    root = ET.Element("testsuites", name="mynacard conformance")
    areas: dict[str, list[CaseResult]] = {}
    for r in report.results:
        areas.setdefault(r.case_id.split("-", 1)[0], []).append(r)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "time": 0.0}
    for area, rows in areas.items():
        suite = ET.SubElement(root, "testsuite", name=area, timestamp=report.started)
        counts = _counts(rows)
        for key, value in counts.items():
            suite.set(key, f"{value:.4f}" if key == "time" else str(value))
            totals[key] += value
        props = ET.SubElement(suite, "properties")
        for name, text in (("transport", report.transport), ("atr", report.atr), ("tool", report.tool),
                           ("profiles", " ".join(report.profiles))):
            ET.SubElement(props, "property", name=name, value=text)
        for r in rows:
            _testcase(suite, area, r)
    run = ET.SubElement(root, "testsuite", name="RUN", timestamp=report.started)
    check = ET.SubElement(run, "testcase", classname="mynacard.conformance.RUN",
                          name="RUN-COUNTERS every retry counter as found at the start of the run", time="0")
    lines = [f"{code}: start {report.counters_start.get(code)} end {report.counters_end.get(code)}"
             for code in report.counters_start]
    ET.SubElement(check, "system-out").text = "\n".join(lines)
    failures = 0
    if report.counters_unchanged is False:
        message = "a non-destructive run changed retry counters: " + "; ".join(report.counter_changes)
        ET.SubElement(check, "failure", message=message, type="FAILED").text = message
        failures = 1
    elif report.counters_unchanged is None:
        ET.SubElement(check, "skipped", message="destructive cases ran: counters were expected to change")
    secrets = ET.SubElement(run, "testcase", classname="mynacard.conformance.RUN",
                            name="RUN-SECRETS every supplied secret is accepted by the card", time="0")
    if report.wrong_secrets:
        message = " ".join(f"{w[0].upper()}{w[1:]}." for w in report.wrong_secrets)
        ET.SubElement(secrets, "failure", message=message, type="FAILED").text = message
        failures += 1
    run.set("tests", "2")
    run.set("failures", str(failures))
    run.set("errors", "0")
    run.set("skipped", "1" if report.counters_unchanged is None else "0")
    run.set("time", "0")
    totals["tests"] += 2
    totals["failures"] += failures
    totals["skipped"] += 1 if report.counters_unchanged is None else 0
    for key, value in totals.items():
        root.set(key, f"{value:.4f}" if key == "time" else str(int(value)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _counts(rows: list[CaseResult]) -> dict[str, float]:
    return {
        "tests": len(rows),
        "failures": sum(r.status is Status.FAILED for r in rows),
        "errors": sum(r.status is Status.ERROR for r in rows),
        "skipped": sum(r.status in (Status.SKIPPED, Status.NOT_APPLICABLE) for r in rows),
        "time": sum(r.duration_ms for r in rows) / 1000,
    }
