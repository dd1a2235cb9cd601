"""`mynacard card …` commands of host: readers, status, certs, read, face, pin change.

The verification commands (`check`, `sign`, `verify`) live in `verify_commands.py` and are added
to the same group with the same card options (`card_args.card_options()`).

Building the parser must stay cheap (every `mynacard … --help` builds all of it): the PIN, JPKI
and card modules are imported by the handlers, and the choices are plain names here.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from mynacard.errors import UsageError
from mynacard.host.card_args import (
    SECRETS_HELP,
    card_options,
    open_card,
    read_new_secret,
    read_secret,
)
from mynacard.host.errors import CardError
from mynacard.main import CommandRoot, Subcommands

if TYPE_CHECKING:
    from mynacard.host.jpki import Certificate
    from mynacard.host.pins import Secret

RAW = argparse.RawDescriptionHelpFormatter


def _wrap(text: str) -> str:
    """Descriptions are filled here, because RAW keeps the examples of the epilogs as written."""
    return textwrap.fill(text, width=88)

#: `--which` names of `card certs`, in the order `all` exports them (`_certificate` maps them).
CERT_NAMES = ("auth", "auth-ca", "sign", "sign-ca")

#: `card pin change` choices (`_pin_secret` maps them to the secrets).
PIN_CHOICES = ("auth", "sign", "text", "common", "juki")


def _certificate(name: str) -> Certificate:
    from mynacard.host.jpki import Certificate

    return {
        "auth": Certificate.AUTH,
        "auth-ca": Certificate.AUTH_CA,
        "sign": Certificate.SIGN,
        "sign-ca": Certificate.SIGN_CA,
    }[name]


def _pin_secret(name: str) -> Secret:
    from mynacard.host import pins

    return {
        "auth": pins.AUTH_PIN,
        "sign": pins.SIGN_PASSWORD,
        "text": pins.TEXT_PIN,
        "common": pins.COMMON_PIN,
        "juki": pins.JUKI_PIN,
    }[name]


def register(root: CommandRoot) -> None:
    """Add this package's subcommands to the `mynacard` command."""
    card = root.group("card")
    common = card_options()
    _add_readers(card)
    _add_status(card, common)
    _add_certs(card, common)
    _add_read(card, common)
    _add_face(card, common)
    _add_pin(card, common)
    if importlib.util.find_spec("mynacard.host.verify_commands") is not None:
        from mynacard.host import verify_commands

        verify_commands.add_card_commands(card, common)


def _write_json(data: object, out: str | None) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if out:
        _write_file(Path(out), text.encode("utf-8"))
    else:
        sys.stdout.write(text)


def _write_file(path: Path, data: bytes) -> None:
    """Everything these commands write may hold personal data (the facts read, the photo and the
    name and address images, the signing certificate naming the holder): created 0600 and
    renamed into place, so no other user can open it at any moment, whatever the umask."""
    from mynacard.files import write_atomically

    try:
        write_atomically(path, data, 0o600)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from exc


def _out_dir(value: str) -> Path:
    path = Path(value)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the directory {path}: {exc.strerror}") from exc
    return path


# --- readers ---------------------------------------------------------------------------------------


def _add_readers(card: Subcommands) -> None:
    p = card.add_parser(
        "readers", help="list the PC/SC readers and what card each holds",
        description=_wrap("List the PC/SC readers, whether a card is inserted, and whether it is a My "
                    "Number Card (decided by SELECTing the JPKI application, never by ATR)."),
        epilog="Example:\n  mynacard card readers\n  mynacard card status --reader 'Virtual PCD 00 00'",
        formatter_class=RAW)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_readers)


def _readers(args: argparse.Namespace) -> int:
    from mynacard.host import aids, pcsc
    from mynacard.host.channel import CardChannel

    readers = pcsc.list_readers()
    rows = []
    for info in readers:
        kind = "empty"
        if info.card_present:
            try:
                with pcsc.PcscTransport(info.name) as transport:
                    kind = ("My Number Card" if CardChannel(transport).try_select_ap(aids.JPKI)
                            else "other card")
            except CardError as exc:
                kind = f"card not usable: {exc.sentence}"
        rows.append({"reader": info.name, "card": kind,
                     "atr": info.atr.hex().upper() if info.atr else None})
    if args.json:
        _write_json(rows, None)
        return 0
    if not rows:
        print("no readers: plug one in, or run `mynacard emulate` for a virtual one")
        return 0
    width = max(len(info.name) for info in readers)
    for r in rows:
        atr = f"  ATR {r['atr']}" if r["atr"] else ""
        print(f"{r['reader']:<{width}}  {r['card']}{atr}")
    return 0


# --- status ----------------------------------------------------------------------------------------


def _add_status(card: Subcommands, common: argparse.ArgumentParser) -> None:
    p = card.add_parser(
        "status", parents=[common], help="applications present and tries left of every secret",
        description=_wrap("Show which applications the card has and the tries left of every secret "
                    "(auth PIN, signing password, card-info PIN, 照合番号A/B of both card-info "
                    "and card-face APs, birth-date key, 共通 and 住基 PINs). Tries are read with "
                    "VERIFY without data, which never spends one."),
        epilog="Examples:\n  mynacard card status\n  mynacard card status --card ./mycard --json",
        formatter_class=RAW)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_status)


