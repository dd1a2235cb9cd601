"""Fuzzing both tracers (host `TracingTransport` and the emulator's `ApduTracer`) with command
sequences against the in-process demo card: failed and partial-AID SELECTs, SELECT by FID, SFI
reads, malformed lengths, extended APDUs, secure-messaging and channel CLA bits, wrong and right
secrets, PIN changes, resets. Whatever the sequence, neither trace may hold a PIN, a password, a
照合番号, the My Number (ASCII, BCD, UTF-16) or the content of a protected EF (issue 8 defect 3;
CI §2, §4, §7.1, §8, §11). A seeded generator keeps every run the same and reproducible.
"""

from __future__ import annotations

import hashlib
import os
import random
import stat
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mynacard.codec.redaction import COMMON_AID, ISD_AID, JPKI_AID, JUKI_AID, PROTECTED_EFS, TEXT_AID, VISUAL_AID

SEQUENCES = 150
STEPS = 40
AIDS = {"jpki": JPKI_AID, "text": TEXT_AID, "visual": VISUAL_AID, "common": COMMON_AID, "juki": JUKI_AID}
#: New PINs the fuzzer may set with CHANGE REFERENCE DATA / CHANGE KEY: secrets too.
NEW_PINS = ("8642", "9753", "XQZ987", "5791")
#: Wrong values tried in VERIFY: they are what a user typed, so they are secrets as well.
WRONG = ("4826", "7093", "QWERTY7", "918273645501", "55555555555555")


@dataclass
class Demo:
    """The demo card's secrets by (AP, key reference) and what must never reach a trace."""

    secrets: dict[tuple[str, int], str]
    my_number: str
    protected: dict[tuple[str, int], bytes]
    public: bytes
    everything_typed: set[str] = field(default_factory=set)


@pytest.fixture(scope="module")
def demo_card():
    from mynacard.applet_model.store import DirectoryStore
    from mynacard.ca.era import era_yymmdd
    from mynacard.emulator.demo import packaged_demo_card
    from mynacard.register_stub.person import (
        DEMO_CARD_EXPIRY,
        DEMO_PERSON,
        DEMO_PINS,
        DEMO_SECURITY_CODE,
        verification_code_b,
    )

    image = DirectoryStore(packaged_demo_card()).load_image()
    code_b = verification_code_b(DEMO_PERSON.birth_date, DEMO_CARD_EXPIRY, DEMO_SECURITY_CODE)
    my_number = DEMO_PERSON.my_number
    secrets = {
        ("jpki", 0x18): DEMO_PINS.auth_pin, ("jpki", 0x1B): DEMO_PINS.sign_password,
        ("text", 0x11): DEMO_PINS.text_pin, ("text", 0x14): my_number, ("text", 0x15): code_b,
        ("visual", 0x11): era_yymmdd(DEMO_PERSON.birth_date), ("visual", 0x12): code_b,
        ("visual", 0x13): my_number, ("common", 0x1C): DEMO_PINS.juki_pin, ("juki", 0x1C): DEMO_PINS.juki_pin,
    }
    protected, public = {}, []
    for name, app in image.applications.items():
        for fid, content in app.files.items():
            if fid in PROTECTED_EFS.get(AIDS[name], ()):
                protected[(name, fid)] = content
            else:
                public.append(content)
        public.extend(record for records in app.records.values() for record in records)
    demo = Demo(secrets, my_number, protected, b"".join(public))
    demo.everything_typed = {*secrets.values(), *NEW_PINS, *WRONG}
    return image, demo


def forbidden_patterns(demo: Demo) -> dict[str, str]:
    """Hex or text that must never appear in a trace, with what it is."""
    patterns = {}
    for value in demo.everything_typed:
        patterns[value.encode().hex().upper()] = f"secret {value[:2]}… (ASCII)"
    number = demo.my_number
    patterns[number] = "My Number (BCD / as digits)"
    patterns[number.encode("utf-16-be").hex().upper()] = "My Number (UTF-16)"
    for (name, fid), content in demo.protected.items():
        body = content.rstrip(b"\xff")
        for offset in range(0, max(1, len(body) - 12), 61):
            window = body[offset : offset + 12]
            if len(window) == 12 and window not in demo.public and len(set(window)) > 2:
                patterns[window.hex().upper()] = f"{name} EF {fid:04X} content at {offset}"
    return patterns


def test_the_forbidden_patterns_are_absent_from_public_data(demo_card):
    """Otherwise a leak could not be told from public data and the fuzzer would prove nothing."""
    _, demo = demo_card
    public = demo.public.hex().upper()
    for pattern, what in forbidden_patterns(demo).items():
        assert pattern not in public, what


# --- the generator -----------------------------------------------------------------------------


