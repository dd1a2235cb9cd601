"""The suite can fail: deliberately wrong cards (deviant_cards.py) fail exactly the cases that check
what they got wrong, and pass the others run with them."""

from __future__ import annotations

from pathlib import Path

import pytest

from mynacard.conformance.model import Profile, Status
from mynacard.conformance.runner import RunOptions, Runner
from mynacard.conformance.secrets import Secrets
from mynacard.emulator.inprocess import InProcessTransport

from deviant_cards import EXPECTED_FAILURES, DEMO_SECRETS, WrappedCard, deviant_transport

#: The optional profile the emulator models, claimed so the SM deviant card is judged (CI §11).
SM = frozenset({Profile.SM})


@pytest.mark.parametrize("kind", list(EXPECTED_FAILURES), ids=lambda k: k.__name__)
def test_deviant_card_fails_the_right_cases(kind: type[WrappedCard], card_dir: Path, demo_secrets: Secrets) -> None:
    must_fail, run = EXPECTED_FAILURES[kind]
    report = Runner(deviant_transport(kind, card_dir),
                    RunOptions(secrets=demo_secrets, only=tuple(run), allow_destructive=True, claims=SM)).run()
    failed = {r.case_id for r in report.results if r.status is Status.FAILED}
    others = {r.case_id: (r.status.value, r.reason) for r in report.results if r.case_id not in must_fail}
    assert failed == must_fail, {r.case_id: r.reason for r in report.results}
    assert all(status == "PASSED" for status, _ in others.values()), others
    assert not report.ok


def test_the_same_cases_pass_on_the_real_card(card_dir: Path, demo_secrets: Secrets) -> None:
    """Control: every case the deviant cards fail passes on the unmodified card."""
    every = sorted({case for _, run in EXPECTED_FAILURES.values() for case in run})
    transport = InProcessTransport.from_directory(card_dir)
    report = Runner(transport, RunOptions(secrets=demo_secrets, only=tuple(every), allow_destructive=True,
                                          claims=SM)).run()
    assert {r.status for r in report.results} == {Status.PASSED}, [(r.case_id, r.reason) for r in report.results]


def test_a_query_that_consumes_tries_fails_the_run_in_non_destructive_mode(card_dir: Path) -> None:
    """Without --allow-destructive a card that spends tries on the query is caught twice: by the
    cases and by the run's own post-condition (counters unchanged)."""
    from deviant_cards import QueryConsumesTry

    report = Runner(deviant_transport(QueryConsumesTry, card_dir),
                    RunOptions(secrets=Secrets.from_mapping(DEMO_SECRETS), only=("JPKI-CERT-001",))).run()
    assert report.counters_unchanged is False
    assert any(change.startswith("auth:") for change in report.counter_changes)
    assert not report.ok


def test_verify_query_9000_after_success_is_a_documented_variant(card_dir: Path, demo_secrets: Secrets) -> None:
    """CI §12: some cards answer the query of a verified key with 9000 — PASSED, with a note."""
    from mynacard.applet_model.card import Card
    from mynacard.applet_model.profiles import DEFAULT_PROFILE
    from mynacard.applet_model.store import DirectoryStore

    card = Card.open(DirectoryStore(card_dir), profile=DEFAULT_PROFILE.with_options(verify_query_after_success="ok"))
    report = Runner(InProcessTransport(card), RunOptions(secrets=demo_secrets, only=("JPKI-PIN-002", "TEXT-PIN-002"))).run()
    assert [r.status for r in report.results] == [Status.PASSED, Status.PASSED]
    assert all(any("documented variant" in n or "9000" in n for n in r.notes) for r in report.results)
