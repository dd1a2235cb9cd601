"""One card map: the AIDs, FIDs and maximum tries that applet_model (the card), host (which knows
the card only through APDUs), conformance (which checks a card against card-interface.md) and the
trace redaction policy (codec.redaction) each write down must agree — a drift here means one of
them talks to a different card (CI §5–§9), or a trace shows an EF the card protects."""

from __future__ import annotations

from pathlib import Path

import pytest

from mynacard.applet_model.aps import APPLICATIONS as CARD_APS
from mynacard.applet_model.access import FREE
from mynacard.applet_model.files import OpaqueEF, RecordEF, TransparentEF
from mynacard.codec import redaction
from mynacard.conformance import card_map
from mynacard.host import aids, pins
from mynacard.host.jpki import Certificate, Key
from mynacard.main import main

#: Every secret the card declares, by (AP, FID): (max tries, blocked from issue).
CARD_SECRETS = {(name, s.fid): (s.max_tries, s.blocked_from_issue)
                for name, ap in CARD_APS.items() for s in ap.secrets}


def test_the_aids_agree() -> None:
    card = {name: ap.aid for name, ap in CARD_APS.items()}
    assert card == aids.APPLICATIONS
    assert {app.key: app.aid for app in card_map.APPLICATIONS} == card
    assert set(redaction.KNOWN_AIDS) == set(card.values())
    assert redaction.ISD_AID == card_map.ISD_AID


def test_the_traces_hide_every_ef_the_card_protects() -> None:
    """CI §6.1, §7.1, §8: an EF readable only after a secret is never shown by either tracer."""
    for ap in CARD_APS.values():
        protected = {f.fid for f in ap.files if isinstance(f, TransparentEF | RecordEF) and f.read != FREE}
        assert protected <= redaction.PROTECTED_EFS.get(ap.aid, frozenset()), ap.name


def test_host_knows_every_usable_secret_with_the_card_maximum() -> None:
    host = {(s.ap, s.ef): s.max_tries for s in pins.SECRETS}
    usable = {ref: tries for ref, (tries, blocked) in CARD_SECRETS.items() if not blocked}
    assert host == usable


def test_conformance_counters_agree_with_the_card() -> None:
    """Conformance reads every counter, the blocked one too; its maximum, where a source states
    one, is the card's."""
    refs = {(p.app.key, p.fid): p.max_tries for p in card_map.PIN_REFS}
    assert set(refs) == set(CARD_SECRETS)
    for ref, stated in refs.items():
        assert stated in (None, CARD_SECRETS[ref][0]), ref


def test_the_efs_agree() -> None:
    """The EFs JSA-DUMP enumerated (conformance) are the card's files, secrets and keys; host's
    JPKI certificate and key EFs are among them."""
    for app in card_map.APPLICATIONS:
        ap = CARD_APS[app.key]
        fids = ({f.fid for f in ap.files} | {s.fid for s in ap.secrets}
                | {k.fid for k in ap.keys if k.fid is not None})
        if app.enumerated_efs is not None:
            assert fids == set(app.enumerated_efs), app.key
    jpki = CARD_APS["jpki"]
    readable = {f.fid for f in jpki.files if not isinstance(f, OpaqueEF)}
    assert {c.fid for c in Certificate} <= readable
    assert {k.fid for k in Key} == {k.fid for k in jpki.keys}
    assert Key.AUTH.fid == card_map.EF_AUTH_KEY and Key.SIGN.fid == card_map.EF_SIGN_KEY


def test_card_status_shows_every_counter_out_of_its_maximum(capsys: pytest.CaptureFixture[str],
                                                             card_dir: Path) -> None:
    """`mynacard card status`: "3 of 3", "10 of 10" — for every secret, not only JPKI's."""
    assert main(["card", "status", "--card", str(card_dir)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "tries left" in line]
    assert len(lines) == len(pins.SECRETS)
    for secret, line in zip(pins.SECRETS, lines, strict=True):
        assert secret.label in line and f"{secret.max_tries} of {secret.max_tries} tries left" in line