class Fuzzer:
    """Random commands biased towards what makes a tracer lose track of the card."""

    def __init__(self, rng: random.Random, demo: Demo) -> None:
        self.rng = rng
        self.demo = demo

    def encode(self, header: bytes, data: bytes, le: int | None = None) -> bytes:
        """Usually well-formed (short or extended), sometimes with lengths that lie."""
        r = self.rng.random()
        if not data:
            if le is None:
                return header
            return header + (b"\x00" + le.to_bytes(2, "big") if r < 0.15 else bytes([le & 0xFF]))
        if r < 0.62:
            body = bytes([len(data)]) + data
            return header + body + (bytes([le & 0xFF]) if le is not None else b"")
        if r < 0.75:  # extended
            return header + b"\x00" + len(data).to_bytes(2, "big") + data + (
                le.to_bytes(2, "big") if le is not None else b"")
        if r < 0.82:
            return header + bytes([len(data) + 1]) + data  # Lc too long
        if r < 0.89:
            return header + bytes([max(1, len(data) - 1)]) + data  # Lc too short
        if r < 0.95:
            return header + data  # no Lc at all
        return header + bytes([len(data)]) + data + b"\x00\x00"  # stray trailing bytes

    def cla(self) -> int:
        return self.rng.choice((0x00,) * 14 + (0x08, 0x0C, 0x04, 0x01, 0x10, 0x80))

    def random_bytes(self, n: int) -> bytes:
        return bytes(self.rng.randrange(256) for _ in range(n))

    def select_ap(self) -> bytes:
        rng = self.rng
        aid = rng.choice(list(AIDS.values()))
        r = rng.random()
        if r < 0.15:
            aid = aid[: rng.randint(1, len(aid) - 1)]  # partial AID (JICSAP)
        elif r < 0.25:
            aid = self.random_bytes(rng.randint(5, 16))  # unknown AID: 6A82, the card stays put
        elif r < 0.3:
            aid = ISD_AID
        p2 = rng.choice((0x0C,) * 8 + (0x00, 0x04))
        return self.encode(bytes([self.cla(), 0xA4, 0x04, p2]), aid)

    def select_ef(self) -> bytes:
        rng = self.rng
        protected = [fid for efs in PROTECTED_EFS.values() for fid in efs]
        fid = rng.choice(protected * 3 + [0x04, 0x05, 0x0A, 0x0B, 0x11, 0x18, 0x1B, 0x1C, 0x3F00,
                                          rng.randrange(0x30)])
        data = fid.to_bytes(2, "big") + (b"\x00" if rng.random() < 0.05 else b"")
        return self.encode(bytes([self.cla(), 0xA4, rng.choice((0x02,) * 10 + (0x00, 0x08)), 0x0C]), data)

    def read(self) -> bytes:
        rng = self.rng
        r = rng.random()
        le = rng.choice((0x00, 0x11, 0x04, 0xFF, 0x100, 0x1000))
        cla = self.cla()
        if r < 0.4:  # SFI in P1 (CI §2); now and then with the reserved bits set
            sfi = rng.choice((1, 2, 3, 5, 6, 7, 9, 0x0A, rng.randrange(0x20)))
            p1 = 0x80 | sfi | (0x20 if rng.random() < 0.05 else 0)
            command = bytes([cla, 0xB0, p1, rng.choice((0, 0, 3, 17))])
        elif r < 0.8:
            command = bytes([cla, 0xB0, rng.choice((0, 0, 0, 1, 0x7F)), rng.choice((0, 0, 2, 0x10))])
        elif r < 0.88:
            command = bytes([cla, 0xB2, 1, (rng.randrange(1, 4) << 3) | 4])
        elif r < 0.95:
            command = bytes([cla, 0xC0, 0, 0])
        else:
            command = bytes([cla, rng.choice((0xB1, 0xB3)), 0, rng.randrange(4)])
        if rng.random() < 0.05:  # READ with a data field: malformed for the card
            return self.encode(command, self.random_bytes(3), le)
        return self.encode(command, b"", le)

    def verify(self, current_ap: str | None) -> bytes:
        rng = self.rng
        refs = [ref for (ap, ref) in self.demo.secrets if ap == current_ap] or [0x18]
        ref = rng.choice(refs)
        if rng.random() < 0.1:
            return bytes([self.cla(), 0x20, 0x00, 0x80 | ref])  # the query
        right = self.demo.secrets.get((current_ap or "", ref))
        value = right if right and rng.random() < 0.6 else rng.choice(WRONG + NEW_PINS)
        p2 = rng.choice((0x80, 0x80 | ref))
        return self.encode(bytes([self.cla(), 0x20, 0x00, p2]), value.encode())

    def change(self) -> bytes:
        rng = self.rng
        header = rng.choice((bytes([self.cla(), 0x24, 0x01, 0x80]), bytes([0x80, 0x32, 0x00, 0x80])))
        return self.encode(header, rng.choice(NEW_PINS).encode())

    def other(self) -> bytes:
        rng = self.rng
        r = rng.random()
        if r < 0.3:
            return bytes.fromhex("0084000008")
        if r < 0.55:
            digest_info = bytes.fromhex("3031300D060960864801650304020105000420") + hashlib.sha256(
                self.random_bytes(8)).digest()
            return self.encode(bytes([0x80, 0x2A, 0x00, rng.choice((0x00, 0x80))]), digest_info, 0)
        if r < 0.7:
            return bytes.fromhex("00CA0045") + b"\x00"
        ins = rng.choice((0x00, 0x0E, 0x44, 0x70, 0x82, 0x88, 0xE0, 0xFF))
        return self.encode(bytes([self.cla(), ins, rng.randrange(256), rng.randrange(256)]),
                           self.random_bytes(rng.randrange(0, 40)))

    def step(self, current_ap: str | None) -> bytes | None:
        """One command, or None for a warm reset."""
        r = self.rng.random()
        for limit, make in ((0.18, self.select_ap), (0.38, self.select_ef), (0.68, self.read)):
            if r < limit:
                return make()
        if r < 0.88:
            return self.verify(current_ap)
        if r < 0.93:
            return self.change()
        if r < 0.98:
            return self.other()
        return None


