"""A self-contained HTML report: one file, inline CSS, no script, no external resource — it can be
mailed to a customer or archived with a delivery as it is.

Layout: the verdict and the card; the observations (CI §12: what this card does where real cards
disagree); a summary per profile; the retry counters at start and end; then every case with its
clause, status, reason, notes and the (redacted) APDUs with timings.
"""

from __future__ import annotations

from html import escape

from mynacard.conformance.model import CaseResult, Status
from mynacard.conformance.runner import RunReport

CSS = """
body{font-family:system-ui,"Noto Sans JP","IPAGothic",sans-serif;margin:2em;color:#222;max-width:80em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;
vertical-align:top}th{background:#f3f3f3}
.PASSED{color:#11632b}.FAILED,.ERROR{color:#b00020;font-weight:bold}.SKIPPED{color:#8a6d00}
.NA{color:#666}.OBSERVED{color:#1a4f8a;font-weight:bold}.verdict{font-size:1.3em;padding:.4em .8em;display:inline-block;border-radius:4px}
.ok{background:#e5f4ea}.bad{background:#fbe5e8}
details{margin:.2em 0}summary{cursor:pointer}
pre{background:#f7f7f7;padding:.5em;overflow-x:auto;font-size:.85em;white-space:pre-wrap;word-break:break-all}
code{font-size:.9em}
"""


def _status_class(status: Status | str) -> str:
    value = status.value if isinstance(status, Status) else status
    return "NA" if value == Status.NOT_APPLICABLE.value else value


def _case(result: CaseResult) -> str:
    rows = "\n".join(
        f"{escape(e.command)}  →  {escape(e.response)}   [{escape(e.label)}] {e.duration_ms:.2f} ms"
        for e in result.exchanges)
    notes = "".join(f"<li>{escape(n)}</li>" for n in result.notes)
    reason = f"<p>{escape(result.reason)}</p>" if result.reason else ""
    return (
        f'<details id="{escape(result.case_id)}"><summary><b>{escape(result.case_id)}</b> '
        f'<span class="{_status_class(result.status)}">{escape(result.status.value)}</span> '
        f"{escape(result.title)} <small>({result.duration_ms:.1f} ms)</small></summary>"
        f"<p>Clauses: {escape(', '.join(result.refs))} · Profiles: {escape(', '.join(result.profiles))} · "
        f"Impact: {escape(result.impact)}</p>{reason}"
        + (f"<ul>{notes}</ul>" if notes else "")
        + (f"<pre>{rows}</pre>" if rows else "")
        + "</details>"
    )


def _verdict(report: RunReport) -> tuple[str, str]:
    """The headline: a wrong supplied secret says nothing about the card, so a run whose only fault
    is a secret the card rejected is "not judged", never "does not conform" (the vendor fixes the
    secrets file and runs again)."""
    if report.ok:
        return "ok", "CONFORMS to the cases run"
    if report.only_secrets_wrong:
        return "bad", "NOT JUDGED: a supplied secret was wrong (see Wrong secrets); no other case failed"
    return "bad", "DOES NOT CONFORM"


def render_html(report: RunReport) -> str:
    counts = report.counts()
    verdict_class, verdict = _verdict(report)
    statuses = [s.value for s in Status]
    summary_rows = "".join(
        f"<tr><th>{escape(profile)}</th>" + "".join(f"<td>{row[s]}</td>" for s in statuses) + "</tr>"
        for profile, row in report.summary().items())
    total_row = "<tr><th>all cases</th>" + "".join(f"<td><b>{counts[s]}</b></td>" for s in statuses) + "</tr>"
    if report.counters_unchanged is None:
        counter_verdict = "Destructive cases ran: counters were expected to change."
    elif report.counters_unchanged:
        counter_verdict = "Every retry counter is as it was found."
    else:
        counter_verdict = "<b class='FAILED'>A non-destructive run changed retry counters.</b>"
    counter_rows = "".join(
        f"<tr><td>{escape(code)}</td><td>{report.counters_start.get(code)}</td><td>{report.counters_end.get(code)}</td></tr>"
        for code in report.counters_start)
    options = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in report.options.items())
    failing = [r for r in report.results if r.status in (Status.FAILED, Status.ERROR)]
    failing_list = "".join(
        f'<li><a href="#{escape(r.case_id)}">{escape(r.case_id)}</a> {escape(r.reason)}</li>' for r in failing)
    cases = "\n".join(_case(r) for r in report.results)
    wrong_secrets = ("<h2>Wrong secrets</h2><ul>" + "".join(
        f"<li class='FAILED'>{escape(w[0].upper() + w[1:])}.</li>" for w in report.wrong_secrets) + "</ul>"
        if report.wrong_secrets else "")
    observation_rows = "".join(
        f'<tr><th>{escape(r.observation.behaviour)}</th><td class="OBSERVED">{escape(r.observation.value)}</td>'
        f'<td><a href="#{escape(r.case_id)}">{escape(r.case_id)}</a></td><td>{escape(r.observation.detail)}</td></tr>'
        for rows in report.observations().values() for r in rows if r.observation is not None)
    observations = (
        "<h2>Observations (CI §12)</h2><p>Behaviours the public sources disagree on: these cases never pass "
        "or fail, they record what this card does. The value is the emulator option that behaves the same "
        "(<code>mynacard emulate --behaviour KEY=VALUE</code>); for an <code>answer:</code> behaviour it is "
        "what the card answered where card-interface.md gives no status word.</p>"
        f"<table><tr><th>behaviour</th><th>this card</th><th>case</th><th>evidence</th></tr>{observation_rows}</table>"
        if observation_rows else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>mynacard conformance report</title>
<style>{CSS}</style></head><body>
<h1>My Number Card conformance report</h1>
<p class="verdict {verdict_class}">{verdict}</p>
<table>
<tr><th>Card</th><td>{escape(report.transport)}</td></tr>
<tr><th>ATR</th><td><code>{escape(report.atr)}</code></td></tr>
<tr><th>Profiles</th><td>{escape(', '.join(report.profiles))}</td></tr>
<tr><th>Started</th><td>{escape(report.started)}</td></tr>
<tr><th>Duration</th><td>{report.duration_ms / 1000:.2f} s</td></tr>
<tr><th>Tool</th><td>{escape(report.tool)}</td></tr>
{options}
</table>
{wrong_secrets}{f'<h2>Failures</h2><ul>{failing_list}</ul>' if failing else ''}
{observations}
<h2>Summary per profile</h2>
<table><tr><th></th>{''.join(f'<th>{s}</th>' for s in statuses)}</tr>{summary_rows}{total_row}</table>
<h2>Retry counters</h2>
<p>{counter_verdict} Read with the VERIFY query only (no try spent).</p>
<table><tr><th>key</th><th>start</th><th>end</th></tr>{counter_rows}</table>
<h2>Cases</h2>
<p>Clause numbers refer to card-interface.md. VERIFY/CHANGE data, the My Number and personal data
are redacted in the APDU logs.</p>
{cases}
</body></html>
"""
