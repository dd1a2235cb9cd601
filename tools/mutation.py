#!/usr/bin/env python3
"""Mutation score of the conformance catalogue: `.venv/bin/python tools/mutation.py --sample 200 --seed 17`.

Why: a catalogue that passes the emulator says little until it is shown to fail a card that is
slightly wrong. This tool seeds one small fault at a time into the card model's run-time files (a
comparison flipped, an integer constant off by one, a condition forced, `and`/`or` swapped, a
statement removed), runs the whole catalogue in-process against the emulator with that fault
(destructive, SM claimed, the in-process robot), and counts:

- killed — a case FAILED or ERRORed, the run did not finish (the card crashed), or an
  observation case (CI §12) saw something else than on the unmutated card;
- timeout — the run did not end within its time limit (an infinite loop: caught, counted apart);
- survived — every case passed as on the unmutated card: the line and the mutation are printed;
- equivalent — a mutant listed, with the reason, in `tools/mutation_equivalent.toml`: reviewed
  and shown to behave exactly as the original for every APDU a client can send.

The score is killed + timeout over all but the equivalent ones. Each mutant runs in its own
process (a fresh interpreter whose import of the mutated module is served from memory: the working
tree is never written), so a mutant that hangs or corrupts state cannot affect the next one.
Sampling is deterministic: the same `--seed` and `--sample` draw the same mutants from the same
sources. Not part of the default test run (a 200-mutant sample takes minutes); tests/conformance/
test_mutation_tool.py runs a small sample of it.
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "applet_model"
#: The card model's run-time files: what runs while the card answers an APDU. Left out: image.py
#: and store.py (reading and writing the card image; faults there fail loading, not a command),
#: profiles.py (option tables; each option is checked by its own tests) and key_pairs.py (keys are
#: made when a card is personalised, not while it answers).
RUNTIME_FILES = ("apdu.py", "card.py", "card_os.py", "access.py", "files.py", "secrets.py",
                 "secure_messaging.py", "state.py", "rsa_sign.py", "aps/common.py", "aps/jpki.py",
                 "aps/juki.py", "aps/text.py", "aps/visual.py")
EQUIVALENT_FILE = ROOT / "tools" / "mutation_equivalent.toml"
#: A run of the catalogue takes about a second; a mutant still running after this has looped.
DEFAULT_TIMEOUT = 60.0

_FLIPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}
_SYMBOL = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
           ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not"}


@dataclass(frozen=True)
class Mutant:
    """One fault: which file, which node (by its position in a fixed walk), what it becomes."""

    file: str
    #: The innermost function or class around the node (`<module>` at the top level).
    scope: str
    line: int
    col: int
    #: The original line, stripped: with `change` it names the mutant across edits that move lines.
    source: str
    change: str
    #: Index of the node in `ast.walk` order and the operator applied (see `_mutations`).
    node: int
    op: str
    #: 1 for the first mutant with this file, scope, line text and change (in line, column order),
    #: 2 for the next (`a or b or c`: two `or` → `and` on one line), …
    occurrence: int = 1

    @property
    def key(self) -> str:
        suffix = f" #{self.occurrence}" if self.occurrence > 1 else ""
        return f"{self.file}: {self.scope}: {self.source} :: {self.change}{suffix}"

    def __str__(self) -> str:
        return f"applet_model/{self.file}:{self.line}:{self.col} ({self.scope})  {self.change}   | {self.source}"


# -- the operators ---------------------------------------------------------------------------------

def _is_docstring(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    parent = parents.get(node)
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(
        node.value.value, str) and parent is not None and getattr(parent, "body", [None])[0] is node


def _mutations(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> Iterator[tuple[str, str]]:
    """(op, description) for every mutation this node allows."""
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _FLIPS:
        old = type(node.ops[0])
        yield "flip", f"`{_SYMBOL[old]}` → `{_SYMBOL[_FLIPS[old]]}`"
    elif isinstance(node, ast.Constant) and type(node.value) is int and not isinstance(
            parents.get(node), ast.UnaryOp):
        yield "plus", f"{node.value} → {node.value + 1}"
        if node.value > 0:
            yield "minus", f"{node.value} → {node.value - 1}"
    elif isinstance(node, ast.BoolOp):
        yield "boolop", "`and` → `or`" if isinstance(node.op, ast.And) else "`or` → `and`"
    if isinstance(node, (ast.If, ast.While, ast.IfExp, ast.Assert)):
        yield "true", "condition forced True"
        yield "false", "condition forced False"
    if isinstance(node, (ast.Expr, ast.Assign, ast.AugAssign, ast.Raise, ast.Return, ast.AnnAssign)) and \
            isinstance(parents.get(node), (ast.FunctionDef, ast.If, ast.For, ast.While, ast.With, ast.Try)) and \
            not _is_docstring(node, parents) and not (isinstance(node, ast.AnnAssign) and node.value is None):
        yield "remove", "statement removed"


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}


def _enumerate(file: str) -> list[Mutant]:
    text = (MODEL / file).read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text)
    parents = _parents(tree)
    scopes: dict[ast.AST, str] = {}
    for outer in ast.walk(tree):  # breadth first: an inner function overwrites its outer one
        if isinstance(outer, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scopes.update((inner, outer.name) for inner in ast.walk(outer))
    # Text of messages: a refusal's message never leaves the card (only its SW does).
    in_message = {inner for outer in ast.walk(tree) if isinstance(outer, ast.JoinedStr) for inner in ast.walk(outer)}
    found = []
    for index, node in enumerate(ast.walk(tree)):
        if not hasattr(node, "lineno") or node in in_message:
            continue
        for op, change in _mutations(node, parents):
            found.append(Mutant(file, scopes.get(node, "<module>"), node.lineno, node.col_offset,
                                lines[node.lineno - 1].strip(), change, index, op))
    seen: dict[str, int] = {}
    for position in sorted(range(len(found)), key=lambda k: (found[k].line, found[k].col)):
        mutant = found[position]
        seen[mutant.key] = seen.get(mutant.key, 0) + 1
        found[position] = replace(mutant, occurrence=seen[mutant.key])
    return found


def all_mutants() -> list[Mutant]:
    return [m for file in RUNTIME_FILES for m in _enumerate(file)]


def _apply(tree: ast.Module, mutant: Mutant) -> ast.Module:
    tree = copy.deepcopy(tree)
    parents = _parents(tree)
    node = next(n for i, n in enumerate(ast.walk(tree)) if i == mutant.node)
    if mutant.op == "flip":
        assert isinstance(node, ast.Compare)
        node.ops = [_FLIPS[type(node.ops[0])]()]
    elif mutant.op in ("plus", "minus"):
        assert isinstance(node, ast.Constant)
        node.value += 1 if mutant.op == "plus" else -1
    elif mutant.op == "boolop":
        assert isinstance(node, ast.BoolOp)
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif mutant.op in ("true", "false"):
        assert isinstance(node, (ast.If, ast.While, ast.IfExp, ast.Assert))
        node.test = ast.Constant(mutant.op == "true")
    elif mutant.op == "remove":
        parent = parents[node]
        for field in ("body", "orelse", "finalbody"):
            block = getattr(parent, field, None)
            if isinstance(block, list) and node in block:
                block[block.index(node)] = ast.Pass()
    return ast.fix_missing_locations(tree)


def mutated_source(mutant: Mutant) -> str:
    return ast.unparse(_apply(ast.parse((MODEL / mutant.file).read_text(encoding="utf-8")), mutant))


# -- one mutant, in a worker process -------------------------------------------------------------------

class _MutatedLoader(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves one module of applet_model from the mutated source, at its real path."""

    def __init__(self, name: str, path: Path, source: str) -> None:
        self.name, self.path, self.source = name, path, source

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        spec = importlib.util.spec_from_loader(fullname, self, origin=str(self.path),
                                               is_package=self.path.name == "__init__.py")
        assert spec is not None
        spec.has_location = True
        return spec

    def exec_module(self, module: ModuleType) -> None:
        module.__file__ = str(self.path)
        exec(compile(self.source, str(self.path), "exec"), module.__dict__)  # noqa: S102 - the mutant


