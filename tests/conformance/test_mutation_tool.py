"""tools/mutation.py, the catalogue's mutation score (issue 17), on a quick sample: the draw is
reproducible, a fault the catalogue must see is killed, the accounting adds up, and the reviewed
list of equivalent mutants names only mutants that exist. The full score (≥ 200 mutants) is run
by hand: docs/conformance.md."""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "mutation.py"


@pytest.fixture(scope="module")
def mutation() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutation_tool", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutation_tool"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def test_the_draw_is_reproducible_and_depends_on_the_seed(mutation: ModuleType) -> None:
    mutants = mutation.all_mutants()
    assert len(mutants) > 1000
    assert mutation.sample(mutants, 50, 17) == mutation.sample(mutants, 50, 17)
    assert mutation.sample(mutants, 50, 17) != mutation.sample(mutants, 50, 18)
    assert mutation.sample(mutants, None, 17) == list(range(len(mutants)))


def test_every_reviewed_equivalent_names_a_mutant_that_exists_and_says_why(mutation: ModuleType) -> None:
    """A line that changed makes its entry stale: the mutant is counted again until reviewed."""
    assert mutation.stale_entries() == []
    equivalent = mutation.load_equivalent()
    assert equivalent
    assert all(len(reason) > 20 for reason in equivalent.values())
    encode = [m for m in mutation.all_mutants() if m.file == "apdu.py" and m.scope == "encode"]
    assert encode and all(m.key in equivalent for m in encode)  # an [[outside]] function: all of it


def test_a_seeded_fault_is_killed_and_an_equivalent_one_is_not_run(mutation: ModuleType) -> None:
    """VERIFY's P1 check flipped (CI §2: P1 = 00) must fail the catalogue; a listed equivalent
    mutant is counted as equivalent without running."""
    mutants = mutation.all_mutants()
    flipped = next(i for i, m in enumerate(mutants)
                   if m.file == "card_os.py" and m.scope == "_verify" and m.source == "if cmd.p1 != 0x00:"
                   and m.op == "flip")
    equivalent = next(i for i, m in enumerate(mutants) if m.key in mutation.load_equivalent())
    out = io.StringIO()
    total, rows = mutation.score([flipped, equivalent], out=out)
    assert (total.killed, total.survived, total.timeout, total.equivalent) == (1, 0, 0, 1)
    verdicts = {m.key: kind for m, kind, _ in rows}
    assert verdicts[mutants[flipped].key] == "killed"
    assert verdicts[mutants[equivalent].key] == "equivalent"
    assert total.percent == 100.0
    assert "killed" in out.getvalue() and mutants[flipped].file in out.getvalue()


def test_the_command_accounts_for_every_mutant_of_a_small_sample(tmp_path: Path) -> None:
    report = tmp_path / "score.json"
    done = subprocess.run([sys.executable, str(TOOL), "--sample", "6", "--seed", "5", "--json", str(report)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    score = json.loads(report.read_text(encoding="utf-8"))
    counted = score["killed"] + score["timeout"] + score["survived"] + score["equivalent"]
    assert counted == score["sample"] == len(score["verdicts"]) == 6
    assert f"6 of {score['mutants']} mutants (seed 5)" in done.stdout
    survivors = [v["mutant"] for v in score["verdicts"] if v["verdict"] == "survived"]
    assert all(s in done.stdout for s in survivors)  # every surviving line is printed
