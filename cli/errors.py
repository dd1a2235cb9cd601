"""The one user-error type of mynacard.

Every package's errors that a person can act on derive from `UserError` (host's `CardError`, the
emulator's `EmulatorError`, the authority's `AuthorityError`, …), so the one handler at the root
of the `mynacard` command (main.py) prints any of them as one sentence and exits with its
`exit_code`, never with a traceback; library callers can catch `UserError` the same way.

This module is part of the package root, which every subpackage imports anyway; it imports
nothing, so depending on it does not bend the dependency rule (DESIGN.md).
"""

from __future__ import annotations

from typing import ClassVar


class UserError(Exception):
    """A problem the person running mynacard can act on, said in one sentence that never holds a
    PIN, a password, a My Number or a private key."""

    #: The exit status of the `mynacard` command when this error ends it.
    exit_code: ClassVar[int] = 1
    #: Advice that only makes sense on the command line (an option to pass), appended there.
    cli_hint: ClassVar[str | None] = None

    @property
    def sentence(self) -> str:
        return str(self)


class UsageError(UserError):
    """A mistake in how a command was called (options, arguments, missing input): exit status 2."""

    exit_code = 2
