"""`mynacard conformance …`: run the catalogue, print its spec, list it, diff two runs.

The only place in conformance/ that opens a card: through host's `open_transport` (`pcsc:NAME`, or
`emulator:DIR` — the emulator registers that scheme, so this module never imports it). With
`--emulator` and no `--card`, the emulator's packaged demo card is copied to a temporary directory
first, so a run — destructive or not — never touches the user's own demo card.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from mynacard.errors import UsageError
from mynacard.main import CommandRoot

if TYPE_CHECKING:
    from mynacard.conformance.model import Case
    from mynacard.conformance.robot import Robot
    from mynacard.host.transport import Transport

RAW = argparse.RawDescriptionHelpFormatter

HELP = """\
Run the conformance catalogue (docs/conformance-catalogue.md) against a My Number Card in a PC/SC
reader, or against the emulator, and write JUnit XML, HTML and JSON reports.

Without --allow-destructive no case sends a wrong value, changes a secret or blocks a key, and a
correct VERIFY is sent only while its counter is at its maximum (it would otherwise reset it).
Every retry counter is read (VERIFY query only) at the start and the end and must be unchanged.

One thing no run can avoid: a supplied secret is checked only by sending it, so a WRONG value in
the secrets file costs one try of its key — once: the secret is never sent again in the run, every
later case needing it is SKIPPED, and the run names the key of the file and the tries left (in the
terminal and in every report) and exits 1. Secrets come from a file (--secrets; format in
docs/conformance.md) and are never printed.

examples:
  mynacard conformance --emulator                        the demo card, its secrets known
  mynacard conformance --emulator --allow-destructive
  mynacard conformance --reader "SCM Microsystems SCR3310 00 00" --secrets card.toml --profile JPKI
  mynacard conformance --emulator --only JPKI-PIN-001 JPKI-SIG-001 --secrets demo-secrets.toml
  mynacard conformance --emulator --behaviour reselect=clears --profile JPKI   the other side of CI §12
  mynacard conformance spec > docs/conformance-catalogue.md
  mynacard conformance list --profile TEXT
  mynacard conformance diff card.json emulator.json
