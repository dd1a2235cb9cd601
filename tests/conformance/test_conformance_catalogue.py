"""The catalogue as a specification: stable IDs, traceable clauses, full coverage of CI §2–§10 and
§13, the generated document in docs/ up to date."""

from __future__ import annotations

import re
from pathlib import Path

from mynacard.conformance.catalogue import AREAS, CATALOGUE, ordered
from mynacard.conformance.clauses import CLAUSES, OUT_OF_SCOPE, top_section
from mynacard.conformance.model import Impact
from mynacard.conformance.spec import coverage, render_markdown

ID = re.compile(r"^[A-Z]+-[A-Z0-9]+-\d{3}$")
REPO = Path(__file__).resolve().parents[2]


def test_ids_are_unique_well_formed_and_in_a_known_area() -> None:
    ids = [c.id for c in CATALOGUE]
    assert len(ids) == len(set(ids))
    assert all(ID.match(i) for i in ids), [i for i in ids if not ID.match(i)]
    assert {c.area for c in CATALOGUE} <= set(AREAS)


def test_every_clause_of_sections_2_to_10_and_13_is_checked_by_a_case() -> None:
    """Issue 5: every AP, command and SW of CI §2–§10 and the flows of §13."""
    used = {r for c in CATALOGUE for r in c.refs}
    required = [k for k in CLAUSES if top_section(k) in {f"§{n}" for n in (*range(2, 11), 13)}]
    missing = [k for k in required if k not in used and k not in OUT_OF_SCOPE]
    assert not missing, f"clauses without a case: {missing}"
    assert not set(OUT_OF_SCOPE) & used, "a clause is both out of scope and covered"


def test_each_case_has_numbered_steps_and_a_clause() -> None:
    for c in CATALOGUE:
        assert c.refs, c.id
        assert re.search(r"^1\. ", c.procedure, re.M), f"{c.id} has no numbered procedure"


def test_destructive_cases_say_what_they_touch_or_block() -> None:
    for c in CATALOGUE:
        if c.impact is Impact.SPENDS_TRY:
            assert c.touches, f"{c.id} spends tries but names no counter to restore"
        if c.impact is Impact.BLOCKS:
            assert c.blocks and c.needs, f"{c.id} blocks but does not say what"
        if c.impact is Impact.READ_ONLY:
            assert not c.touches and not c.blocks, c.id


def test_spec_lists_every_case_and_the_traceability_matrix() -> None:
    text = render_markdown()
    for c in CATALOGUE:
        assert f"#### {c.id} — " in text
        assert f"| {c.id} | {', '.join(c.refs)} |" in text
    assert "**not covered**" not in text
    assert "## Coverage of card-interface.md" in text


def test_docs_catalogue_is_the_generated_one() -> None:
    """docs/conformance-catalogue.md must be regenerated when the catalogue changes."""
    on_disk = (REPO / "docs" / "conformance-catalogue.md").read_text(encoding="utf-8")
    assert on_disk == render_markdown(), "run: mynacard conformance spec > docs/conformance-catalogue.md"


def test_coverage_is_complete_for_sections_2_to_10_and_13() -> None:
    rows = {r.section: r for r in coverage()}
    for n in (*range(2, 11), 13):
        assert rows[f"§{n}"].percent == 100.0, rows[f"§{n}"]


def test_run_order_puts_blocking_cases_last() -> None:
    from mynacard.conformance.runner import RunOptions, select_cases

    cases = select_cases(RunOptions())
    impacts = [c.impact.order for c in cases]
    assert impacts == sorted(impacts)
    assert len(cases) == len(ordered())


def test_conformance_never_imports_the_card_model_or_the_emulator() -> None:
    """DESIGN.md: conformance ──► host ──► (Transport); the card is known only through APDUs."""
    import subprocess
    import sys

    code = ("import sys, pkgutil, importlib, mynacard.conformance as c\n"
            "for m in pkgutil.walk_packages(c.__path__, 'mynacard.conformance.'): importlib.import_module(m.name)\n"
            "bad = sorted(m for m in sys.modules if m.startswith(('mynacard.applet_model', 'mynacard.emulator')))\n"
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