def run_catalogue() -> dict[str, object]:
    """The destructive catalogue over a fresh copy of the demo card: statuses and observations."""
    from mynacard.conformance.model import Profile
    from mynacard.conformance.robot import ReinsertRobot
    from mynacard.conformance.runner import Runner, RunOptions
    from mynacard.conformance.secrets import Secrets
    from mynacard.emulator.demo import copy_card, packaged_demo_card
    from mynacard.emulator.inprocess import InProcessTransport

    with tempfile.TemporaryDirectory(prefix="mynacard-mutant-") as temp:
        card = copy_card(packaged_demo_card(), Path(temp) / "card")
        transport = InProcessTransport.from_directory(card)
        options = RunOptions(secrets=Secrets.load(card / "secrets.toml"), allow_destructive=True,
                             claims=frozenset({Profile.SM}), robot=ReinsertRobot(transport))
        report = Runner(transport, options).run()
    return {"statuses": {r.case_id: r.status.value for r in report.results},
            "observed": {r.case_id: r.observation.value for r in report.results if r.observation is not None},
            "reasons": {r.case_id: r.reason for r in report.results if r.status.value in ("FAILED", "ERROR")},
            "ok": report.ok}


def worker(index: int | None) -> None:
    """Run the catalogue with mutant `index` of `all_mutants()` (None: the unmutated card); JSON out."""
    if index is not None:
        mutant = all_mutants()[index]
        module = "mynacard.applet_model." + mutant.file.removesuffix(".py").replace("/", ".")
        sys.meta_path.insert(0, _MutatedLoader(module, MODEL / mutant.file, mutated_source(mutant)))
    try:
        outcome = run_catalogue()
    except Exception as exc:  # noqa: BLE001 - a mutant that breaks the run is a killed mutant
        outcome = {"crash": f"{type(exc).__name__}: {exc}"[:300]}
    print(json.dumps(outcome))


