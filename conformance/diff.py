"""Differential mode: compare the JSON reports of two runs — a real card against the emulator, two
card generations, two readers — step by step (anchors.md §3, "missing features" 1).

Within each case the exchanges of the two runs are aligned on their commands (difflib), so one
card's longer certificate (more READ BINARY chunks) does not shift every later step. For each
aligned pair:
- the status word must be the same;
- the response length must be the same where it does not depend on the card (constants, random
  data of a requested length, answers without data) — elsewhere a length difference is only noted;
- the data must be the same where the report kept it, i.e. only for data that is the same on every
  conforming card (`DataKind.CONSTANT`). Personal, secret and random data never enter a report.
A case that passed in one run and not in the other is a difference too.

Observation cases (CI §12) are compared on what they observed, not step by step: their steps are
meant to get different answers from cards that take different sides. An observation that differs
is listed first, marked ◆, with the emulator option that takes B's side.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from mynacard.conformance.model import CaseResult, DataKind, Exchange
from mynacard.conformance.runner import RunReport

#: Kinds whose length is the same on every conforming card.
FIXED_LENGTH = frozenset({DataKind.NONE, DataKind.CONSTANT, DataKind.RANDOM, DataKind.SECRET})


@dataclass(frozen=True)
class Difference:
    case_id: str
    where: str
    a: str
    b: str
    #: "observation" (the cards take different sides of a CI §12 behaviour), "difference" (the
    #: cards behave differently) or "note" (differs as two cards' data may).
    severity: str = "difference"

    def __str__(self) -> str:
        mark = {"observation": "◆", "difference": "≠"}.get(self.severity, "~")
        return f"{mark} {self.case_id}: {self.where}: A {self.a} | B {self.b}"


def _key(e: Exchange) -> str:
    """What makes two steps the same step: the command; for a command with redacted (secret) data,
    its header only, as two cards' secrets may differ in length."""
    return e.command[:8] + " <secret>" if "<" in e.command else e.command


def _compare_steps(case_id: str, a: list[Exchange], b: list[Exchange]) -> list[Difference]:
    out: list[Difference] = []
    matcher = difflib.SequenceMatcher(a=[_key(e) for e in a], b=[_key(e) for e in b], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for x, y in zip(a[i1:i2], b[j1:j2], strict=True):
                out.extend(_compare_pair(case_id, x, y))
            continue
        for side, steps in (("A", a[i1:i2]), ("B", b[j1:j2])):
            for e in steps:
                reads = e.command[2:4] in ("B0", "B2")
                out.append(Difference(case_id, f"step '{e.label}' only in {side}",
                                      e.command if side == "A" else "-", e.command if side == "B" else "-",
                                      "note" if reads else "difference"))
    return out


def _compare_pair(case_id: str, x: Exchange, y: Exchange) -> list[Difference]:
    out = []
    where = f"'{x.label}' ({x.command})"
    if x.sw != y.sw:
        out.append(Difference(case_id, f"{where} SW", f"{x.sw:04X}", f"{y.sw:04X}"))
        return out
    if x.length != y.length:
        fixed = x.kind in FIXED_LENGTH and y.kind in FIXED_LENGTH
        out.append(Difference(case_id, f"{where} length", str(x.length), str(y.length),
                              "difference" if fixed else "note"))
    if x.comparable is not None and y.comparable is not None and x.comparable != y.comparable:
        out.append(Difference(case_id, f"{where} data", x.comparable, y.comparable))
    return out


def compare(a: RunReport, b: RunReport) -> list[Difference]:
    out: list[Difference] = []
    ra: dict[str, CaseResult] = {r.case_id: r for r in a.results}
    rb: dict[str, CaseResult] = {r.case_id: r for r in b.results}
    for case_id in list(ra) + [c for c in rb if c not in ra]:
        x, y = ra.get(case_id), rb.get(case_id)
        if x is None or y is None:
            out.append(Difference(case_id, "case run", "yes" if x else "no", "yes" if y else "no", "note"))
            continue
        if x.observation is not None or y.observation is not None:
            out.extend(_compare_observations(case_id, x, y))
            continue
        if x.status is not y.status:
            out.append(Difference(case_id, "status", x.status.value, y.status.value))
        out.extend(_compare_steps(case_id, x.exchanges, y.exchanges))
    return out


def _compare_observations(case_id: str, x: CaseResult, y: CaseResult) -> list[Difference]:
    a = x.observation.value if x.observation else f"nothing observed ({x.status.value})"
    b = y.observation.value if y.observation else f"nothing observed ({y.status.value})"
    if a == b:
        return []
    behaviour = (x.observation or y.observation).behaviour  # type: ignore[union-attr]
    return [Difference(case_id, f"observed {behaviour}", a, b, "observation")]


def render(a_name: str, b_name: str, a: RunReport, b: RunReport, diffs: list[Difference]) -> str:
    observed = [d for d in diffs if d.severity == "observation"]
    real = [d for d in diffs if d.severity == "difference"]
    notes = [d for d in diffs if d.severity == "note"]
    lines = [f"A: {a_name} — {a.transport}, ATR {a.atr}, {len(a.results)} cases",
             f"B: {b_name} — {b.transport}, ATR {b.atr}, {len(b.results)} cases"]
    if a.atr != b.atr:
        lines.append("~ the ATRs differ (cards of different generations or readers; CI §1.1)")
    if observed:
        lines.append("observations that differ (CI §12: the two cards take different sides):")
        lines += [str(d) for d in observed]
        sides = sorted({f"--behaviour {d.where.removeprefix('observed ')}={d.b}" for d in observed
                        if not d.b.startswith("nothing") and d.b != "other"})
        if sides:
            lines.append("  the emulator takes B's side with: mynacard emulate " + " ".join(sides))
    lines += [str(d) for d in real]
    lines += [str(d) for d in notes]
    lines.append(f"{len(observed)} observations differ, {len(real)} differences, {len(notes)} notes "
                 "(◆ a CI §12 side differs; ≠ behaviour differs; ~ data that may differ between cards)")
    return "\n".join(lines) + "\n"
