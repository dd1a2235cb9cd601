"""Shared by every `mynacard card …` command of host (and the verification commands): the options
that choose a card, opening it from parsed arguments, reading secrets, and turning errors into
one sentence on stderr.

Secrets never come from argv (they would be in `ps` and shell history): they come from an
environment variable named after the secret, or from a no-echo prompt.

Only the option definitions are needed to build the parser (every `mynacard … --help` builds all
of it), so the card, transport and PIN modules (pyscard, cryptography, entry points) are imported
by the functions that open the card or check a secret, not at the top.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import TYPE_CHECKING, TextIO

from mynacard.errors import UsageError
from mynacard.host.errors import CardError, TransportError

if TYPE_CHECKING:
    from mynacard.host.card import MyNumberCard
    from mynacard.host.pins import LastTryHook, Secret
    from mynacard.host.trace import TracingTransport
    from mynacard.host.transport import Transport

#: Environment variable for a new PIN in `card pin change` (scripts and tests).
NEW_PIN_ENV = "MYNACARD_NEW_PIN"

SECRETS_HELP = """\
Secrets are read from these environment variables, else asked for without echo:
  MYNACARD_AUTH_PIN       auth PIN (4 digits, 3 tries)
  MYNACARD_SIGN_PASSWORD  signing password (6–16 of A–Z 0–9, 5 tries)
  MYNACARD_TEXT_PIN       card-info PIN (券面事項入力補助用, 4 digits)
  MYNACARD_CODE_A         照合番号A = the 12-digit My Number
  MYNACARD_CODE_B         照合番号B (14 digits: birth YYMMDD in the era, expiry year, code)
  MYNACARD_BIRTH_KEY      birth-date key (6 digits, YYMMDD in the era)
  MYNACARD_COMMON_PIN     共通AP PIN (4 digits; falls back to MYNACARD_JUKI_PIN)
  MYNACARD_JUKI_PIN       住基AP PIN (4 digits)
A secret of the wrong format is refused before anything is sent to the card, and the tries left
are read before every attempt.
"""


def card_options() -> argparse.ArgumentParser:
    """A parent parser (`parents=[...]`) with the card-choosing options."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("choosing the card (one of --reader, --card)")
    group.add_argument("--reader", metavar="NAME",
                        help="PC/SC reader to use (default: the first reader holding a My Number "
                             "Card; `mynacard card readers` lists them)")
    group.add_argument("--card", metavar="DIR",
                        help="use the card image in DIR in-process through the emulator, "
                             "without any reader (e.g. one made by `mynacard card new DIR`)")
    group.add_argument("--wait", metavar="SECONDS", type=float, default=0.0,
                       help="with PC/SC, wait up to SECONDS for a card to be inserted")
    group.add_argument("--trace", metavar="FILE",
                       help="append every APDU to FILE, created private (0600); PINs, the My "
                            "Number and personal data are redacted")
    group.add_argument("--allow-last-try", action="store_true",
                       help="spend a secret's last try without asking (scripts); otherwise you "
                            "are asked, and without a terminal the last try is never spent")
    return parent


def _open_transport(args: argparse.Namespace) -> Transport:
    from mynacard.host.transport import open_transport

    if args.card and args.reader:
        raise UsageError("give either --reader (a card in a reader) or --card (a card image), "
                         "not both")
    if args.card:
        try:
            return open_transport(f"emulator:{args.card}")
        except CardError:
            raise
        except Exception as exc:  # the emulator's own errors carry a sentence as well
            raise TransportError(f"cannot use the card image in {args.card}: {exc}") from exc
    from mynacard.host import pcsc

    if args.wait:
        pcsc.wait_for_card(args.reader, args.wait)
    if args.reader:
        return pcsc.PcscTransport(args.reader)
    return pcsc.open_first_my_number_card()


def last_try_hook(args: argparse.Namespace) -> LastTryHook:
    """`--allow-last-try`, else a y/N question on a terminal, else refuse."""

    def confirm(secret: Secret) -> bool:
        if getattr(args, "allow_last_try", False):
            return True
        if not sys.stdin.isatty():
            return False
        answer = input(f"The {secret.label} has only 1 try left; a wrong value blocks it "
                       f"({secret.blocked_advice}). Use the last try? [y/N] ")
        return answer.strip().lower() in ("y", "yes")

    return confirm


def open_card(args: argparse.Namespace) -> MyNumberCard:
    """The card chosen by the options of `card_options()`, checked to be a My Number Card."""
    from mynacard.host.card import MyNumberCard

    transport = _open_transport(args)
    if getattr(args, "trace", None):
        from mynacard.host.trace import TraceFileError, open_trace_file

        try:
            sink = open_trace_file(args.trace)  # closed with the card
        except TraceFileError as exc:
            transport.close()
            raise UsageError(str(exc)) from exc
        transport = _closing_trace(transport, sink)
    card = MyNumberCard(transport, on_last_try=last_try_hook(args))
    try:
        card.detect()
    except BaseException:
        card.close()
        raise
    return card


def _closing_trace(inner: Transport, sink: TextIO) -> TracingTransport:
    """A trace of `inner` written to `sink`, which is closed with the card. The class is made
    here, not at import, because TracingTransport brings in the transport machinery."""
    from mynacard.host.trace import TracingTransport

    class ClosingTrace(TracingTransport):
        def close(self) -> None:
            try:
                super().close()
            finally:
                sink.close()

    return ClosingTrace(inner, sink)


def read_secret(secret: Secret, *, env: str | None = None) -> str:
    """The secret from its environment variable, else a no-echo prompt; never from argv.

    The format is checked here too, so a typo is reported before the card is even touched."""
    from mynacard.host.pins import normalize

    names = [env or secret.env]
    if secret.key == "common-pin":
        names.append("MYNACARD_JUKI_PIN")
    for name in names:
        value = os.environ.get(name)
        if value:
            normalize(secret, value)
            return value
    if not sys.stdin.isatty():
        raise UsageError(f"the {secret.label} is needed: set {names[0]} or run this in a "
                         f"terminal to be asked for it")
    value = getpass.getpass(f"{secret.label}: ")
    normalize(secret, value)
    return value


def read_new_secret(secret: Secret) -> str:
    """A new PIN/password: MYNACARD_NEW_PIN, else asked twice without echo."""
    from mynacard.host.pins import normalize

    value = os.environ.get(NEW_PIN_ENV)
    if value:
        normalize(secret, value, new=True)
        return value
    if not sys.stdin.isatty():
        raise UsageError(f"the new {secret.label} is needed: set {NEW_PIN_ENV} or run this in a "
                         f"terminal to be asked for it")
    value = getpass.getpass(f"new {secret.label}: ")
    normalize(secret, value, new=True)
    if getpass.getpass(f"new {secret.label} again: ") != value:
        raise UsageError(f"the two entries of the new {secret.label} differ; nothing was changed")
    return value