def _status(args: argparse.Namespace) -> int:
    with open_card(args) as card:
        status = card.status()
        if args.json:
            _write_json({"reader": card.name, "atr": card.transport.atr.hex().upper(),
                         **status.as_dict()}, None)
            return 0
        print(f"card: {card.name}")
        print("applications: " + ", ".join(f"{name} {'yes' if present else 'no'}"
                                            for name, present in status.applications.items()))
        width = max(len(s.secret.label) for s in status.secrets)
        for s in status.secrets:
            if s.tries_left is None:
                shown = s.state
            else:
                shown = f"{s.tries_left} of {s.secret.max_tries} tries left"
                if s.state in ("blocked", "last try"):
                    shown += f" ({s.state.upper()})"
            print(f"  {s.secret.label:<{width}}  {shown}")
    return 0


# --- certs -----------------------------------------------------------------------------------------


def _add_certs(card: Subcommands, common: argparse.ArgumentParser) -> None:
    p = card.add_parser(
        "certs", parents=[common], help="export the JPKI certificates (PEM or DER)",
        description=_wrap("Export the JPKI certificates: auth (利用者証明用), auth-ca, sign (署名用) and "
                    "sign-ca. The signing certificate holds the holder's name, address, birth "
                    "date and sex and is only readable after the signing password "
                    "(MYNACARD_SIGN_PASSWORD or a prompt); the others are free."),
        epilog="Examples:\n"
               "  mynacard card certs                       auth, auth-ca, sign-ca as PEM\n"
               "  mynacard card certs --which all --format der --out ./certs\n\n" + SECRETS_HELP,
        formatter_class=RAW)
    p.add_argument("--which", default="auth,auth-ca,sign-ca",
                   help="comma-separated: auth, auth-ca, sign, sign-ca, or all "
                        "(default: auth,auth-ca,sign-ca — no password needed)")
    p.add_argument("--format", choices=("pem", "der"), default="pem",
                   help="PEM (default) or DER")
    p.add_argument("--out", metavar="DIR",
                   help="write NAME.pem/NAME.der files to DIR (required for DER); default: PEM "
                        "on stdout")
    p.set_defaults(func=_certs)


def _certs(args: argparse.Namespace) -> int:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    from mynacard.host import pins

    wanted = list(CERT_NAMES) if args.which == "all" else [
        w.strip() for w in args.which.split(",") if w.strip()]
    unknown = [w for w in wanted if w not in CERT_NAMES]
    if unknown or not wanted:
        raise UsageError(f"--which takes auth, auth-ca, sign, sign-ca or all, not "
                         f"{', '.join(unknown) or 'nothing'}")
    if args.format == "der" and not args.out:
        raise UsageError("DER is binary: give --out DIR to write the files")
    password = read_secret(pins.SIGN_PASSWORD) if "sign" in wanted else None
    out = _out_dir(args.out) if args.out else None
    with open_card(args) as card:
        if password is not None:
            card.jpki.verify_signing_password(password)
        for name in wanted:
            der = card.jpki.certificate(_certificate(name))
            if args.format == "der":
                data = der
            else:
                data = x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM)
            if out is None:
                sys.stdout.write(data.decode("ascii"))
            else:
                path = out / f"{name}.{args.format}"
                _write_file(path, data)
                print(f"wrote {path}")
    return 0


# --- read ------------------------------------------------------------------------------------------


def _add_read(card: Subcommands, common: argparse.ArgumentParser) -> None:
    p = card.add_parser(
        "read", parents=[common], help="My Number and the four facts (基本4情報) as JSON",
        description=_wrap("Read the My Number and the four facts (name, address, birth date, sex) from "
                    "the card-info AP (券面事項入力補助AP) and print them as JSON. The card-info "
                    "PIN opens both; 照合番号A (the My Number) opens only the My Number; 照合番号B "
                    "opens only the four facts. With --secure-messaging the My Number and the four "
                    "facts cross the reader only encrypted (CI §11)."),
        epilog="Examples:\n"
               "  mynacard card read                       asks for the card-info PIN\n"
               "  mynacard card read --secure-messaging    the same, encrypted on the wire\n"
               "  MYNACARD_CODE_B=… mynacard card read --with code-b --out facts.json\n\n"
               "Secure messaging: the card opens a session only after its PIN was verified in\n"
               "clear, so the PIN itself is always visible on the wire; the session key goes to\n"
               "the card under the key of EF 0006, which nothing on the card signs. It keeps the\n"
               "My Number and the four facts from a listener on the reader, not from an active\n"
               "man in the middle. It needs a reader that carries extended APDUs.\n\n"
               + SECRETS_HELP,
        formatter_class=RAW)
    p.add_argument("--with", dest="using", choices=("pin", "code-a", "code-b"), default="pin",
                   help="which secret opens the AP (default: pin)")
    p.add_argument("--secure-messaging", action="store_true",
                   help="read through an encrypted session (needs --with pin, the default)")
    p.add_argument("--out", metavar="FILE", help="write the JSON to FILE instead of stdout")
    p.set_defaults(func=_read)


