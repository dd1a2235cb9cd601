"""Running the catalogue against one card: selection, applicability, safety, counters, results.

The order of a run:
1. reset; read the ATR; work out which profiles apply (contact or contactless from the ATR,
   extended length from the transport, the optional SM profile only when the vendor claims it);
2. read every retry counter with the VERIFY query — nothing is spent;
3. run the selected cases — read-only first, then those that spend tries, change PINs and, last,
   block keys, so that no case finds its secret blocked by an earlier one. Each case starts from a
   warm reset. The counters a destructive case touches are read before it and restored after it;
4. read every counter again. In a non-destructive run any difference fails the run, loudly.

A supplied secret the card rejects fails the run too, whatever else passed: the report names the
key of the secrets file and the tries its counter has left (`wrong_secrets`).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from mynacard import __version__
from mynacard.conformance import apdus
from mynacard.conformance.atr import AtrError, parse_atr
from mynacard.conformance.card_map import PIN_REFS, PIN_REFS_BY_CODE, PinRef
from mynacard.conformance.catalogue import ordered
from mynacard.conformance.context import CaseContext, CaseFailed, NotApplicable, Session, Skipped
from mynacard.conformance.model import Case, CaseResult, Exchange, Profile, Status
from mynacard.conformance.recorder import Recorder
from mynacard.conformance.robot import Robot
from mynacard.conformance.secrets import Secrets
from mynacard.errors import UsageError
from mynacard.host.sw import is_tries_left, tries_left
from mynacard.host.transport import Transport

REPORT_FORMAT = "mynacard-conformance-report"
REPORT_VERSION = 1

#: Every My Number Card has these (CI §5, §10): a missing AP fails its cases instead of hiding them.
MANDATORY_PROFILES = frozenset({Profile.CORE, Profile.MF, Profile.JPKI, Profile.TEXT, Profile.VISUAL,
                                Profile.COMMON, Profile.JUKI})
#: Optional features (CI §11) that apply only when the vendor claims them (`--claim SM`).
OPTIONAL_PROFILES = frozenset({Profile.SM})


class SelectionError(UsageError, ValueError):
    """--only or --profile names something the catalogue does not have."""


@dataclass
class RunOptions:
    secrets: Secrets = field(default_factory=Secrets)
    #: Run only cases that apply to one of these profiles (None: all).
    profiles: frozenset[Profile] | None = None
    #: Run only these case IDs (None: all).
    only: tuple[str, ...] | None = None
    allow_destructive: bool = False
    robot: Robot | None = None
    #: Optional profiles the vendor claims for the card.
    claims: frozenset[Profile] = frozenset()


@dataclass
class RunReport:
    transport: str
    atr: str
    started: str
    duration_ms: float
    profiles: list[str]
    options: dict[str, object]
    counters_start: dict[str, int | None]
    counters_end: dict[str, int | None]
    #: None when destructive cases ran (counters are expected to move), else whether they did not.
    counters_unchanged: bool | None
    results: list[CaseResult]
    tool: str = f"mynacard {__version__}"
    setup: list[Exchange] = field(default_factory=list)
    #: One sentence per key of the secrets file the card rejected: which key, tries left.
    wrong_secrets: list[str] = field(default_factory=list)

    @property
    def counter_changes(self) -> list[str]:
        return [f"{code}: {self.counters_start.get(code)} → {self.counters_end.get(code)}"
                for code in self.counters_start if self.counters_start.get(code) != self.counters_end.get(code)]

    @property
    def ok(self) -> bool:
        failed = any(r.status in (Status.FAILED, Status.ERROR) for r in self.results)
        return not failed and self.counters_unchanged is not False and not self.wrong_secrets

    @property
    def only_secrets_wrong(self) -> bool:
        """Not ok only because supplied secrets were wrong: every failure is a rejected secret and
        the counters lost no more than the one try each wrong secret costs. Such a run says
        nothing against the card (the vendor fixes the secrets file and runs again)."""
        if not self.wrong_secrets:
            return False
        if any(r.status is Status.ERROR or (r.status is Status.FAILED and r.reason not in self.wrong_secrets)
               for r in self.results):
            return False
        spent = 0
        for code, start in self.counters_start.items():
            end = self.counters_end.get(code)
            if start != end:
                if start is None or end is None or end > start:
                    return False
                spent += start - end
        return spent <= len(self.wrong_secrets)

    def observations(self) -> dict[str, list[CaseResult]]:
        """The observation cases that observed something, by behaviour (CI §12)."""
        out: dict[str, list[CaseResult]] = {}
        for r in self.results:
            if r.observation is not None:
                out.setdefault(r.observation.behaviour, []).append(r)
        return out

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Status}
        for r in self.results:
            out[r.status.value] += 1
        return out

    def summary(self) -> dict[str, dict[str, int]]:
        """Per profile: how many of its cases ended in each status."""
        out: dict[str, dict[str, int]] = {}
        for profile in Profile:
            rows = [r for r in self.results if profile.value in r.profiles]
            if rows:
                out[profile.value] = {s.value: sum(1 for r in rows if r.status is s) for s in Status}
        return out

    def to_json(self) -> dict[str, object]:
        return {
            "format": REPORT_FORMAT,
            "version": REPORT_VERSION,
            "tool": self.tool,
            "transport": self.transport,
            "atr": self.atr,
            "started": self.started,
            "ms": round(self.duration_ms, 3),
            "profiles": self.profiles,
            "options": self.options,
            "counters": {"start": self.counters_start, "end": self.counters_end,
                         "unchanged": self.counters_unchanged},
            "wrong_secrets": self.wrong_secrets,
            "counts": self.counts(),
            "summary": self.summary(),
            "setup": [e.to_json() for e in self.setup],
            "results": [r.to_json() for r in self.results],
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> RunReport:
        if raw.get("format") != REPORT_FORMAT:
            raise ValueError("this is not a mynacard conformance JSON report")
        counters = raw["counters"]
        assert isinstance(counters, dict)
        wrong = raw.get("wrong_secrets", [])
        return cls(
            transport=str(raw["transport"]),
            atr=str(raw["atr"]),
            started=str(raw["started"]),
            duration_ms=float(raw["ms"]),
            profiles=list(raw["profiles"]),
            options=dict(raw["options"]),
            counters_start=dict(counters["start"]),
            counters_end=dict(counters["end"]),
            counters_unchanged=counters["unchanged"],
            results=[CaseResult.from_json(r) for r in raw["results"]],
            tool=str(raw.get("tool", "")),
            setup=[Exchange.from_json(e) for e in raw.get("setup", [])],
            wrong_secrets=[str(w) for w in wrong] if isinstance(wrong, list) else [],
        )


def select_cases(options: RunOptions) -> list[Case]:
    """The cases of this run, in run order (by impact, then catalogue order)."""
    cases = ordered()
    if options.only:
        known = {c.id for c in cases}
        unknown = [i for i in options.only if i not in known]
        if unknown:
            raise SelectionError(f"no case {', '.join(unknown)} in the catalogue; `mynacard conformance list` shows them")
        wanted = set(options.only)
        cases = [c for c in cases if c.id in wanted]
    if options.profiles:
        cases = [c for c in cases if c.profiles & options.profiles]
    return sorted(cases, key=lambda c: c.impact.order)


def detect_profiles(transport: Transport, claims: Iterable[Profile]) -> set[Profile]:
    profiles = set(MANDATORY_PROFILES)
    try:
        contactless = parse_atr(transport.atr).contactless
    except AtrError:
        contactless = False  # CORE-ATR-001 reports the malformed ATR
    profiles.add(Profile.CONTACTLESS if contactless else Profile.CONTACT)
    if transport.extended_length:
        profiles.add(Profile.EXTENDED_LENGTH)
    profiles.update(p for p in claims if p in OPTIONAL_PROFILES)
    return profiles


def read_counters(recorder: Recorder, label: str) -> dict[str, int | None]:
    """Every retry counter by VERIFY query only (CI §13 F); None where the card gives no 63Cx."""
    out: dict[str, int | None] = {}
    recorder.reset(f"{label}: warm reset")
    for pin in PIN_REFS:
        out[pin.code] = _query(recorder, pin, f"{label}: {pin}")
    return out


def _query(recorder: Recorder, pin: PinRef, label: str) -> int | None:
    for apdu, what in ((apdus.select_aid(pin.app.aid), "SELECT AP"), (apdus.select_ef(pin.fid), f"SELECT EF {pin.fid:04X}")):
        if recorder.exchange(apdu, f"{label}: {what}").sw != 0x9000:
            return None
    sw = recorder.exchange(apdus.verify(0x80), f"{label}: VERIFY query").sw
    return tries_left(sw) if is_tries_left(sw) else None


class Runner:
    def __init__(self, transport: Transport, options: RunOptions,
                 progress: Callable[[CaseResult], None] | None = None) -> None:
        self.transport = transport
        self.options = options
        self.progress = progress or (lambda _result: None)
        self.recorder = Recorder(transport)

    def run(self) -> RunReport:
        started_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        started = time.perf_counter()
        cases = select_cases(self.options)
        setup = self.recorder.begin()
        profiles = detect_profiles(self.transport, self.options.claims)
        session = Session(self.recorder, self.options.secrets, self.options.robot,
                          self.options.allow_destructive, profiles)
        session.counters_at_start = read_counters(self.recorder, "counters at start")
        results = []
        for case in cases:
            result = self._run_case(session, case)
            results.append(result)
            self.progress(result)
        self.recorder.begin()
        end = read_counters(self.recorder, "counters at end")
        destructive_ran = any(c.impact.destructive for c in cases) and self.options.allow_destructive
        unchanged = None if destructive_ran else end == session.counters_at_start
        return RunReport(
            transport=self.transport.name,
            atr=self.transport.atr.hex().upper(),
            started=started_at,
            duration_ms=(time.perf_counter() - started) * 1000,
            profiles=sorted(p.value for p in profiles),
            options=self._describe_options(),
            counters_start=session.counters_at_start,
            counters_end=end,
            counters_unchanged=unchanged,
            results=results,
            setup=setup,
            wrong_secrets=list(session.rejected.values()),
        )

    def _describe_options(self) -> dict[str, object]:
        o = self.options
        return {
            "allow_destructive": o.allow_destructive,
            "profiles": sorted(p.value for p in o.profiles) if o.profiles else None,
            "only": list(o.only) if o.only else None,
            "claims": sorted(p.value for p in o.claims),
            "secrets_supplied": o.secrets.names(),
            "robot": o.robot.description if o.robot else None,
        }

    # -- one case --------------------------------------------------------------------------------

    def _run_case(self, session: Session, case: Case) -> CaseResult:
        result = CaseResult(case.id, case.title, case.refs, tuple(sorted(p.value for p in case.profiles)),
                            case.impact.value, Status.PASSED)
        reason = self._precondition(session, case)
        if reason is not None:
            result.status, result.reason = reason
            return result
        log = self.recorder.begin()
        result.exchanges = log
        context = CaseContext(session, case)
        started = time.perf_counter()
        before: dict[str, int | None] = {}
        try:
            self.recorder.reset()
            if case.touches:
                before = {code: _query(self.recorder, PIN_REFS_BY_CODE[code], f"pre-condition: {PIN_REFS_BY_CODE[code]}")
                          for code in case.touches}
                self.recorder.reset()
            case.run(context)
        except CaseFailed as exc:
            result.status, result.reason = Status.FAILED, str(exc)
        except NotApplicable as exc:
            result.status, result.reason = Status.NOT_APPLICABLE, str(exc)
        except Skipped as exc:
            result.status, result.reason = Status.SKIPPED, str(exc)
        except Exception as exc:  # noqa: BLE001 - the run goes on; the case says what broke
            result.status, result.reason = Status.ERROR, f"{type(exc).__name__}: {exc}"
        if case.observes is not None:
            self._observed(case, context, result)
        if before:
            self._restore(session, context, before, result)
        result.notes = context.notes
        result.duration_ms = (time.perf_counter() - started) * 1000
        return result

    @staticmethod
    def _observed(case: Case, context: CaseContext, result: CaseResult) -> None:
        """An observation case reports what the card did; it never passes or fails. One that could
        not get as far as the observation (a secret refused, a step answered otherwise) is SKIPPED."""
        if result.status is Status.PASSED:
            if context.observation is None:
                result.status, result.reason = Status.ERROR, f"{case.id} ended without an observation"
                return
            result.observation = context.observation
            result.status, result.reason = Status.OBSERVED, f"{context.observation}: {context.observation.detail}"
        elif result.status is Status.FAILED:
            result.status, result.reason = Status.SKIPPED, f"nothing observed: {result.reason}"

    def _precondition(self, session: Session, case: Case) -> tuple[Status, str] | None:
        missing = case.profiles - session.profiles
        if missing:
            names = ", ".join(sorted(p.value for p in missing))
            if missing & OPTIONAL_PROFILES:
                return Status.NOT_APPLICABLE, f"the optional profile {names} is not claimed for this card (--claim)"
            return Status.NOT_APPLICABLE, f"the card is not reached with {names} here"
        if case.impact.destructive and not session.allow_destructive:
            return Status.SKIPPED, f"destructive ({case.impact.value}): runs only with --allow-destructive"
        if case.robot and session.robot is None:
            return Status.SKIPPED, "needs a robot to remove and insert the card (--robot manual, or the emulator's control channel)"
        absent = [s for s in case.needs if not session.secrets.has(s)]
        if absent:
            return Status.SKIPPED, "needs " + ", ".join(f"the {s.label} ('{s.value}')" for s in absent) + " in the secrets file"
        rejected = [s for s in case.needs if s in session.rejected]
        if rejected:
            return Status.SKIPPED, ("the card rejected the secrets file's "
                                    + ", ".join(f"'{s.value}' ({s.label})" for s in rejected)
                                    + " earlier in this run; it is not sent again")
        return None

    def _restore(self, session: Session, context: CaseContext, before: dict[str, int | None],
                 result: CaseResult) -> None:
        """Post-condition of a destructive case: every counter it touched is back where it was."""
        try:
            self.recorder.reset("post-condition: warm reset")
            for code, was in before.items():
                pin = PIN_REFS_BY_CODE[code]
                now = _query(self.recorder, pin, f"post-condition: {pin}")
                if was is None or now is None or now >= was:
                    continue
                value = session.secrets.get(pin.secret) if pin.secret else None
                if value is not None and now > 0 and pin.secret not in session.rejected:
                    sw = self.recorder.exchange(apdus.verify(0x80, value), f"post-condition: VERIFY {pin} (restore)").sw
                    if sw != 0x9000:
                        session.reject(pin, sw)
                    now = _query(self.recorder, pin, f"post-condition: {pin} after restoring")
                if now is not None and now < was:
                    if result.status is Status.PASSED:
                        result.status = Status.FAILED
                        result.reason = f"post-condition: {pin} has {now} tries left, {was} before the case"
                    context.note(f"post-condition: {pin} left at {now} tries (was {was})")
                elif now != was:
                    context.note(f"post-condition: {pin} restored to {now} tries (was {was} before the case)")
        except Exception as exc:  # noqa: BLE001
            context.note(f"post-condition could not be checked: {type(exc).__name__}: {exc}")
            if result.status is Status.PASSED:
                result.status, result.reason = Status.ERROR, f"post-condition: {type(exc).__name__}: {exc}"


__all__ = ["RunOptions", "RunReport", "Runner", "SelectionError", "read_counters", "select_cases"]
