"""The parts under the runner: secrets file, recorder redaction, ATR parsing, data checks, robots,
the diff's alignment."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest

from mynacard.conformance.atr import AtrError, parse_atr
from mynacard.conformance.checks import valid_my_number
from mynacard.conformance.context import shifted
from mynacard.conformance.diff import compare
from mynacard.conformance.model import CaseResult, DataKind, Exchange, Secret, Status
from mynacard.conformance.recorder import Recorder, redact_command
from mynacard.conformance.robot import ClientRobot, ControlChannelRobot, ManualRobot, RobotError
from mynacard.conformance.runner import RunReport
from mynacard.conformance.secrets import Secrets, SecretsError
from mynacard.emulator.inprocess import InProcessTransport

# -- secrets ---------------------------------------------------------------------------------------


def test_secrets_from_toml_and_json(tmp_path: Path) -> None:
    toml = tmp_path / "s.toml"
    toml.write_text('auth-pin = "0012"\nsign-password = "ABC123"\n[max-tries]\ncode-a = 10\n', encoding="utf-8")
    s = Secrets.load(toml)
    assert s.get(Secret.AUTH_PIN) == b"0012" and s.max_tries == {"code-a": 10}
    js = tmp_path / "s.json"
    js.write_text(json.dumps({"code-b": "60041220362468"}), encoding="utf-8")
    assert Secrets.load(js).get(Secret.CODE_B) == b"60041220362468"
    assert "0012" not in repr(s) and "ABC123" not in str(s) and "auth-pin" in repr(s)


@pytest.mark.parametrize(("content", "message"), [
    ("auth-pin = 1234\n", "must be a string"),
    ('auth-pin = "123"\n', "is not 4 digits"),
    ('sign-password = "abc123"\n', "is not 6–16 characters"),
    ('pin = "1234"\n', "unknown key 'pin'"),
    ('auth-pin = "1234\n', "is not valid TOML"),
    ("[max-tries]\ncode-a = 99\n", "from 1 to 15"),
])
def test_bad_secrets_files_are_refused_without_showing_values(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SecretsError, match=message) as info:
        Secrets.load(path)
    for value in ("1234", "123", "abc123"):
        assert f'"{value}' not in str(info.value) and f" {value}" not in str(info.value)


def test_wrong_values_keep_the_format_and_differ_everywhere() -> None:
    assert shifted(b"1234", 1) == b"2345"
    assert shifted(b"ZZ9999", 1) == b"AA0000"
    original = b"ABC123"
    for shift in (1, 3):
        changed = shifted(original, shift)
        assert all(a != b for a, b in zip(original, changed, strict=True))
        assert any(c.isdigit() for c in changed.decode()) and any(c.isalpha() for c in changed.decode())


# -- recorder --------------------------------------------------------------------------------------


def test_recorder_redacts_secrets_my_number_and_personal_data(inprocess_transport: InProcessTransport) -> None:
    rec = Recorder(inprocess_transport)
    log = rec.begin()
    rec.exchange(bytes.fromhex("00A4040C0AD3921000310001010408"), "select text")
    rec.exchange(bytes.fromhex("00A4020C020011"), "select PIN")
    rec.exchange(bytes.fromhex("002000800431323334"), "verify")
    rec.exchange(bytes.fromhex("00A4020C020001"), "select my number")
    my_number = rec.exchange(bytes.fromhex("00B0000011"), "read my number")
    assert my_number.data[3:15] == b"123456789018"  # the case sees the data ...
    rec.exchange(bytes.fromhex("00B0820000"), "read four facts by SFI")
    rec.exchange(bytes.fromhex("00A4020C020008"), "select 0008")
    rec.exchange(bytes.fromhex("00B0000000"), "read 0008")
    rec.exchange(bytes.fromhex("0084000008"), "challenge")
    verify, read, four, constant, challenge = log[2], log[4], log[5], log[7], log[8]
    assert verify.command == "0020008004 <4 bytes redacted>" and verify.kind is DataKind.SECRET
    assert read.kind is DataKind.MY_NUMBER and "3132" not in read.response and read.length == 17
    assert four.kind is DataKind.PERSONAL and "redacted" in four.response
    assert constant.kind is DataKind.CONSTANT and constant.comparable == "FF" * 16
    assert challenge.kind is DataKind.RANDOM and challenge.comparable is None


def test_recorder_redacts_a_my_number_wherever_it_shows_up() -> None:
    class Echo:
        name, atr, extended_length = "echo", b"\x3b\x00", False

        def transmit(self, apdu: bytes) -> bytes:
            return b"\x10\x0c" + b"123456789018" + b"\x90\x00"

        def reset(self) -> None: ...

        def close(self) -> None: ...

    rec = Recorder(Echo())  # type: ignore[arg-type]
    rec.exchange(bytes.fromhex("00CA010100"), "anything")
    assert rec.log[0].kind is DataKind.MY_NUMBER and "313233" not in rec.log[0].response


def test_redact_command_keeps_header_and_le() -> None:
    assert redact_command(bytes.fromhex("0020008004313233340A")) == "0020008004 <4 bytes redacted> 0A"
    assert redact_command(bytes.fromhex("00200080")) == "00200080"
    assert redact_command(bytes.fromhex("0020008009313233")) == "00200080 <4 bytes redacted>"


# -- ATR and data checks ---------------------------------------------------------------------------


@pytest.mark.parametrize(("atr", "contactless"), [
    ("3BDA13FF8131FB468012392F31C173C601C03B", False),
    ("3BE000FF8131FE4514", False),
    ("3BF59100FF918171FE400042000100D1D6", False),
    ("3B888001000005E0B381A1007F", True),
    ("3B80800101", True),
])
def test_atrs_of_ci_1_1_parse(atr: str, contactless: bool) -> None:
    parsed = parse_atr(bytes.fromhex(atr))
    assert parsed.tck_ok and parsed.contactless is contactless
    assert contactless or 1 in parsed.protocols


def test_bad_atrs() -> None:
    assert not parse_atr(bytes.fromhex("3BDA13FF8131FB468012392F31C173C601C03C")).tck_ok
    with pytest.raises(AtrError):
        parse_atr(bytes.fromhex("3BDA13FF81"))


def test_my_number_check_of_the_ef_bytes_jpki_system_4_1() -> None:
    assert valid_my_number(b"123456789018") and valid_my_number(b"537686677188")
    assert not valid_my_number(b"123456789017")
    assert not valid_my_number(b"12345678901\xff")


# -- robots ----------------------------------------------------------------------------------------


def test_control_channel_robot_speaks_the_emulators_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "control.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)
    seen: list[dict[str, object]] = []

    def serve() -> None:
        for _ in range(3):
            conn, _ = server.accept()
            with conn:
                request = json.loads(conn.makefile("rb").readline())
                seen.append(request)
                ok = request["op"] != "insert" or len(seen) < 3
                answer = {"ok": True} if ok else {"ok": False, "error": "there is already a card"}
                conn.sendall(json.dumps(answer).encode() + b"\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    robot = ControlChannelRobot(path, card=1, settle=0)
    robot.remove()
    robot.insert()
    with pytest.raises(RobotError, match="already a card"):
        robot.insert()
    thread.join(5)
    server.close()
    assert seen == [{"op": "remove", "card": 1}, {"op": "insert", "card": 1}, {"op": "insert", "card": 1}]
    with pytest.raises(RobotError, match="cannot reach"):
        ControlChannelRobot(tmp_path / "nobody.sock").remove()


def test_manual_robot_prompts_a_person() -> None:
    import io

    out, answers = io.StringIO(), []
    robot = ManualRobot(ask=lambda prompt: answers.append(prompt) or "", out=out)
    robot.remove()
    robot.insert()
    assert "take the card out" in out.getvalue() and "put the card back" in out.getvalue() and len(answers) == 2


def test_client_robot_needs_remove_and_insert() -> None:
    with pytest.raises(TypeError, match="remove"):
        ClientRobot(object(), "nothing")


# -- diff ------------------------------------------------------------------------------------------


def _report(*steps: Exchange, status: Status = Status.PASSED) -> RunReport:
    result = CaseResult("X-Y-001", "t", (), (), "read-only", status, exchanges=list(steps))
    return RunReport("t", "3B", "now", 1.0, [], {}, {}, {}, True, [result])


def _e(command: str, sw: int = 0x9000, length: int = 0, kind: DataKind = DataKind.NONE, data: str | None = None) -> Exchange:
    return Exchange("step", command, "", sw, length, kind, 0.1, data)


def test_diff_aligns_extra_reads_as_notes_and_flags_sw_length_data() -> None:
    a = _report(_e("00A4"), _e("00B0000000", length=256, kind=DataKind.CARD), _e("00B0010000", length=10, kind=DataKind.CARD),
                _e("0084000008", length=8, kind=DataKind.RANDOM), _e("00B0000003", length=3, kind=DataKind.CONSTANT, data="8F8F00"))
    b = _report(_e("00A4"), _e("00B0000000", length=256, kind=DataKind.CARD), _e("00B0010000", length=256, kind=DataKind.CARD),
                _e("00B0020000", length=4, kind=DataKind.CARD), _e("0084000008", length=7, kind=DataKind.RANDOM),
                _e("00B0000003", length=3, kind=DataKind.CONSTANT, data="8F0000"))
    diffs = compare(a, b)
    real = sorted(d.where.split("(")[0] + d.where.split(")")[-1] for d in diffs if d.severity == "difference")
    notes = [d for d in diffs if d.severity == "note"]
    assert real == ["'step'  data", "'step'  length"]
    assert len(notes) == 2  # the card-data length, the extra chunk only in B
    assert compare(a, a) == []
    assert [d.where for d in compare(a, _report(status=Status.FAILED)) if d.where == "status"] == ["status"]
