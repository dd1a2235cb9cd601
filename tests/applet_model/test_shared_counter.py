"""Two openers of one card directory share one counter per secret (issue 8, defect 1; CI §3).

The end-to-end proof (the served card and `mynacard apdu` processes) is
tests/e2e/test_e2e_shared_counter.py; here the same rule at the store's depth, for every secret
of every AP (CI §6.1, §7.1, §8, §9), without processes.
"""

from __future__ import annotations

import threading

import pytest
from conftest import run

from mynacard.applet_model.aps import APPLICATIONS
from mynacard.applet_model.card import Card
from mynacard.applet_model.secrets import SecretDecl
from mynacard.applet_model.store import DirectoryStore

SPENDABLE = [(app.aid, s) for app in APPLICATIONS.values() for s in app.secrets if not s.blocked_from_issue]


@pytest.fixture
def card_dir(tmp_path, synthetic_image):
    DirectoryStore.create(tmp_path / "card", synthetic_image)
    return tmp_path / "card"


def select(card: Card, aid: bytes, secret: SecretDecl) -> None:
    assert run(card, f"00A4040C{len(aid):02X}{aid.hex()}")[1] == 0x9000
    assert run(card, f"00A4020C02{secret.fid:04X}")[1] == 0x9000


def wrong(secret: SecretDecl) -> str:
    value = b"0" * secret.format.min_length  # never a demo or synthetic value
    return f"00200080{len(value):02X}{value.hex()}"


@pytest.mark.parametrize("aid, secret", SPENDABLE, ids=[f"{a.hex()[-4:]}-{s.name}" for a, s in SPENDABLE])
def test_two_openers_alternating_wrong_values_block_exactly_at_the_limit(card_dir, aid, secret):
    cards = [Card.open(DirectoryStore(card_dir)), Card.open(DirectoryStore(card_dir))]
    for card in cards:
        select(card, aid, secret)
    answers = [run(cards[turn % 2], wrong(secret))[1] for turn in range(secret.max_tries + 2)]
    assert answers == [0x63C0 | left for left in range(secret.max_tries - 1, -1, -1)] + [0x6984, 0x6984]
    assert [run(card, "00200080")[1] for card in cards] == [0x63C0, 0x63C0]


def test_an_opener_never_writes_its_older_copy_over_a_newer_counter(card_dir):
    """A try spent through one opener survives another opener's later write of another secret."""
    jpki = APPLICATIONS["jpki"]
    auth, sign = jpki.secrets
    first, second = Card.open(DirectoryStore(card_dir)), Card.open(DirectoryStore(card_dir))
    select(second, jpki.aid, auth)
    assert run(second, wrong(auth))[1] == 0x63C2
    select(first, jpki.aid, sign)  # `first` loaded its state before that try was spent
    assert run(first, wrong(sign))[1] == 0x63C4
    select(first, jpki.aid, auth)
    assert run(first, "00200080")[1] == 0x63C2
    assert run(first, wrong(auth))[1] == 0x63C1


def test_threads_with_their_own_openers_spend_each_try_once(card_dir):
    jpki = APPLICATIONS["jpki"]
    sign = jpki.secrets[1]
    answers: list[int] = []

    def guesser() -> None:
        card = Card.open(DirectoryStore(card_dir))
        select(card, jpki.aid, sign)
        for _ in range(3):
            answers.append(run(card, wrong(sign))[1])

    threads = [threading.Thread(target=guesser) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(sw for sw in answers if sw != 0x6984) == [0x63C0, 0x63C1, 0x63C2, 0x63C3, 0x63C4]
    assert answers.count(0x6984) == 12 - 5