"""


def register(root: CommandRoot) -> None:
    parser = root.command("conformance", help="run the conformance suite against a card or the emulator",
                          description=HELP)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--reader", metavar="NAME", help="the PC/SC reader holding the card")
    where.add_argument("--emulator", action="store_true",
                       help="the emulator in-process (the demo card copied to a temporary directory, or --card)")
    where.add_argument("--transport", metavar="SPEC", help="any transport: pcsc:NAME, emulator:DIR, …")
    parser.add_argument("--card", metavar="DIR", type=Path,
                        help="with --emulator: use this card image (its counters are written back to it)")
    parser.add_argument("--behaviour", metavar="KEY=VALUE", action="append", default=[],
                        help="with --emulator: serve the card with this side of a behaviour real cards "
                             "disagree on (CI §12), e.g. reselect=clears; repeatable (`mynacard emulate "
                             "--help` lists them); the observation cases (area OBS) report it")
    parser.add_argument("--secrets", metavar="FILE", type=Path,
                        help="the vendor's test secrets (JSON or TOML); a wrong one costs one try of its "
                        "key, is not sent again, and is named in the report")
    parser.add_argument("--profile", metavar="P", action="append", default=[],
                        help="run only cases of these profiles (repeat or comma-separate): "
                        "CORE, MF, JPKI, TEXT, VISUAL, COMMON, JUKI, CONTACT, CONTACTLESS, EXTENDED-LENGTH, SM")
    parser.add_argument("--claim", metavar="P", action="append", default=[],
                        help="claim an optional profile for the card (SM); --emulator claims SM, which it models")
    parser.add_argument("--only", metavar="ID", nargs="+", help="run only these case IDs")
    parser.add_argument("--allow-destructive", action="store_true",
                        help="also run cases that spend tries, change PINs and BLOCK keys for good")
    parser.add_argument("--yes", action="store_true",
                        help="with --allow-destructive on a real card: do not ask before blocking keys")
    parser.add_argument("--robot", metavar="KIND", default=None,
                        help="who removes and inserts the card: none, manual (a person), control:SOCKET "
                        "(the emulator's control channel); --emulator power-cycles in-process by default")
    parser.add_argument("--robot-card", metavar="N", default="0",
                        help="with --robot control:SOCKET: which card of that emulator (index or reader name)")
    parser.add_argument("--out", metavar="DIR", type=Path, default=Path("conformance-report"),
                        help="write report.json, report.xml (JUnit) and report.html here (default: %(default)s)")
    parser.add_argument("--json", metavar="FILE", type=Path, help="JSON report path (overrides --out)")
    parser.add_argument("--junit", metavar="FILE", type=Path, help="JUnit XML path (overrides --out)")
    parser.add_argument("--html", metavar="FILE", type=Path, help="HTML report path (overrides --out)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only failures and the summary")
    parser.set_defaults(func=run_command)

    sub = parser.add_subparsers(dest="conformance_command", metavar="COMMAND")
    spec = sub.add_parser("spec", help="print the catalogue as Markdown (the generated specification)",
                          description="Print the catalogue as a Markdown document with its traceability "
                          "matrix:  mynacard conformance spec > docs/conformance-catalogue.md")
    spec.add_argument("--output", metavar="FILE", type=Path, help="write to FILE instead of stdout")
    spec.set_defaults(func=spec_command)
    listing = sub.add_parser("list", help="list the case IDs and titles")
    listing.add_argument("--profile", metavar="P", action="append", default=[], help="only cases of these profiles")
    listing.set_defaults(func=list_command)
    diff = sub.add_parser("diff", help="compare two JSON reports step by step (differential mode)",
                          description="Compare the JSON reports of two runs: status per case, and per step "
                          "the SW, the length and the data where it is the same on every card. Exit status 1 "
                          "when the cards behave differently.", formatter_class=RAW)
    diff.add_argument("a", type=Path, metavar="A.json")
    diff.add_argument("b", type=Path, metavar="B.json")
    diff.add_argument("--json", action="store_true", help="print the differences as JSON")
    diff.set_defaults(func=diff_command)


# -- helpers -----------------------------------------------------------------------------------------


def _emulator_claims():  # noqa: ANN202 - frozenset[Profile]
    """The optional profiles the emulator models: secure messaging of the text AP (CI §11)."""
    from mynacard.conformance.model import Profile

    return frozenset({Profile.SM})


def _profiles(values: list[str]):  # noqa: ANN202 - frozenset[Profile] | None
    from mynacard.conformance.model import Profile

    names = [v.strip().upper() for value in values for v in value.split(",") if v.strip()]
    known = {p.value: p for p in Profile}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"unknown profile {', '.join(unknown)}; the profiles are {', '.join(known)}")
    return frozenset(known[n] for n in names) or None


def demo_card_directory() -> Path:
    """The emulator's packaged demo card, located without importing the emulator (DESIGN.md)."""
    spec = importlib.util.find_spec("mynacard.emulator")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / "demo_card"
        if (candidate / "card.json").is_file():
            return candidate
    raise UsageError("the emulator's demo card is not installed; give a card image with --card DIR "
                     "(make one with `mynacard card new DIR`)")