#: Scripted sequences a tracer must survive, each a path that once leaked or could.
SCRIPTS = (
    # issue 8: the host tracer forgot the AP on a failed SELECT and printed EF 0001 in clear
    ("text", ["SEL text", "SELEF 0011", "VERIFY 0011", "SELEF 0001", "SEL-UNKNOWN", "READ", "READ-SFI 1"]),
    ("text", ["SEL text", "VERIFY-SFI 0015", "READ-SFI 2", "SEL-UNKNOWN", "READ", "VERIFY-SFI 0014",
              "READ-SFI 1", "SEL-PARTIAL", "READ", "SELEF 0002", "READ"]),
    ("visual", ["SEL visual", "SELEF 0013", "VERIFY 0013", "READ-SFI 5", "READ-SFI 2", "SEL-UNKNOWN", "READ"]),
    ("visual", ["SEL visual", "VERIFY-SFI 0011", "SELEF 0001", "READ", "SELEF-BAD", "READ"]),
    ("jpki", ["SEL jpki", "SELEF 001B", "VERIFY 001B", "SELEF 0001", "READ", "SEL-UNKNOWN", "READ"]),
)


def scripted(step: str, ap: str, demo: Demo) -> bytes:
    verb, _, arg = step.partition(" ")
    if verb == "SEL":
        return bytes.fromhex("00A4040C0A") + AIDS[arg]
    if verb == "SEL-UNKNOWN":
        return bytes.fromhex("00A4040C07A0000000031010")
    if verb == "SEL-PARTIAL":
        return bytes.fromhex("00A4040C07D3921000310001")
    if verb == "SELEF":
        return bytes.fromhex("00A4020C02") + bytes.fromhex(arg)
    if verb == "SELEF-BAD":
        return bytes.fromhex("00A4020C030004")
    if verb == "READ":
        return bytes.fromhex("00B0000000")
    if verb == "READ-SFI":
        return bytes([0x00, 0xB0, 0x80 | int(arg), 0x00, 0x00, 0x00, 0x00])
    ref = int(arg, 16)
    value = demo.secrets[(ap, ref)].encode()
    p2 = 0x80 if verb == "VERIFY" else 0x80 | ref
    return bytes([0x00, 0x20, 0x00, p2, len(value)]) + value


# --- the run -------------------------------------------------------------------------------------


def _protected_hits(data: bytes, demo: Demo) -> set[tuple[str, int]]:
    """Which protected EFs the card really answered with (the fuzzer reached their content)."""
    if len(data) < 8 or len(set(data[:64])) <= 2:  # filler matches every EF
        return set()
    return {where for where, content in demo.protected.items() if data[:64] in content}


def sequences(demo: Demo, random_runs: int) -> list[list[bytes | None]]:
    """The scripts, then `random_runs` seeded random sequences (None = warm reset)."""
    runs: list[list[bytes | None]] = [[scripted(step, ap, demo) for step in steps] for ap, steps in SCRIPTS]
    for seed in range(random_runs):
        fuzzer, current, commands = Fuzzer(random.Random(seed), demo), None, []
        for _ in range(STEPS):
            command = fuzzer.step(current)
            commands.append(command)
            if command is not None and command[1] == 0xA4 and command[2] == 0x04:
                current = next((n for n, aid in AIDS.items() if aid in command), current)
        runs.append(commands)
    return runs