def _run_worker(index: int | None, timeout: float) -> dict[str, object] | None:
    argv = [sys.executable, str(Path(__file__).resolve()), "--worker", "base" if index is None else str(index)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                              env={**os.environ, "PYTHONHASHSEED": "0"})
    except subprocess.TimeoutExpired:
        return None
    try:
        outcome: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        outcome = {"crash": f"the worker exited {done.returncode}: {done.stderr.strip()[-300:]}"}
    return outcome


# -- the score -------------------------------------------------------------------------------------------

def load_equivalent(path: Path = EQUIVALENT_FILE) -> dict[str, str]:
    """Reviewed equivalent mutants: key (file: scope: source :: change) → why it cannot be told apart.

    `[[equivalent]]` entries name one mutant each; `[[outside]]` entries name a whole function the
    card never runs while it answers an APDU (every mutant in it is equivalent)."""
    named, outside = _entries(path)
    for m in all_mutants():
        if (m.file, m.scope) in outside:
            named[m.key] = outside[(m.file, m.scope)]
    return named


def _entries(path: Path) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    raw = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    named = {f"{e['file']}: {e['scope']}: {e['source']} :: {e['change']}"
             + (f" #{e['occurrence']}" if e.get("occurrence", 1) > 1 else ""): e["reason"]
             for e in raw.get("equivalent", [])}
    return named, {(e["file"], e["scope"]): e["reason"] for e in raw.get("outside", [])}


def stale_entries(path: Path = EQUIVALENT_FILE) -> list[str]:
    """Entries of the equivalent list that name no mutant any more (their line or function changed)."""
    named, outside = _entries(path)
    mutants = all_mutants()
    keys = {m.key for m in mutants}
    scopes = {(m.file, m.scope) for m in mutants}
    return [k for k in named if k not in keys] + [f"{f}: {s} (outside)" for f, s in outside if (f, s) not in scopes]


def sample(mutants: list[Mutant], size: int | None, seed: int) -> list[int]:
    """Indexes of `size` mutants drawn with `seed` (all of them when size is None), in file order."""
    indexes = list(range(len(mutants)))
    if size is None or size >= len(indexes):
        return indexes
    return sorted(random.Random(seed).sample(indexes, size))  # noqa: S311 - a reproducible draw, not a secret


