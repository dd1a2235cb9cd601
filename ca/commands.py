"""`mynacard ca …`: administer a running CA service over HTTP (and create or restore one offline).

Parser building imports nothing heavy; handlers import the client when they run.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mynacard.ca.revocation_reasons import REVOCATION_REASONS
from mynacard.dates import date_argument
from mynacard.main import CommandRoot

if TYPE_CHECKING:
    from mynacard.ca.client import CaClient

DESCRIPTION = """\
Administer the JPKI CA service that `mynacard serve` runs: issue from a CSR, revoke, suspend
(hold) and release, list and show certificates, fetch CRLs, back up. Calls go over HTTP to --url
(default $MYNACARD_CA_URL or http://127.0.0.1:8470/ca) with the API token from
$MYNACARD_CA_TOKEN or from DATA/tokens.json of the server (--data, default the user's data dir).
`init` and `restore` work offline on a data directory, with the server stopped.
"""

EPILOG = """\
examples:
  mynacard ca list sign --status revoked
  mynacard ca revoke sign 5A3F0C1D22E4B7A9 --reason keyCompromise --cause "lost card, report 12"
  mynacard ca hold auth 5A3F0C1D22E4B7A9          suspend (一時停止); undo with `release`
  mynacard ca crl sign --out sign.crl && openssl crl -inform DER -in sign.crl -noout -text
  mynacard ca issue auth --csr key.csr --birth-date 1985-04-12 --prefecture Tokyo \\
      --city Kiyose-shi --municipality-code 13221 --card-expiry 2034-04-12 --out auth.pem
  MYNACARD_CA_PASSPHRASE=… mynacard ca init --data ./srv   a new CA pair for a deployment
  mynacard ca backup --out ca-backup.tar.gz ; mynacard ca restore ca-backup.tar.gz --data ./srv2
  mynacard ca token audit-desk --role ca-auditor           a read-only token for another caller

reasons (RFC 5280): unspecified keyCompromise affiliationChanged superseded
  cessationOfOperation privilegeWithdrawn; suspension is `hold` (certificateHold).
"""

def register(root: CommandRoot) -> None:
    ca = root.command("ca", help="administer the JPKI CA service (issue, revoke, CRL, backup)",
                      description=DESCRIPTION, epilog=EPILOG)
    ca.set_defaults(func=lambda _args, p=ca: p.print_help() or 2)
    commands = ca.add_subparsers(dest="ca_command", metavar="COMMAND")

    remote = argparse.ArgumentParser(add_help=False)
    where = remote.add_argument_group("which service")
    where.add_argument("--url", default=os.environ.get("MYNACARD_CA_URL", "http://127.0.0.1:8470/ca"),
                       help="the CA service (default $MYNACARD_CA_URL or http://127.0.0.1:8470/ca)")
    where.add_argument("--data", type=Path, metavar="DIR", help="the server's data dir, for tokens.json")
    where.add_argument("--token-name", default="ca-admin", metavar="NAME",
                       help="token of tokens.json to use (default ca-admin); $MYNACARD_CA_TOKEN overrides")

    def sub(name: str, help: str, func: Callable[[argparse.Namespace], int], parents: bool = True
            ) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, help=help, description=help, parents=[remote] if parents else [])
        parser.set_defaults(func=func)
        return parser

    issue = sub("issue", "issue a certificate for the key in a CSR", _issue)
    issue.add_argument("ca", choices=("sign", "auth"))
    issue.add_argument("--csr", type=Path, required=True, help="PEM certificate request (its key is certified)")
    issue.add_argument("--birth-date", required=True, type=date_argument, metavar="YYYY-MM-DD")
    issue.add_argument("--prefecture", required=True, help="romanised, e.g. Tokyo")
    issue.add_argument("--city", required=True, help="romanised, e.g. Kiyose-shi")
    issue.add_argument("--municipality-code", required=True, metavar="DIGITS")
    issue.add_argument("--card-expiry", required=True, type=date_argument, metavar="YYYY-MM-DD")
    issue.add_argument("--name", help="sign only: family and given name separated by a space")
    issue.add_argument("--sex", choices=("1", "2", "3"), help="sign only: 1 male, 2 female, 3 unknown")
    issue.add_argument("--address", help="sign only: the address as on the card")
    issue.add_argument("--resident-id", help="the register's resident id, to find the certificate later")
    issue.add_argument("--card-serial", help="the card's serial number")
    issue.add_argument("--out", type=Path, help="write the certificate PEM here (default stdout)")

    for action, text in (("revoke", "revoke a certificate (final)"),
                         ("hold", "suspend a certificate (certificateHold, 一時停止)"),
                         ("release", "lift a suspension")):
        parser = sub(action, text, _change)
        parser.add_argument("ca", choices=("sign", "auth"))
        parser.add_argument("serial", help="the serial (発行番号) in hex, as `list` shows it")
        if action == "revoke":
            parser.add_argument("--reason", choices=REVOCATION_REASONS, default="unspecified", help="RFC 5280 reason")
        parser.add_argument("--cause", help="why, for the audit trail")

    listing = sub("list", "list certificates", _list)
    listing.add_argument("ca", choices=("sign", "auth"))
    listing.add_argument("--status", choices=("good", "revoked", "hold"))
    listing.add_argument("--resident-id")
    listing.add_argument("--card-serial")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (1–1000; default 100)")
    listing.add_argument("--after", metavar="SERIAL", help="continue after this serial (the last one shown)")
    listing.add_argument("--json", action="store_true", help="print JSON")

    show = sub("show", "show one certificate, its status and its history", _show)
    show.add_argument("ca", choices=("sign", "auth"))
    show.add_argument("serial")
    show.add_argument("--pem", action="store_true", help="print only the certificate PEM")

    crl = sub("crl", "fetch the current CRL (DER), or make a new one with --new", _crl)
    crl.add_argument("ca", choices=("sign", "auth"))
    crl.add_argument("--out", type=Path, help="write the DER CRL here (default: print a summary)")
    crl.add_argument("--new", action="store_true", help="make a new CRL first (ca-admin)")

    token = sub("token", "make an API token for another caller (printed once; ca-admin)", _token)
    token.add_argument("name", help="who will use it, e.g. clerk-desk-3")
    token.add_argument("--role", required=True, choices=("ca-auditor", "ca-issuer", "ca-admin"),
                       help="ca-auditor: fetch and list; ca-issuer: also issue, revoke, hold, release; ca-admin: all")

    backup = sub("backup", "download a consistent backup archive of the service", _backup)
    backup.add_argument("--out", type=Path, required=True, help="the .tar.gz to write")

    restore = sub("restore", "restore a backup into a new data directory (server stopped)", _restore, parents=False)
    restore.add_argument("archive", type=Path)
    restore.add_argument("--data", type=Path, required=True, metavar="DIR", help="the new data directory")
    restore.add_argument("--db", metavar="URL", help="database URL (default SQLite in DIR)")

    init = sub("init", "create a new signing + auth CA pair for a deployment (offline)", _init, parents=False)
    init.add_argument("--data", type=Path, metavar="DIR", help="data directory (default the user's data dir)")


def _client(args: argparse.Namespace) -> CaClient:
    from mynacard.ca.client import CaClient, resolve_token

    return CaClient(args.url, resolve_token(args.data, args.token_name))


def _run(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Errors become one line on stderr and exit status 1."""

    def wrapper(args: argparse.Namespace) -> int:
        from mynacard.ca.client import CaServiceError
        from mynacard.ca.errors import AuthorityError

        try:
            return func(args)
        except (CaServiceError, AuthorityError) as exc:
            print(f"mynacard ca {args.ca_command}: {exc}", file=sys.stderr)
            return 1
        except OSError as exc:
            print(f"mynacard ca {args.ca_command}: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
            return 1

    return wrapper


@_run
def _issue(args: argparse.Namespace) -> int:
    csr = args.csr.read_text(encoding="ascii")
    locality = {"prefecture": args.prefecture, "city": args.city}
    with _client(args) as client:
        if args.ca == "sign":
            if not (args.name and args.sex and args.address):
                print("mynacard ca issue: a signing certificate needs --name, --sex and --address", file=sys.stderr)
                return 2
            family, _, given = args.name.replace("\u3000", " ").partition(" ")
            record = client.issue_sign(
                csr_pem=csr, locality=locality, municipality_code=args.municipality_code, card_expiry=args.card_expiry,
                person={"name": f"{family}\u3000{given}", "sex": args.sex, "birth_date": args.birth_date.isoformat(),
                        "address": args.address},
                resident_id=args.resident_id, card_serial=args.card_serial,
            )
        else:
            record = client.issue_auth(
                csr_pem=csr, birth_date=args.birth_date, locality=locality, municipality_code=args.municipality_code,
                card_expiry=args.card_expiry, resident_id=args.resident_id, card_serial=args.card_serial,
            )
    _write_or_print(args.out, str(record["certificate_pem"]))
    print(f"issued {args.ca} certificate {record['serial']} valid until {record['not_after']}", file=sys.stderr)
    return 0


@_run
def _change(args: argparse.Namespace) -> int:
    with _client(args) as client:
        if args.ca_command == "revoke":
            record = client.revoke(args.ca, args.serial.upper(), args.reason, args.cause)
        elif args.ca_command == "hold":
            record = client.hold(args.ca, args.serial.upper(), args.cause)
        else:
            record = client.release(args.ca, args.serial.upper(), args.cause)
    print(_line(record))
    return 0


def _line(record: dict[str, object]) -> str:
    revocation = record.get("revocation")
    status = str(record["status"])
    if isinstance(revocation, dict):
        status += f" ({revocation['reason']} at {revocation['time']})"
    return f"{record['ca']} {record['serial']}  {status}  until {record['not_after']}  {record['subject']}"


@_run
def _list(args: argparse.Namespace) -> int:
    with _client(args) as client:
        records = client.list(args.ca, status=args.status, resident_id=args.resident_id,
                              card_serial=args.card_serial, limit=args.limit, after=args.after)
    if args.json:
        print(json.dumps(records, indent=2, ensure_ascii=False))
    else:
        for record in records:
            print(_line(record))
        more = f"; more with --after {records[-1]['serial']}" if len(records) == args.limit else ""
        print(f"{len(records)} certificate(s){more}", file=sys.stderr)
    return 0


@_run
def _show(args: argparse.Namespace) -> int:
    with _client(args) as client:
        record = client.get(args.ca, args.serial.upper())
        events = client.events(args.ca, args.serial.upper())
    if args.pem:
        print(record["certificate_pem"], end="")
        return 0
    print(_line(record))
    for key in ("issuance_id", "municipality_code", "not_before", "issued_at", "resident_id", "card_serial"):
        print(f"  {key:18} {record[key]}")
    for event in events:
        extra = " ".join(str(event[k]) for k in ("reason", "cause") if event.get(k))
        print(f"  {event['at']}  {event['action']:8} by {event['actor']}  {extra}".rstrip())
    return 0


@_run
def _crl(args: argparse.Namespace) -> int:
    from cryptography import x509

    with _client(args) as client:
        if args.new:
            client.new_crl(args.ca)
        der = client.crl(args.ca)
    if args.out:
        args.out.write_bytes(der)
    crl = x509.load_der_x509_crl(der)
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    print(f"{args.ca} CRL number {number}: {len(crl)} entries, this update {crl.last_update_utc:%Y-%m-%d %H:%M:%S}Z, "
          f"next update {crl.next_update_utc:%Y-%m-%d %H:%M:%S}Z" + (f", written to {args.out}" if args.out else ""))
    return 0


@_run
def _token(args: argparse.Namespace) -> int:
    with _client(args) as client:
        made = client.new_token(args.name, args.role)
    print(made["token"])
    print(f"token '{made['name']}' with role {made['role']}: shown only this once, store it now", file=sys.stderr)
    return 0


@_run
def _backup(args: argparse.Namespace) -> int:
    from mynacard.files import write_atomically

    with _client(args) as client:
        data = client.backup()
    write_atomically(args.out, data, 0o600)
    print(f"wrote {args.out} ({len(data)} bytes); it holds the CA keys (encrypted for a deployment CA): keep it safe")
    return 0


@_run
def _restore(args: argparse.Namespace) -> int:
    from mynacard.ca.backup import restore_archive
    from mynacard.ca.runtime import migrate
    from mynacard.service.config import sqlite_url
    from mynacard.service.db import make_engine

    data = args.data.resolve()
    engine = make_engine(args.db or sqlite_url(data, "ca"))
    try:
        migrate(engine)
        counts = restore_archive(args.archive, engine, data / "ca")
    finally:
        engine.dispose()
    print(f"restored into {data}: " + ", ".join(f"{n} {name}" for name, n in counts.items()))
    print(f"start it with: mynacard serve --data {data}" + (f" --ca-db {args.db}" if args.db else ""))
    return 0


@_run
def _init(args: argparse.Namespace) -> int:
    from mynacard.ca.identity import PASSPHRASE_ENV, CaDirectory
    from mynacard.service.config import default_data_dir

    passphrase = os.environ.get(PASSPHRASE_ENV)
    if not passphrase:
        if not sys.stdin.isatty():
            print(f"mynacard ca init: set {PASSPHRASE_ENV} or run in a terminal", file=sys.stderr)
            return 2
        passphrase = getpass.getpass("new CA passphrase: ")
        if getpass.getpass("again: ") != passphrase:
            print("mynacard ca init: the two passphrases differ", file=sys.stderr)
            return 1
    from cryptography.hazmat.primitives import hashes

    data = (args.data or default_data_dir()).resolve()
    roots = CaDirectory(data / "ca").init_deployment(passphrase.encode("utf-8"))
    for ca_id, root in roots.items():
        print(f"{ca_id} CA root: {data / 'ca' / f'{ca_id}-ca.pem'}  (SHA-256 "
              f"{root.fingerprint(hashes.SHA256()).hex()})")
    print("Keys are encrypted under the passphrase; give verifiers these roots (they are not the test authority's).")
    return 0


def _write_or_print(path: Path | None, text: str) -> None:
    if path is None:
        print(text, end="")
    else:
        path.write_text(text, encoding="ascii")
