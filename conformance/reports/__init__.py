"""Reports of a run: JSON (the record, also what `diff` reads), JUnit XML (for CI) and a
self-contained HTML page (for a person). All three are written from a `RunReport` and carry only
redacted exchanges: nothing secret is in the report to begin with. They still describe one person's
card (its ATR, serial-bearing records, which PINs were wrong), so they are written owner-only
(0600), like the emulator's traces."""

from __future__ import annotations

import json
import os
from pathlib import Path

from mynacard.conformance.reports.html_report import render_html
from mynacard.conformance.reports.junit import render_junit
from mynacard.conformance.runner import RunReport

#: Reports hold personal data (the card's records, which secrets were wrong): owner-only.
REPORT_MODE = 0o600


def render_json(report: RunReport) -> str:
    return json.dumps(report.to_json(), ensure_ascii=False, indent=1) + "\n"


def load_json(path: Path | str) -> RunReport:
    """Read a JSON report back (for `mynacard conformance diff`); ValueError if it is not one."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read the report {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path} is not a mynacard conformance JSON report")
    return RunReport.from_json(raw)


def write_reports(report: RunReport, *, json_path: Path | None = None, junit_path: Path | None = None,
                  html_path: Path | None = None) -> list[Path]:
    """Write the requested reports atomically enough for CI (write, then rename), mode 0600 even when
    an older report at the path was readable by others; returns the paths."""
    written = []
    for path, render in ((json_path, render_json), (junit_path, render_junit), (html_path, render_html)):
        if path is None:
            continue
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, REPORT_MODE)
        os.fchmod(fd, REPORT_MODE)  # a leftover .tmp keeps its old mode through O_CREAT
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(render(report))
        tmp.replace(path)
        written.append(path)
    return written


__all__ = ["load_json", "render_html", "render_json", "render_junit", "write_reports"]
