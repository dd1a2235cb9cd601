"""The root of the `mynacard` command: group texts owned in one place, conflicting registrations
refused, and one handler that turns every package's user errors into one sentence and an exit
status (never a traceback)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from mynacard.applet_model.errors import ImageError
from mynacard.ca.errors import AuthorityError
from mynacard.conformance.runner import SelectionError
from mynacard.conformance.secrets import SecretsError
from mynacard.emulator.errors import EmulatorError
from mynacard.errors import UsageError, UserError
from mynacard.host.errors import CardError
from mynacard.host.trust import TrustError
from mynacard.main import GROUPS, CommandRoot, RegistrationError, main
from mynacard.register_stub.errors import IssuanceError


def test_card_help_shows_the_group_text_of_the_root(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["card", "--help"])
    assert done.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert " ".join(GROUPS["card"].split()) in out
    assert "new" in out and "status" in out  # register_stub's and host's commands in one group


def test_conflicting_registrations_are_errors() -> None:
    root = CommandRoot()
    with pytest.raises(RegistrationError, match="not declared"):
        root.group("cards")
    with pytest.raises(RegistrationError, match="is a command group"):
        root.command("card")
    root.group("card").add_parser("new")
    with pytest.raises(argparse.ArgumentError, match="conflicting subparser"):
        root.group("card").add_parser("new")
    root.command("emulate")
    with pytest.raises(argparse.ArgumentError, match="conflicting subparser"):
        root.command("emulate")


@pytest.mark.parametrize("error", [CardError, EmulatorError, ImageError, AuthorityError, IssuanceError,
                                   SelectionError, SecretsError, TrustError])
def test_every_package_error_is_a_user_error(error: type[Exception]) -> None:
    assert issubclass(error, UserError)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.err


def test_user_errors_of_every_package_end_in_one_sentence(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    cases = [
        (("card", "new", str(not_a_dir)), 1, "exists and is not a directory"),        # register_stub
        (("apdu", "--card", str(tmp_path / "none"), "00A40000"), 1, str(tmp_path / "none")),  # emulator
        (("card", "status", "--card", str(tmp_path), "--reader", "x"), 2, "not both"),  # host usage
        (("conformance", "list", "--profile", "nope"), 2, "unknown profile NOPE"),       # conformance
    ]
    for argv, status, words in cases:
        code, err = _run(capsys, *argv)
        assert code == status, (argv, err)
        assert err.startswith("mynacard: ") and err.count("\n") == 1 and words in err, (argv, err)
        assert "Traceback" not in err


def test_a_usage_error_raised_anywhere_exits_2(capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def fails(args: argparse.Namespace) -> int:
        raise UsageError("say which card")

    monkeypatch.setattr("mynacard.main.build_parser", lambda: _parser_with(fails))
    assert main(["x"]) == 2
    assert capsys.readouterr().err == "mynacard: say which card\n"


def _parser_with(handler: object) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mynacard")
    parser.add_subparsers().add_parser("x").set_defaults(func=handler)
    return parser
