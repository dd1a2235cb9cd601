"""Exceptions of the emulator.

Every message is one sentence a person can act on, and never carries a PIN, a password or a My
Number: the CLI's one handler (mynacard.main) prints it as it is, since `EmulatorError` is a
`mynacard.errors.UserError`.
"""

from __future__ import annotations

from mynacard.errors import UserError


class EmulatorError(UserError):
    """Something stops the emulator from serving a card; the message says what to do."""


class PcscdNotInstalled(EmulatorError):
    """pcscd or vsmartcard's vpcd driver is missing from this machine."""


class PcscdError(EmulatorError):
    """pcscd could not be found, started, used or stopped."""


class SlotBusy(EmulatorError):
    """The requested virtual reader slot already holds a card (ours or another program's)."""


class ControlError(EmulatorError):
    """A control-channel request failed (no emulator listening, or the request was refused)."""


class CardRemoved(ConnectionError):
    """The card went away in the middle of a command (removed, or lost power in a torn write).

    A `ConnectionError`, because for the host this is the link to the card failing, exactly as
    pyscard's card-removed error is for a card in a reader.
    """