@contextmanager
def _transport(args: argparse.Namespace) -> Iterator[Transport]:
    from mynacard.host.transport import open_transport

    temp: Path | None = None
    if args.emulator:
        if args.card is not None:
            spec = f"emulator:{args.card}"
        else:
            temp = Path(tempfile.mkdtemp(prefix="mynacard-conformance-"))
            shutil.copytree(demo_card_directory(), temp / "card")
            spec = f"emulator:{temp / 'card'}"
    elif args.reader:
        spec = f"pcsc:{args.reader}"
    elif args.transport:
        spec = args.transport
    else:
        raise UsageError("say which card: --reader NAME, --emulator [--card DIR] or --transport SPEC")
    if args.card is not None and not args.emulator:
        raise UsageError("--card goes with --emulator")
    if args.behaviour:
        if not args.emulator:
            raise UsageError("--behaviour goes with --emulator (for a card in a reader, the card decides; "
                             "`mynacard emulate --behaviour` serves one)")
        spec += "?" + "&".join(args.behaviour)
    # Exclusive: another PC/SC program (OpenSC probing every reader, say) must not slip commands
    # between the steps of a case.
    transport = open_transport(spec, exclusive=True)
    try:
        yield transport
    finally:
        transport.close()
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)


def _robot(args: argparse.Namespace, transport: Transport) -> Robot | None:
    from mynacard.conformance.robot import ControlChannelRobot, ManualRobot, ReinsertRobot
    from mynacard.host.transport import ReinsertableTransport

    kind = args.robot or ("emulator" if args.emulator else "none")
    if kind == "none":
        return None
    if kind == "manual":
        return ManualRobot()
    if kind == "emulator":
        return ReinsertRobot(transport) if isinstance(transport, ReinsertableTransport) else None
    if kind.startswith("control:"):
        card: int | str = int(args.robot_card) if args.robot_card.isdigit() else args.robot_card
        return ControlChannelRobot(kind.removeprefix("control:"), card)
    raise UsageError(f"--robot {kind}: say none, manual or control:SOCKET")


def _confirm_blocking(args: argparse.Namespace, transport_name: str, cases: list[Case]) -> None:
    blocking = [c for c in cases if c.blocks]
    if not blocking:
        return
    keys = sorted({k for c in blocking for k in c.blocks})
    print("WARNING: --allow-destructive runs cases that BLOCK these keys for good "
          f"(on a real card only the municipal office can unblock them): {'; '.join(keys)}.", file=sys.stderr)
    if transport_name.startswith("emulator:") or args.yes:
        return
    if not sys.stdin.isatty():
        raise UsageError("refusing to block keys on a real card without --yes (stdin is not a terminal to ask)")
    answer = input("Type BLOCK to go on, anything else to stop: ")
    if answer.strip() != "BLOCK":
        raise UsageError("stopped before any key was blocked")


def _print_result(result, quiet: bool) -> None:  # noqa: ANN001
    from mynacard.conformance.model import Status

    bad = result.status in (Status.FAILED, Status.ERROR)
    if quiet and not bad:
        return
    line = f"{result.status.value:<15} {result.case_id:<16} {result.title}"
    if result.reason and result.status is not Status.PASSED:
        line += f"\n{'':<33}{result.reason}"
    print(line, flush=True)


# -- commands ----------------------------------------------------------------------------------------


def run_command(args: argparse.Namespace) -> int:
    from mynacard.conformance.reports import write_reports
    from mynacard.conformance.runner import Runner, RunOptions, select_cases
    from mynacard.conformance.secrets import Secrets

    try:
        if args.secrets:
            secrets = Secrets.load(args.secrets)
        elif args.emulator and args.card is None:
            # The demo card's secrets are public (README); a run against it needs no file.
            secrets = Secrets.load(demo_card_directory() / "secrets.toml")
            print("mynacard conformance: using the demo card's documented secrets", flush=True)
        else:
            secrets = Secrets()
        claims = _profiles(args.claim) or frozenset()
        if args.emulator:
            claims |= _emulator_claims()
        options = RunOptions(secrets=secrets, profiles=_profiles(args.profile), only=tuple(args.only or ()) or None,
                             allow_destructive=args.allow_destructive, claims=claims)
        cases = select_cases(options)
        with _transport(args) as transport:
            options.robot = _robot(args, transport)
            if args.allow_destructive:
                _confirm_blocking(args, transport.name, cases)
            print(f"mynacard conformance: {len(cases)} cases against {transport.name}"
                  f"{' (destructive cases included)' if args.allow_destructive else ''}", flush=True)
            report = Runner(transport, options, progress=lambda r: _print_result(r, args.quiet)).run()
    except OSError as exc:
        print(f"mynacard conformance: {exc}", file=sys.stderr)
        return 1
    out = args.out
    written = write_reports(report, json_path=args.json or out / "report.json",
                            junit_path=args.junit or out / "report.xml", html_path=args.html or out / "report.html")
    _print_summary(report)
    print("reports: " + ", ".join(str(p) for p in written))
    return 0 if report.ok else 1


