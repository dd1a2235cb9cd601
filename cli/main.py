"""The one `mynacard` command.

Every package contributes its own subcommands through a `commands` module with a
`register(root: CommandRoot)` function, so that each package keeps its CLI next to its code while
the dependency rule of DESIGN.md holds: only this root module sees all packages at once.
Several packages share a group (`mynacard card new` is register_stub's, `mynacard card status` is
host's), hence `CommandRoot.group`; the group's text is declared once, in `GROUPS`, so that no
package's registration order decides what `--help` says. Registering a name twice is an error
(`RegistrationError`, or argparse's own for a subcommand), never a silent first-wins.

Errors: every package's user-facing errors are `mynacard.errors.UserError`s; `main` is the one
handler that prints them as one sentence and exits with their code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import TypeAlias

from mynacard import __version__
from mynacard.errors import UserError

#: Modules whose `register(root)` adds subcommands, in the order they appear in `--help`.
COMMAND_MODULES: tuple[str, ...] = (
    "mynacard.register_stub.commands",
    "mynacard.emulator.commands",
    "mynacard.host.commands",
    "mynacard.conformance.commands",
    "mynacard.serve",
    "mynacard.ca.commands",
    "mynacard.register_stub.register_commands",
    "mynacard.terminal.commands",
    "mynacard.window.commands",
    "mynacard.up",
)

#: The subcommands of a group, as `CommandRoot.group` hands them out.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

#: The text of every command group several packages add to: owned here, not by any one of them.
GROUPS: dict[str, str] = {
    "card": "Make and work with My Number Cards (個人番号カード): create a card image, read a card, "
            "check it, sign with it, manage its PINs.",
}

EPILOG = """\
Start here:
  mynacard card new ./mycard          create a card for a person (demo values by default)
  mynacard apdu --card ./mycard 00A4040C0AD392F000260100000001
                                      talk to that card in-process
  mynacard emulate --card ./mycard    put it in a virtual PC/SC reader
Every command has its own --help.
"""


class RegistrationError(Exception):
    """Two packages claim one command name, or a package uses a group `GROUPS` does not declare.
    A programming error of the packages, caught by tests (tests/test_cli_root.py)."""


class CommandRoot:
    """The top-level parser, handing out shared command groups to the packages."""

    def __init__(self) -> None:
        self.parser = argparse.ArgumentParser(
            prog="mynacard",
            description="The Japanese My Number Card (個人番号カード): a faithful card model, "
            "a virtual card in a real PC/SC reader, host middleware and a conformance suite.",
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        self.parser.add_argument("--version", action="version", version=f"mynacard {__version__}")
        self.commands = self.parser.add_subparsers(dest="command", metavar="COMMAND")
        self._groups: dict[str, Subcommands] = {}

    def command(self, name: str, **kwargs: object) -> argparse.ArgumentParser:
        """A top-level command such as `mynacard emulate`."""
        if name in GROUPS:
            raise RegistrationError(f"'{name}' is a command group: add to it with root.group('{name}')")
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        return self.commands.add_parser(name, **kwargs)  # type: ignore[arg-type]

    def group(self, name: str) -> Subcommands:
        """A command group shared between packages, such as `mynacard card …`; its text is
        `GROUPS[name]`."""
        if name not in GROUPS:
            raise RegistrationError(f"command group '{name}' is not declared in mynacard.main.GROUPS")
        if name not in self._groups:
            text = GROUPS[name]
            parser = self.commands.add_parser(name, help=text, description=text)
            parser.set_defaults(func=lambda args, p=parser: p.print_help() or 2)
            self._groups[name] = parser.add_subparsers(dest=f"{name}_command", metavar="COMMAND")
        return self._groups[name]


def build_parser() -> argparse.ArgumentParser:
    root = CommandRoot()
    for module_name in COMMAND_MODULES:
        register: Callable[[CommandRoot], None] = importlib.import_module(module_name).register
        register(root)
    return root.parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except UserError as exc:
        hint = f" ({exc.cli_hint})" if exc.cli_hint else ""
        print(f"mynacard: {exc.sentence}{hint}", file=sys.stderr)
        return exc.exit_code
    except EOFError:  # a prompt met the end of its input
        print("mynacard: no input: the value asked for was not entered", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `mynacard … | head`: the reader went away, which is not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