def _read(args: argparse.Namespace) -> int:
    from mynacard.host import pins

    secret = {"pin": pins.TEXT_PIN, "code-a": pins.TEXT_CODE_A, "code-b": pins.TEXT_CODE_B}[
        args.using]
    if args.secure_messaging and args.using != "pin":
        raise UsageError("--secure-messaging needs the card-info PIN: the card opens a session only "
                         "after it (CI §11), so drop --with")
    value = read_secret(secret)
    with open_card(args) as card:
        card.pins.verify(secret, value)
        if args.secure_messaging:
            card.text.start_secure_messaging()
        my_number = card.text.my_number() if args.using != "code-b" else None
        facts = card.text.four_facts() if args.using != "code-a" else None
    result: dict[str, object] = {"my_number": my_number}
    if facts is not None:
        result.update(facts.as_dict())
        result["sex_label"] = facts.sex_label
    else:
        result.update({"name": None, "address": None, "birth_date": None, "sex": None})
    _write_json(result, args.out)
    return 0


# --- face ------------------------------------------------------------------------------------------


def _add_face(card: Subcommands, common: argparse.ArgumentParser) -> None:
    p = card.add_parser(
        "face", parents=[common], help="card face: photo, name/address images to files",
        description=_wrap("Read the card face from the card-face AP (券面事項確認AP), opened by 照合番号B "
                    "(default) or 照合番号A, and write: photo.jp2 (as stored, JPEG 2000), "
                    "photo.png (the same photo for any viewer), name.png, address.png, "
                    "security-code.png, and face.json (birth date, sex, expiry)."),
        epilog="Examples:\n"
               "  mynacard card face --out ./face          asks for 照合番号B\n"
               "  MYNACARD_CODE_A=… mynacard card face --with code-a --out ./face\n\n"
               + SECRETS_HELP,
        formatter_class=RAW)
    p.add_argument("--with", dest="using", choices=("code-b", "code-a"), default="code-b",
                   help="照合番号B (default) or 照合番号A (the My Number)")
    p.add_argument("--out", metavar="DIR", required=True, help="directory for the files")
    p.set_defaults(func=_face)


def _face(args: argparse.Namespace) -> int:
    from mynacard.host import pins

    secret = pins.VISUAL_CODE_B if args.using == "code-b" else pins.VISUAL_CODE_A
    value = read_secret(secret)
    out = _out_dir(args.out)
    with open_card(args) as card:
        card.pins.verify(secret, value)
        face = card.visual.card_face()
    files = {
        "photo.jp2": face.photo_jp2,
        "photo.png": face.photo_png(),
        "name.png": face.name_png,
        "address.png": face.address_png,
        "security-code.png": face.security_code_png,
        "face.json": (json.dumps({"birth_date": face.birth_date, "sex": face.sex,
                                  "sex_label": face.sex_label, "expiry": face.expiry},
                                 ensure_ascii=False, indent=2) + "\n").encode("utf-8"),
    }
    for name, data in files.items():
        _write_file(out / name, data)
        print(f"wrote {out / name}")
    return 0


# --- pin change ------------------------------------------------------------------------------------


def _add_pin(card: Subcommands, common: argparse.ArgumentParser) -> None:
    p = card.add_parser("pin", help="change a PIN or the signing password",
                        description=_wrap("Manage the card's PINs. Tries left: `mynacard card status`."))
    sub = p.add_subparsers(dest="pin_command", metavar="COMMAND")
    p.set_defaults(func=lambda args, p=p: p.print_help() or 2)
    change = sub.add_parser(
        "change", parents=[common], help="change a PIN or the signing password",
        description=_wrap("Change a PIN: auth (利用者証明用, 4 digits), sign (署名用 password, 6–16 of "
                    "A–Z 0–9 with at least one letter and one digit), text (券面事項入力補助用, 4 "
                    "digits), common (共通AP, 4 digits) or juki (住基AP, 4 digits). The current "
                    "value is verified first (the tries left are read before), then the new one "
                    "is set. Card UIs present the common and juki PINs as one 個人番号カード用 "
                    "PIN: change both."),
        epilog="The current value comes from its variable (below) or a prompt; the new one\n"
               "from MYNACARD_NEW_PIN or a prompt asked twice.\n"
               "Example:\n  mynacard card pin change auth\n\n" + SECRETS_HELP,
        formatter_class=RAW)
    change.add_argument("which", choices=PIN_CHOICES, help="which PIN to change")
    change.set_defaults(func=_pin_change)


def _pin_change(args: argparse.Namespace) -> int:
    from mynacard.host import pins

    secret = _pin_secret(args.which)
    old = read_secret(secret)
    new = read_new_secret(secret)
    if pins.normalize(secret, old) == pins.normalize(secret, new):
        raise UsageError(f"the new {secret.label} is the same as the current one; nothing was "
                         f"changed")
    with open_card(args) as card:
        card.pins.change(secret, old, new)
    print(f"{secret.label} changed")
    return 0