def play(traced, commands: list[bytes | None], demo: Demo) -> tuple[int, set[tuple[str, int]]]:
    """Send `commands` through `traced`; the number of exchanges and the protected EFs reached."""
    reached: set[tuple[str, int]] = set()
    exchanges = 0
    for command in commands:
        if command is None:
            traced.reset()
            continue
        response = traced.transmit(command)
        exchanges += 1
        reached |= _protected_hits(response[:-2], demo)
    return exchanges, reached


def assert_clean(traces: dict[str, Path], exchanges: int, demo: Demo) -> None:
    patterns = forbidden_patterns(demo)
    for name, path in traces.items():
        text = path.read_text(encoding="utf-8")
        assert text.count(" -> ") == exchanges, name  # every exchange traced once
        for pattern, what in patterns.items():
            assert pattern not in text, f"the {name} trace shows {what}"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, name


#: Every protected EF the card must have handed to the tracers, so the redaction was exercised.
MUST_REACH = {("text", 1), ("text", 2), ("text", 3), ("visual", 1), ("visual", 2), ("visual", 5), ("jpki", 1)}


def test_neither_tracer_leaks_a_secret_in_process(demo_card, tmp_path: Path):
    from mynacard.applet_model.card import Card
    from mynacard.applet_model.store import MemoryStore
    from mynacard.emulator.inprocess import InProcessTransport
    from mynacard.emulator.trace import ApduTracer
    from mynacard.host.trace import TracingTransport, open_trace_file

    image, demo = demo_card
    traces = {"host": tmp_path / "host.trace", "emulator": tmp_path / "emulator.trace"}
    emulator_tracer = ApduTracer.open(traces["emulator"])
    host_sink = open_trace_file(traces["host"])
    reached: set[tuple[str, int]] = set()
    exchanges = 0
    try:
        for commands in sequences(demo, SEQUENCES):  # each on a fresh card: the tries come back
            card = InProcessTransport(Card.open(MemoryStore(image)), name="emulator:fuzz", tracer=emulator_tracer)
            traced = TracingTransport(card, sink=host_sink)
            count, hit = play(traced, commands, demo)
            exchanges, reached = exchanges + count, reached | hit
            traced.close()
    finally:
        emulator_tracer.close()
        host_sink.close()
    assert_clean(traces, exchanges, demo)
    assert reached >= MUST_REACH, reached


def test_neither_tracer_leaks_a_secret_through_pcscd(demo_card, reader_card, tmp_path: Path):
    """The same through pyscard → pcscd → vpcd → the emulated card (its trace is `reader_card`'s):
    the scripts and a few random sequences on one card."""
    from mynacard.host.pcsc import PcscTransport
    from mynacard.host.trace import TracingTransport, open_trace_file

    _, demo = demo_card
    traces = {"host": tmp_path / "host.trace", "emulator": reader_card.trace_path}
    with open_trace_file(traces["host"]) as sink:
        traced = TracingTransport(PcscTransport(reader_card.reader), sink=sink)
        try:
            exchanges, reached = 0, set()
            for commands in sequences(demo, 4):
                count, hit = play(traced, commands, demo)
                exchanges, reached = exchanges + count, reached | hit
        finally:
            traced.close()
    assert_clean(traces, exchanges, demo)
    assert reached >= {("text", 1), ("text", 2), ("visual", 2), ("visual", 5), ("jpki", 1)}, reached


def test_the_policy_follows_the_card(demo_card):
    """After every exchange of the fuzzed sequences the card model's real selection (AP and EF) is
    among the policy's possibilities, and in most steps it is the only one (CI §2, §4)."""
    from mynacard.applet_model.card import Card
    from mynacard.applet_model.store import MemoryStore
    from mynacard.codec.redaction import ANY_AP, ANY_EF, MF, NO_EF, RedactionPolicy
    from mynacard.emulator.inprocess import InProcessTransport

    image, demo = demo_card
    steps = exact = 0
    for commands in sequences(demo, SEQUENCES):
        card = Card.open(MemoryStore(image))
        transport, policy = InProcessTransport(card, name="emulator:fuzz"), RedactionPolicy()
        for command in commands:
            if command is None:
                transport.reset()
                policy.power_cycle()
                continue
            policy.feed(command, transport.transmit(command))
            os_state = card._os  # tests may look behind the card's interface
            aid = os_state.current_app.aid if os_state.current_app is not None else MF
            fid = getattr(os_state.current_ef, "fid", None)
            fid = NO_EF if fid is None else fid
            aps, efs = policy.selection
            assert aid in aps or ANY_AP in aps, (command.hex(), aps)
            assert fid in efs or ANY_EF in efs, (command.hex(), fid, efs)
            steps += 1
            exact += (aps, efs) == (frozenset({aid}), frozenset({fid}))
    # 84 % of the seeded steps: only partial AIDs and unusual failures leave a choice
    assert exact / steps > 0.75, f"the policy knew the exact selection in {exact} of {steps} steps"
