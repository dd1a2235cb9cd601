"""Exceptions of the card model.

`CommandRefused` never leaves the card: the OS turns it into the status word it carries.
`ImageError` is raised while loading or writing a card image and says what is wrong with it; it is
a `mynacard.errors.UserError` (the package root's one user-error type, which imports nothing). `PowerLost` is the
one exception that does leave `Card.execute`: it stands for the card losing power in the middle of
a command (an injected torn write), when a real card gives no answer at all.
"""

from __future__ import annotations

from mynacard.errors import UserError


class CommandRefused(Exception):
    """A command ends with a status word other than 9000. Internal to the card (the OS answers it
    as that SW), so neither a UserError nor host's `CardError`, whose name it no longer shares."""

    def __init__(self, sw: int, reason: str = "") -> None:
        super().__init__(reason or f"status {sw:04X}")
        self.sw = sw


class ImageError(UserError):
    """A card image cannot be used; the message names the file and the problem."""


class PowerLost(Exception):
    """The card lost power mid-command (simulated torn write): no response is given."""
