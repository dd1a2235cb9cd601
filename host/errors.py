"""What can go wrong between a host and a My Number Card, each as a sentence a person can act on.

Every exception the host raises about a card, a reader or the data derives from `CardError`, a
`mynacard.errors.UserError`, so an application (or the CLI's one handler) can catch one class and
print `error.sentence`. Status-word errors
carry the SW; the sentences never contain a PIN, a password or a My Number — only the *name* of
the secret involved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mynacard.errors import UserError
from mynacard.host.sw import SW, describe

if TYPE_CHECKING:
    from mynacard.host.pins import Secret


class CardError(UserError):
    """Base class: `sentence` is what to show a person; `sw` the status word, if the card gave one."""

    def __init__(self, sentence: str, sw: int | None = None) -> None:
        super().__init__(sentence)
        self.sw = sw


# --- the reader and PC/SC -------------------------------------------------------------------------


class TransportError(CardError):
    """The path to the card failed (PC/SC service, reader, card presence), not the card itself."""


class PcscUnavailable(TransportError):
    """No PC/SC service (pcscd) to talk to."""


class NoReader(TransportError):
    """No reader at all, or none with the requested name."""


class NoCard(TransportError):
    """The reader is there but holds no card (or no My Number Card)."""


class CardRemoved(TransportError):
    """The card left the reader during a session; the session's state (verified PINs) is gone."""


class ReaderBusy(TransportError):
    """Another program holds the reader exclusively."""


# --- the card as a whole --------------------------------------------------------------------------


class NotAMyNumberCard(CardError):
    """The card does not answer the JPKI AID SELECT (detection is by AID, never by ATR)."""


class CardDataError(CardError):
    """The card answered 9000 but the bytes are not what card-interface.md describes."""


# --- secrets ---------------------------------------------------------------------------------------


class PinFormatError(CardError, ValueError):
    """A secret of the wrong format: refused before any APDU is sent, so no try is spent."""


class LastTryDeclined(CardError):
    """One try was left and nobody confirmed spending it; nothing was sent."""

    cli_hint = "pass --allow-last-try to spend it from a script"


class PinWrong(CardError):
    """The card rejected the secret (`63Cx`); `tries_left` more attempts before it blocks."""

    def __init__(self, secret: Secret, tries_left: int, sw: int) -> None:
        if tries_left == 1:
            sentence = (f"{secret.label} wrong: 1 try left — one more wrong attempt blocks it "
                        f"({secret.blocked_advice})")
        else:
            sentence = f"{secret.label} wrong: {tries_left} tries left"
        super().__init__(sentence, sw)
        self.secret = secret
        self.tries_left = tries_left


class PinBlocked(CardError):
    """The secret is blocked (`63C0` / `6984`); the sentence says what the holder must do."""

    def __init__(self, secret: Secret, sw: int | None, *, just_now: bool = False) -> None:
        prefix = "that was the last try: " if just_now else ""
        super().__init__(f"{prefix}{secret.label} blocked: {secret.blocked_advice}", sw)
        self.secret = secret


# --- other status words ---------------------------------------------------------------------------


class SecureMessagingEnded(CardError):
    """The secure-messaging session is gone (SM error, AP change, reset): nothing more is read
    through it, and nothing is read in clear in its place."""


class SecurityStatusNotSatisfied(CardError):
    """`6982`: the EF or key needs a secret that has not been verified in this session."""


class FileNotFound(CardError):
    """`6A82`: the AP or EF is absent (or SELECT of an unknown AID)."""


class UnexpectedStatus(CardError):
    """Any other status word: the card refused the command."""


def error_for_sw(sw: int, doing: str, needs: str = "") -> CardError:
    """The exception for a non-9000 answer to a command that is not a VERIFY.

    `doing` names the operation ("reading the signing certificate (JPKI EF 0001)"); `needs` says
    which secret opens it, used for `6982`.
    """
    if sw == SW.SECURITY_STATUS_NOT_SATISFIED:
        hint = f": verify {needs} first" if needs else ": a secret must be verified first"
        return SecurityStatusNotSatisfied(f"{doing} is not allowed yet{hint}", sw)
    if sw == SW.FILE_NOT_FOUND:
        return FileNotFound(f"{doing} failed: the card has no such application or file "
                            f"(status {describe(sw)})", sw)
    return UnexpectedStatus(f"{doing} failed: the card answered {describe(sw)}", sw)
