"""One card directory, one retry counter per secret, whoever talks to it (issue 8, defect 1).

A real card is one chip: the card served by `mynacard emulate` through pcscd and `mynacard apdu`
on the same directory must spend tries from the same counters. The must-show of the issue: wrong
auth-PIN VERIFYs interleaved between the two never get more than 3 answers `63Cx` before `6984`
(CI §3, §6.1); six `mynacard apdu` processes started together, next to the served card, never
answer `6F00`, and every secret's counter after the run is its start minus the number of wrong
answers, blocking exactly at the limit (CI §3; secrets of CI §6.1, §7.1, §8, §9).
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from e2e_harness import COMMON, JPKI, TEXT, VISUAL, Client

MYNACARD = [sys.executable, "-m", "mynacard"]
JUKI = "00A4040C0AD3921000310001010401"


@dataclass(frozen=True)
class Secret:
    """A secret of the demo card as a client reaches it: its AP, its EF, its limit (CI §5–§9)."""

    name: str
    select_ap: str
    fid: int
    max_tries: int
    wrong: bytes

    def select(self) -> list[str]:
        return [self.select_ap, f"00A4020C02{self.fid:04X}"]

    def verify(self) -> str:
        return f"00200080{len(self.wrong):02X}{self.wrong.hex().upper()}"


#: Every secret with a retry counter (the blocked text-AP 0012 has none left to spend).
SECRETS = (
    Secret("jpki/auth-pin", JPKI, 0x0018, 3, b"9999"),  # CI §6.1
    Secret("jpki/sign-password", JPKI, 0x001B, 5, b"WRONG1"),  # CI §6.1
    Secret("text/pin", TEXT, 0x0011, 3, b"9999"),  # CI §7.1
    Secret("text/code-a", TEXT, 0x0014, 10, b"000000000000"),  # CI §7.1
    Secret("text/code-b", TEXT, 0x0015, 10, b"00000000000000"),  # CI §7.1
    Secret("visual/birth-key", VISUAL, 0x0011, 10, b"000000"),  # CI §8
    Secret("visual/code-b", VISUAL, 0x0012, 10, b"00000000000000"),  # CI §8
    Secret("visual/code-a", VISUAL, 0x0013, 10, b"000000000000"),  # CI §8
    Secret("common/pin", COMMON, 0x001C, 3, b"9999"),  # CI §9
    Secret("juki/pin", JUKI, 0x001C, 3, b"9999"),  # CI §9
)


def attempts_per_process(secret: Secret) -> int:
    """Two wrong values per process for 3- and 5-try secrets (12 in all: they must block exactly
    at the limit), one for the 10-try ones (7 in all: the counter must end at 3)."""
    return 1 if secret.max_tries == 10 else 2


def apdu(card: Path, *apdus: str) -> list[int]:
    """Run `mynacard apdu --raw` and return the status word of every answer."""
    done = subprocess.run([*MYNACARD, "apdu", "--card", str(card), "--raw", *apdus],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [int(line[-4:], 16) for line in done.stdout.split()]


def counters(card: Path) -> dict[str, int]:
    """Every counter as the card answers the VERIFY query (CI §2), asked in-process."""
    script = [a for s in SECRETS for a in (*s.select(), "00200080")]
    answers = apdu(card, *script)[2::3]
    assert all(sw & 0xFFF0 == 0x63C0 for sw in answers), [f"{sw:04X}" for sw in answers]
    return {s.name: sw & 0x0F for s, sw in zip(SECRETS, answers, strict=True)}


@pytest.fixture
def served(virtual_reader, card_dir: Path) -> Iterator[str]:
    """`mynacard emulate --card DIR` serving the test's card through pcscd; yields the reader."""
    from mynacard.emulator.pcsc_state import wait_for_presence

    process = subprocess.Popen([*MYNACARD, "emulate", "--card", str(card_dir)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in process.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if line.startswith("Ctrl-C"):
                break
        found = re.search(r"in reader '([^']+)'", "".join(lines))
        assert found, "".join(lines)
        assert wait_for_presence(found.group(1), True, 5)
        yield found.group(1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


def test_served_card_and_apdu_interleaved_never_exceed_three_auth_pin_tries(served, card_dir):
    """CI §3, §6.1: 3 tries for the auth PIN, counted once for the pcscd client and the CLI."""
    auth = SECRETS[0]
    client = Client(served)
    try:
        for command in auth.select():
            client.ok(command)
        answers = []
        for turn in range(6):
            if turn % 2 == 0:
                answers.append(client.send(auth.verify())[1])
            else:
                answers.append(apdu(card_dir, *auth.select(), auth.verify())[-1])
        assert [f"{sw:04X}" for sw in answers] == ["63C2", "63C1", "63C0", "6984", "6984", "6984"]
        assert client.send("00200080")[1] == 0x63C0  # the served card sees the blocked counter
    finally:
        client.close()
    assert counters(card_dir)["jpki/auth-pin"] == 0


def test_six_apdu_processes_and_the_served_card_spend_one_counter_per_secret(served, card_dir):
    """CI §3: every wrong value costs exactly one try; 63Cx counts down without repeats; 6984
    only once the counter is 0; never 6F00 — for every secret (CI §6.1, §7.1, §8, §9)."""
    script: list[str] = []
    slots: list[Secret | None] = []  # which secret each answer belongs to (None: a SELECT)
    for secret in SECRETS:
        script += secret.select()
        slots += [None, None]
        for _ in range(attempts_per_process(secret)):
            script.append(secret.verify())
            slots.append(secret)
    answers: dict[str, list[int]] = {s.name: [] for s in SECRETS}
    every_sw: list[int] = []
    lock = threading.Lock()

    def record(sws: list[int]) -> None:
        with lock:
            every_sw.extend(sws)
            for secret, sw in zip(slots, sws, strict=True):
                if secret is not None:
                    answers[secret.name].append(sw)

    def pcscd_client() -> None:
        client = Client(served)
        try:
            record([client.send(command)[1] for command in script])
        finally:
            client.close()

    processes = [subprocess.Popen([*MYNACARD, "apdu", "--card", str(card_dir), "--raw", *script],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(6)]
    through_pcscd = threading.Thread(target=pcscd_client)
    through_pcscd.start()
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        record([int(line[-4:], 16) for line in out.split()])
    through_pcscd.join(60)

    assert len(every_sw) == 7 * len(script)
    assert 0x6F00 not in every_sw
    after = counters(card_dir)
    for secret in SECRETS:
        got = answers[secret.name]
        wrong = [sw & 0x0F for sw in got if sw & 0xFFF0 == 0x63C0]
        assert all(sw == 0x6984 or sw & 0xFFF0 == 0x63C0 for sw in got), secret.name
        spent = 7 * attempts_per_process(secret)
        assert sorted(wrong, reverse=True) == list(range(secret.max_tries - 1, -1, -1))[:spent], secret.name
        assert after[secret.name] == secret.max_tries - len(wrong) >= 0, secret.name
        assert got.count(0x6984) == spent - len(wrong), secret.name