def verdict(outcome: dict[str, object] | None, baseline: dict[str, object]) -> tuple[str, str]:
    """killed / timeout / survived, and why."""
    if outcome is None:
        return "timeout", "the run did not end in time"
    if "crash" in outcome:
        return "killed", f"the run crashed ({outcome['crash']})"
    reasons = outcome.get("reasons") or {}
    assert isinstance(reasons, dict)
    if reasons:
        first = sorted(reasons)[0]
        return "killed", f"{len(reasons)} case(s) failed, first {first}: {str(reasons[first])[:120]}"
    if outcome.get("observed") != baseline.get("observed"):
        return "killed", "an observation case (CI §12) saw another behaviour"
    if outcome.get("statuses") != baseline.get("statuses"):
        changed = [c for c, s in outcome["statuses"].items()  # type: ignore[union-attr]
                   if s != baseline["statuses"].get(c)]  # type: ignore[union-attr]
        return "survived", f"no case failed; status changed (skipped?) in {', '.join(changed[:5])}"
    return "survived", "every case passed"


@dataclass
class Score:
    killed: int = 0
    timeout: int = 0
    survived: int = 0
    equivalent: int = 0

    @property
    def percent(self) -> float:
        judged = self.killed + self.timeout + self.survived
        return 100.0 * (self.killed + self.timeout) / judged if judged else 100.0


def score(indexes: list[int], *, timeout: float = DEFAULT_TIMEOUT, out=sys.stdout,  # noqa: ANN001
          jobs: int = 1) -> tuple[Score, list[tuple[Mutant, str, str]]]:
    """Run the sampled mutants; returns the score and (mutant, verdict, why) for each."""
    from concurrent.futures import ThreadPoolExecutor

    mutants = all_mutants()
    equivalent = load_equivalent()
    baseline = _run_worker(None, timeout)
    if not baseline or "crash" in baseline or not baseline.get("ok"):
        raise SystemExit(f"the unmutated card does not pass the catalogue: {baseline}")
    total = Score()
    rows: list[tuple[Mutant, str, str]] = []
    todo = [i for i in indexes if mutants[i].key not in equivalent]
    for i in indexes:
        if mutants[i].key in equivalent:
            total.equivalent += 1
            rows.append((mutants[i], "equivalent", equivalent[mutants[i].key]))
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for i, outcome in zip(todo, pool.map(lambda k: _run_worker(k, timeout), todo), strict=True):
            kind, why = verdict(outcome, baseline)
            setattr(total, kind, getattr(total, kind) + 1)
            rows.append((mutants[i], kind, why))
            print(f"{kind:<10} {mutants[i]}", file=out, flush=True)
    return total, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, metavar="N", help="run N mutants drawn with --seed (default: all)")
    parser.add_argument("--seed", type=int, default=17, help="the seed of the draw (default 17)")
    parser.add_argument("--match", metavar="TEXT", help="only mutants whose file, line or change contains TEXT")
    parser.add_argument("--list", action="store_true", help="list the mutants that would run, run nothing")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once (default 1)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per mutant")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every verdict as JSON")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        worker(None if args.worker == "base" else int(args.worker))
        return 0
    mutants = all_mutants()
    pool = [i for i, m in enumerate(mutants) if not args.match or args.match in str(m)]
    chosen = [pool[k] for k in sample([mutants[i] for i in pool], args.sample, args.seed)]
    if args.list:
        for i in chosen:
            print(mutants[i])
        print(f"{len(chosen)} of {len(mutants)} mutants")
        return 0
    for entry in stale_entries():
        print(f"stale entry in {EQUIVALENT_FILE.name} (review it): {entry}", file=sys.stderr)
    started = time.monotonic()
    total, rows = score(chosen, timeout=args.timeout, jobs=args.jobs)
    elapsed = time.monotonic() - started
    print(f"\n{len(chosen)} of {len(mutants)} mutants (seed {args.seed}) in {elapsed:.0f} s: "
          f"killed {total.killed}, timeout {total.timeout}, survived {total.survived}, "
          f"equivalent {total.equivalent} — {total.percent:.1f}% of non-equivalent mutants killed")
    survivors = [(m, why) for m, kind, why in rows if kind == "survived"]
    if survivors:
        print("survived:")
        for m, why in survivors:
            print(f"  {m}   ({why})")
    if args.json:
        args.json.write_text(json.dumps({
            "seed": args.seed, "sample": len(chosen), "mutants": len(mutants), "seconds": round(elapsed),
            "killed": total.killed, "timeout": total.timeout, "survived": total.survived,
            "equivalent": total.equivalent, "percent": round(total.percent, 1),
            "verdicts": [{"mutant": str(m), "key": m.key, "verdict": kind, "why": why} for m, kind, why in rows],
        }, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