def _print_summary(report) -> None:  # noqa: ANN001
    counts = report.counts()
    print("\nsummary per profile:")
    for profile, row in report.summary().items():
        print(f"  {profile:<16} " + "  ".join(f"{k} {v}" for k, v in row.items() if v))
    print("  " + "  ".join(f"{k} {v}" for k, v in counts.items()) + f"  ({report.duration_ms / 1000:.1f} s)")
    for sentence in report.wrong_secrets:
        print(f"WRONG SECRET: {sentence}.", file=sys.stderr)
    _print_observations(report)
    if report.counters_unchanged is True:
        print(f"retry counters: all {len(report.counters_start)} unchanged (read with the VERIFY query at start and end)")
    elif report.counters_unchanged is False:
        print("RETRY COUNTERS CHANGED by a non-destructive run: " + "; ".join(report.counter_changes), file=sys.stderr)
    else:
        changes = report.counter_changes
        print("retry counters after destructive cases: " + ("; ".join(changes) if changes else "unchanged"))


def _print_observations(report) -> None:  # noqa: ANN001
    """What the card did where real cards disagree (CI §12), and the emulator options that match."""
    from mynacard.conformance.model import ANSWER_OBSERVATION

    observed = report.observations()
    if not observed:
        return
    print("observations (CI §12, and answer: where card-interface.md is silent; never pass or fail):")
    matching = []
    for behaviour, rows in observed.items():
        values = sorted({r.observation.value for r in rows})
        print(f"  {behaviour:<13} {' / '.join(values):<8} ({', '.join(r.case_id for r in rows)})")
        if len(values) == 1 and values[0] != "other" and not behaviour.startswith(ANSWER_OBSERVATION):
            matching.append(f"--behaviour {behaviour}={values[0]}")
    if matching:
        print("  the emulator behaves like this card with: mynacard emulate " + " ".join(matching))


def spec_command(args: argparse.Namespace) -> int:
    from mynacard.conformance.spec import render_markdown

    text = render_markdown()
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def list_command(args: argparse.Namespace) -> int:
    from mynacard.conformance.catalogue import ordered

    wanted = _profiles(args.profile)
    for c in ordered():
        if wanted and not c.profiles & wanted:
            continue
        flags = ",".join(filter(None, [c.impact.value if c.impact.destructive else "", "robot" if c.robot else ""]))
        flags = ",".join(filter(None, [flags, f"observes {c.observes}" if c.observes else ""]))
        print(f"{c.id:<16} {c.title}" + (f"  [{flags}]" if flags else ""))
    return 0


def diff_command(args: argparse.Namespace) -> int:
    from mynacard.conformance.diff import compare, render
    from mynacard.conformance.reports import load_json

    try:
        a, b = load_json(args.a), load_json(args.b)
    except ValueError as exc:
        print(f"mynacard conformance diff: {exc}", file=sys.stderr)
        return 2
    diffs = compare(a, b)
    if args.json:
        print(json.dumps([d.__dict__ for d in diffs], ensure_ascii=False, indent=1))
    else:
        sys.stdout.write(render(str(args.a), str(args.b), a, b, diffs))
    return 1 if any(d.severity in ("difference", "observation") for d in diffs) else 0
