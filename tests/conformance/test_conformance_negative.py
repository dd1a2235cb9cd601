"""The negative and robustness cases (area NEG, issue 17): safe by default, observations where
card-interface.md gives no status word, and the emulator's answers to them — the card model's
documented choices (docs/card-model.md) — held here so that a change to one is a decision.

The deliberately wrong cards that fail the pass/fail NEG cases are in deviant_cards.py; the full
catalogue, NEG included, runs through pcscd in test_conformance_e2e.py."""

from __future__ import annotations

from pathlib import Path

from mynacard.conformance.catalogue import ordered
from mynacard.conformance.model import ANSWER_OBSERVATION, Impact, Profile, Status
from mynacard.conformance.runner import RunOptions, Runner
from mynacard.conformance.secrets import Secrets
from mynacard.emulator.inprocess import InProcessTransport

NEGATIVE = tuple(c.id for c in ordered() if c.area == "NEG")

#: What the emulator answers where card-interface.md is silent (name:SW, or EF sizes in bytes).
EMULATOR_ANSWERS = {
    "NEG-SEL-001": "04/00:9000 04/04:6A86 01/0C:6A86 aid17:6700 aid16:6A82 aid1:9000 aid0:6700 02/00:6A86 02/04:6A86 "
                   "fid3:6700",
    "NEG-SEL-002": "prefix:9000 0006:6A82 0011:6A82 0013:6A82 0002:9000",  # the 住基AP: lowest AID first
    "NEG-VER-001": "no-ef:6986 p1=01:6A86 p2=00:6A86 p2=A0:6A86 p2=81:6A88 p2=9F:6A86 p2=18:6A86 p2=B8:6A86 "
                   "p2=1B:6A86",
    "NEG-CHG-001": "jpki-80-32:6986 jpki-p1=00:6A86 jpki-unverified:6982 jpki-no-data:6700 common-00-24:6986 "
                   "common-p1=01:6A86",
    "NEG-SIG-002": "p1=06:6A86 p2=00:6A88 p2=A0:6A86 p2=81:6A88 p2=B7:6A86 p2=01:6A86 le=01:6700 "
                   "p1=03-no-data:6700 no-le:9000/256 "
                   "common-0019:6985",
    "NEG-LEN-003": "rb-no-le:6700 rb-data:6700 rb-sfi0:6A86 rb-p1=E1:6A86 rb-sfi1E:6982 gc-p1=01:6A86 gc-no-le:6700 gc-data:6700 "
                   "gd-no-le:6700 gr:6985 rr-no-le:6700 rr-sfi1F:6A86 ia-no-data:6700",
    "NEG-SIG-003": "p1=04:salt=32 p1=05:salt=32",
    "NEG-CLA-001": "cla=10:6884 cla=80:6E00 cla=04:6882 cla=FF:6E00 00-2A:6E00",
    "NEG-EF-001": "jpki/0002=2048 jpki/0006=160 jpki/0008=3 jpki/000A=2048 jpki/000B=2048 text/0004=568 "
                  "text/0005=256 text/0008=16 visual/0003=336 visual/0004=568",
    "NEG-EF-002": "jpki/0001=2048 text/0001=17 text/0002=1024 text/0003=336 text/0006=272 text/0007=544 visual/0001=560 "
                  "visual/0002=8192 visual/0005=1024 visual/0006=32",
    "NEG-SM-003": "le=04:6700 no-le:6700 ext-le=0110:6700 next:9000 sk-p1=01:6A86 sk-2-bytes:6700",
    "NEG-MF-001": "read:6986 verify-query:6986 session-key:6982 sign:6986 internal-auth:6A82",
}


def test_every_negative_case_cites_an_iso_rule_and_observations_are_read_only() -> None:
    for c in ordered():
        if c.area != "NEG":
            continue
        assert "ISO/IEC 7816" in c.procedure or "RFC 8017" in c.procedure, c.id
        if c.observes:
            assert c.observes.startswith(ANSWER_OBSERVATION) and not c.impact.destructive, c.id
            assert "OBSERVATION" in c.procedure, c.id
    impacts = {c.id: c.impact for c in ordered() if c.area == "NEG" and c.impact.destructive}
    assert impacts == {"NEG-CHG-002": Impact.CHANGES_SECRET, "NEG-VER-002": Impact.SPENDS_TRY}


def test_a_default_run_spends_nothing_and_observes_the_emulator_answers(card_dir: Path, demo_secrets: Secrets) -> None:
    report = Runner(InProcessTransport.from_directory(card_dir),
                    RunOptions(secrets=demo_secrets, only=NEGATIVE, claims=frozenset({Profile.SM}))).run()
    statuses = {r.case_id: r.status for r in report.results}
    assert statuses.pop("NEG-CHG-002") is Status.SKIPPED  # changes a secret: only with --allow-destructive
    assert statuses.pop("NEG-VER-002") is Status.SKIPPED  # spends tries: only with --allow-destructive
    assert {k: v for k, v in statuses.items() if v not in (Status.PASSED, Status.OBSERVED)} == {}
    observed = {r.case_id: r.observation.value for r in report.results if r.observation is not None}
    assert observed == EMULATOR_ANSWERS
    assert report.ok and report.counters_unchanged is True


def test_the_destructive_format_cases_restore_the_secrets(card_dir: Path, demo_secrets: Secrets) -> None:
    """NEG-VER-002 spends a try per malformed value and restores it; NEG-CHG-002 changes the signing
    password to 16 characters and back: the supplied values work after, every counter at its maximum."""
    transport = InProcessTransport.from_directory(card_dir)
    options = RunOptions(secrets=demo_secrets, only=("NEG-VER-002", "NEG-CHG-002", "JPKI-SIG-012"),
                         allow_destructive=True)
    report = Runner(transport, options).run()
    assert [(r.case_id, r.status) for r in report.results] == [
        ("JPKI-SIG-012", Status.PASSED), ("NEG-VER-002", Status.PASSED), ("NEG-CHG-002", Status.PASSED)]
    assert report.counters_end == report.counters_start
    again = Runner(transport, RunOptions(secrets=demo_secrets, only=("JPKI-SIG-012",))).run()
    assert again.results[0].status is Status.PASSED and again.counters_unchanged is True
