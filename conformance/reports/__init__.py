"""Reports of a run: JSON (the record, also what `diff` reads), JUnit XML (for CI) and a
self-contained HTML page (for a person). All three are written from a `RunReport` and carry only
redacted exchanges: nothing secret or personal is in the report to begin with."""

from __future__ import annotations

import json
from pathlib import Path

from mynacard.conformance.reports.html_report import render_html
from mynacard.conformance.reports.junit import render_junit
from mynacard.conformance.runner import RunReport


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
    """Write the requested reports atomically enough for CI (write, then rename); returns the paths."""
    written = []
    for path, render in ((json_path, render_json), (junit_path, render_junit), (html_path, render_html)):
        if path is None:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(render(report), encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written


__all__ = ["load_json", "render_html", "render_json", "render_junit", "write_reports"]
