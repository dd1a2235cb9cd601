"""`mynacard register …`: the resident register of a running `mynacard serve`, over HTTP.

Parser building imports nothing heavy (every `mynacard … --help` builds it); handlers import
httpx and the card model when they run. My Numbers are never taken from the command line, where
the process list and the shell history would keep them: `method2` and `lookup` prompt for the
number (or read it from $MYNACARD_MY_NUMBER).
"""

from __future__ import annotations

import argparse
import base64
import getpass
import json
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mynacard.dates import date_argument, parse_date
from mynacard.errors import UserError
from mynacard.main import CommandRoot

if TYPE_CHECKING:
    import httpx

    from mynacard.register_stub.bulk import LoadRow

DEFAULT_URL = "http://127.0.0.1:8470/register"

DESCRIPTION = """\
Work with the resident register (住民基本台帳) that `mynacard serve` runs at /register: record
births, entries from abroad and every life event (each one transaction; the certificates the
law says are revoked through the CA service), issue cards, report a card lost or found, ask
方法2 questions, and watch the revocation outbox. Calls go to --url (default
$MYNACARD_REGISTER_URL or http://127.0.0.1:8470/register) with the token named by --token-name
from the server's DATA/tokens.json (--data; default the user's data dir), or $MYNACARD_REGISTER_TOKEN.
Reads of a record need --purpose: it is kept in the resident's access records.
"""

EPILOG = """\
examples:
  mynacard register birth --family-name 見本 --given-name 太郎 --birth-date 2026-04-01 --sex male \\
      --address 東京都千代田区見本町1-2-3 --municipality-code 13101
  mynacard register show 24727059608 --purpose 転居届の受付
  mynacard register event 24727059608 move-within --address 東京都千代田区見本町2-3-4 --cause 転居届
  mynacard register event 24727059608 move-out --planned-date 2026-12-01 --destination 大阪府大阪市北区1-1
  mynacard register card issue 24727059608 --out ./taro-card      then: mynacard emulate --card ./taro-card
  mynacard register application-form 24727059608 --out form.json then: mynacard card check --application form.json
  mynacard register method2 --token-name clerk --name "見本 太郎" --birth-date 昭和55年2月17日 --sex 男 \\
      --address 千代田区見本町一丁目2番3号 --purpose 児童手当の申請          (asks for the My Number)
  mynacard register outbox --status failed ; mynacard register outbox --retry 42

events (mynacard register event CODE KIND): move-within, move-out, move-in, continuation,
name-change, correction, death, emigration, household-change, items-update.
"""

SEXES = {"male": "1", "female": "2", "unknown": "3", "1": "1", "2": "2", "3": "3"}
EVENT_KINDS = ("move-within", "move-out", "move-in", "continuation", "name-change", "correction", "death",
               "emigration", "household-change", "items-update")
#: Options of `event` that go into the event body, by event field name.
EVENT_FIELDS = ("address", "planned_date", "destination", "moved_in_on", "municipality_code", "family_name",
                "given_name", "old_surname", "sex", "birth_date", "household_id", "relationship", "residence_status",
                "period_of_stay", "stay_expires_on", "residence_card_number")


class CommandError(UserError):
    """A refusal of the register command, printed by the root handler as one sentence."""


def register(root: CommandRoot) -> None:
    parser = root.command("register", help="the resident register: residents, events, cards, 方法2",
                          description=DESCRIPTION, epilog=EPILOG)
    parser.set_defaults(func=lambda _args, p=parser: p.print_help() or 2)
    commands = parser.add_subparsers(dest="register_command", metavar="COMMAND")

    remote = argparse.ArgumentParser(add_help=False)
    where = remote.add_argument_group("which register")
    where.add_argument("--url", default=os.environ.get("MYNACARD_REGISTER_URL", DEFAULT_URL),
                       help=f"the register service (default $MYNACARD_REGISTER_URL or {DEFAULT_URL})")
    where.add_argument("--data", type=Path, metavar="DIR", help="the server's data dir, for tokens.json")
    where.add_argument("--token-name", default="register-admin", metavar="NAME",
                       help="token of tokens.json: register-admin (default), clerk or centre; "
                       "$MYNACARD_REGISTER_TOKEN overrides")

    def sub(name: str, help: str, func: Callable[[argparse.Namespace], object]) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help, description=help, parents=[remote],
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
        command.set_defaults(func=lambda args: _run(func, args))
        return command

    for kind in ("birth", "entry"):
        new = sub(kind, "record a birth (出生届)" if kind == "birth" else "record a first entry from abroad",
                  _new_record)
        new.set_defaults(kind=kind)
        new.add_argument("--family-name", required=True, metavar="TEXT", help="氏")
        new.add_argument("--given-name", required=True, metavar="TEXT", help="名")
        new.add_argument("--birth-date", required=True, type=date_argument, metavar="YYYY-MM-DD")
        new.add_argument("--sex", required=True, choices=list(SEXES), metavar="SEX", help="male, female, unknown or 1/2/3")
        new.add_argument("--address", required=True, metavar="TEXT", help="住所, from the prefecture on")
        new.add_argument("--municipality-code", required=True, metavar="5DIGITS", help="e.g. 13101 (Chiyoda-ku)")
        new.add_argument("--event-date", type=date_argument, metavar="YYYY-MM-DD",
                         help="default: the birth date (birth) or today in Japan (entry)")
        new.add_argument("--cause", help="the notice (default 出生届 / 転入届)")
        new.add_argument("--household", type=int, metavar="ID", help="join this household (default: a new one)")
        new.add_argument("--relationship", default="世帯主", help="続柄 to the head (default 世帯主)")
        new.add_argument("--honseki", help="本籍 (Japanese residents)")
        new.add_argument("--old-surname", help="旧氏")
        if kind == "entry":
            new.add_argument("--previous-address", help="the address abroad")
            new.add_argument("--nationality", help="foreign residents: 国籍・地域")
            new.add_argument("--category", default="中長期在留者", help="foreign residents' category (default 中長期在留者)")
            new.add_argument("--residence-status", help="在留資格")
            new.add_argument("--residence-card", help="在留カード番号, e.g. AB12345678CD")
            new.add_argument("--alias", help="通称")

    show = sub("show", "the current 住民票 of a resident", _show)
    show.add_argument("code", help="住民票コード")
    show.add_argument("--purpose", required=True, help="why you read it (kept in the access records)")
    history = sub("history", "every version of a record", _history)
    history.add_argument("code")
    history.add_argument("--purpose", required=True)
    listed = sub("events", "a resident's events and the revocations they caused", _events)
    listed.add_argument("code")
    listed.add_argument("--purpose", required=True)

    ev = sub("event", "record a life event (one transaction; revocations queued with it)", _event)
    ev.add_argument("code", help="住民票コード")
    ev.add_argument("kind", choices=EVENT_KINDS, metavar="KIND", help=", ".join(EVENT_KINDS))
    ev.add_argument("--date", type=date_argument, metavar="YYYY-MM-DD", help="when it took effect (default today in Japan)")
    ev.add_argument("--cause", help="the notice or act (default: the event's name)")
    ev.add_argument("--address", help="move-within, move-in")
    ev.add_argument("--planned-date", type=date_argument, metavar="YYYY-MM-DD", help="move-out")
    ev.add_argument("--destination", help="move-out, emigration")
    ev.add_argument("--moved-in-on", type=date_argument, metavar="YYYY-MM-DD", help="move-in")
    ev.add_argument("--municipality-code", metavar="5DIGITS", help="move-in")
    ev.add_argument("--family-name", help="name-change")
    ev.add_argument("--given-name", help="name-change")
    ev.add_argument("--old-surname", help="name-change: 旧氏 to record")
    ev.add_argument("--sex", choices=list(SEXES), metavar="SEX", help="correction")
    ev.add_argument("--birth-date", type=date_argument, metavar="YYYY-MM-DD", help="correction")
    ev.add_argument("--household", dest="household_id", type=int, metavar="ID", help="household-change")
    ev.add_argument("--relationship", help="household-change: 続柄 (世帯主 for a new household)")
    ev.add_argument("--residence-status", help="items-update: 在留資格")
    ev.add_argument("--period-of-stay", help="items-update: 在留期間")
    ev.add_argument("--stay-expires-on", type=date_argument, metavar="YYYY-MM-DD", help="items-update: 在留期間の満了日")
    ev.add_argument("--residence-card-number", help="items-update: 在留カード番号")

    access = sub("access-records", "who read or changed a resident's data (admin)", _access)
    access.add_argument("code")
    access.add_argument("--purpose", required=True)
    access.add_argument("--limit", type=int, default=100)

    replace = sub("replace-number", "replace a leaked My Number (admin)", _replace)
    replace.add_argument("code")
    replace.add_argument("--cause", required=True)

    form = sub("application-form", "the application form `mynacard card check --application` reads", _form)
    form.add_argument("code")
    form.add_argument("--out", type=Path, required=True, metavar="FILE")
    form.add_argument("--purpose", default="カードの確認 (方法1)")

    card = sub("card", "issue a card, report it lost or found, reissue it", _card)
    card.add_argument("action", choices=("issue", "lost", "found", "reissue", "list"))
    card.add_argument("target", help="住民票コード (issue, list) or card serial (lost, found, reissue)")
    card.add_argument("--out", type=Path, metavar="DIR", help="issue/reissue: where to write the card image")
    card.add_argument("--cause", default="届出", help="lost/found: the report")
    card.add_argument("--city-roman", help="issue: romanised city for municipalities outside the built-in table")
    card.add_argument("--expiry", type=date_argument, metavar="YYYY-MM-DD", help="issue: default the 10th birthday from now")
    card.add_argument("--purpose", default="カード交付")
    card.add_argument("--ask-pins", action="store_true",
                      help="type the four PINs (default: $MYNACARD_AUTH_PIN … as for `card new`, or 1234/ABC123)")

    clerk_help = "named clerk tokens for the window (mynacard window): one per clerk, so the access records name the clerk"
    clerk = commands.add_parser("clerk", help=clerk_help, description=clerk_help)
    clerk.set_defaults(func=lambda _args, p=clerk: p.print_help() or 2)
    clerk_commands = clerk.add_subparsers(dest="clerk_command", metavar="COMMAND")
    clerk_add = clerk_commands.add_parser(
        "add", parents=[remote], help="make (or replace) the token of clerk NAME; prints it once",
        description="Make (or replace) the clerk token of NAME (needs the register-admin token). The token is "
        "printed once, on stdout; the register keeps only its digest. The clerk logs in to `mynacard window` with it.")
    clerk_add.add_argument("name", metavar="NAME", help="the clerk's name as the access records show it")
    clerk_add.set_defaults(func=_clerk_add)

    m2 = sub("method2", "方法2: confirm a My Number and the four facts without the card", _method2)
    m2.add_argument("--name", required=True)
    m2.add_argument("--birth-date", required=True, help="as written: 1980-02-17, 昭和55年2月17日, S55.2.17")
    m2.add_argument("--sex", required=True, help="1/2/3, 男/女, M/F")
    m2.add_argument("--address", required=True)
    m2.add_argument("--purpose", required=True, help="the procedure (kept in the access records)")

    lookup = sub("lookup", "which record holds a My Number (asks for the number)", _lookup)
    lookup.add_argument("--purpose", required=True)

    box = sub("outbox", "revocations waiting for, delivered to, or refused by the CA service", _outbox)
    box.add_argument("--status", choices=("pending", "delivered", "failed"))
    box.add_argument("--limit", type=int, default=50)
    box.add_argument("--deliver", action="store_true", help="deliver what is due now, then list")
    box.add_argument("--retry", type=int, metavar="ID", help="queue a failed entry again")

    sub("sweep", "lapse cards whose §2.1 move deadline passed", _sweep)

    load = commands.add_parser(
        "load", help="bulk-load existing records from a CSV file (offline, straight into the database)",
        description="Load a municipality's existing records: one CSV row per person with the columns "
        "family_name,given_name,birth_date,sex,address (a header row, UTF-8). Every row is checked before "
        "anything is written; each gets a 住民票コード from the municipality's pools, a My Number and a "
        "household of its own. Writes to the register database directly (the server may be running).",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    load.add_argument("csv", type=Path, metavar="FILE.csv")
    load.add_argument("--municipality-code", required=True, metavar="5DIGITS")
    load.add_argument("--data", type=Path, metavar="DIR", help="the server's data dir (default: the user's data dir)")
    load.add_argument("--db", metavar="URL", help="the register database (default: SQLite in --data)")
    load.set_defaults(func=lambda args: _run(_load, args))


def _today() -> date:
    """Today where the register decides what is "in the future": Japan, not this machine's zone
    (imported here: the schemas pull in pydantic, which `mynacard --help` must not wait for)."""
    from mynacard.register_stub.schemas import today_in_japan

    return today_in_japan()


def _token(args: argparse.Namespace) -> str:
    token = os.environ.get("MYNACARD_REGISTER_TOKEN")
    if token:
        return token
    from mynacard.service.config import default_data_dir

    path = (args.data or default_data_dir()) / "tokens.json"
    try:
        tokens = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CommandError(f"no API token: {path} does not exist; give --data DIR of `mynacard serve` or set "
                           "MYNACARD_REGISTER_TOKEN") from None
    except (OSError, ValueError):
        raise CommandError(f"cannot read the tokens file {path}") from None
    if args.token_name not in tokens:
        raise CommandError(f"{path} has no token named '{args.token_name}'")
    return str(tokens[args.token_name])


def _client(args: argparse.Namespace) -> httpx.Client:
    import httpx

    return httpx.Client(base_url=args.url.rstrip("/"), headers={"Authorization": f"Bearer {_token(args)}"},
                        timeout=120)


def _call(args: argparse.Namespace, method: str, path: str, *, json: object = None,
          params: dict[str, str | int] | None = None) -> object:
    import httpx

    with _client(args) as client:
        try:
            response = client.request(method, path, json=json, params=params)
        except httpx.HTTPError as exc:
            raise CommandError(f"cannot reach the register at {args.url} ({type(exc).__name__})") from None
    if response.status_code >= 400:
        try:
            detail = response.json()["detail"]
        except (ValueError, KeyError, TypeError):
            detail = f"HTTP {response.status_code}"
        raise CommandError(str(detail))
    return response.json()


def _run(func: Callable[[argparse.Namespace], object], args: argparse.Namespace) -> int:
    result = func(args)
    if result is not None:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def _new_record(args: argparse.Namespace) -> object:
    resident: dict[str, Any] = {
        "family_name": args.family_name, "given_name": args.given_name, "birth_date": args.birth_date.isoformat(),
        "sex": SEXES[args.sex], "address": args.address, "household_id": args.household,
        "relationship": args.relationship, "honseki": args.honseki, "old_surname": args.old_surname,
    }
    body: dict[str, Any] = {"kind": args.kind, "municipality_code": args.municipality_code, "resident": resident}
    if args.kind == "birth":
        body.update(event_date=(args.event_date or args.birth_date).isoformat(), cause=args.cause or "出生届")
    else:
        body.update(event_date=(args.event_date or _today()).isoformat(), cause=args.cause or "転入届",
                    previous_address=args.previous_address)
        if args.nationality:
            resident["foreign"] = {"nationality": args.nationality, "category": args.category,
                                   "residence_status": args.residence_status,
                                   "residence_card_number": args.residence_card,
                                   "became_foreign_resident_on": body["event_date"]}
            resident["alias_name"] = args.alias
    return _call(args, "POST", "/v1/residents", json=body)


def _show(args: argparse.Namespace) -> object:
    return _call(args, "GET", f"/v1/residents/{args.code}", params={"purpose": args.purpose})


def _history(args: argparse.Namespace) -> object:
    return _call(args, "GET", f"/v1/residents/{args.code}/versions", params={"purpose": args.purpose})


def _events(args: argparse.Namespace) -> object:
    return _call(args, "GET", f"/v1/residents/{args.code}/events", params={"purpose": args.purpose})


def _event(args: argparse.Namespace) -> object:
    body: dict[str, Any] = {"kind": args.kind, "event_date": (args.date or _today()).isoformat(),
                            "cause": args.cause or args.kind}
    for name in EVENT_FIELDS:
        value = getattr(args, name)
        if value is not None:
            body[name] = SEXES[value] if name == "sex" else value.isoformat() if isinstance(value, date) else value
    return _call(args, "POST", f"/v1/residents/{args.code}/events", json=body)


def _clerk_add(args: argparse.Namespace) -> int:
    made = _call(args, "POST", "/v1/clerks", json={"name": args.name})
    assert isinstance(made, dict)
    print(made["token"])
    print(f"clerk token of '{made['name']}' made; it is shown only now", file=sys.stderr)
    return 0


def _access(args: argparse.Namespace) -> object:
    return _call(args, "GET", f"/v1/residents/{args.code}/access-records",
                 params={"purpose": args.purpose, "limit": args.limit})


def _replace(args: argparse.Namespace) -> object:
    return _call(args, "POST", f"/v1/residents/{args.code}/my-number/replace", json={"cause": args.cause})


def _form(args: argparse.Namespace) -> None:
    form = _call(args, "GET", f"/v1/residents/{args.code}/application-form", params={"purpose": args.purpose})
    _write_private(args.out, (json.dumps(form, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    print(f"Wrote the application form to {args.out}")


def _write_private(path: Path, data: bytes) -> None:
    """The form holds a My Number: 0600, written whole or not at all."""
    from mynacard.files import write_atomically

    try:
        write_atomically(path, data, 0o600)
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from None


def _pins(ask: bool) -> dict[str, str]:
    from mynacard.register_stub.commands import PIN_SOURCES, read_pins
    from mynacard.register_stub.errors import IssuanceError

    try:
        pins = read_pins(ask)
    except IssuanceError as exc:
        raise CommandError(str(exc)) from None
    return {field: getattr(pins, field) for field, _label, _variable in PIN_SOURCES}


def _card(args: argparse.Namespace) -> object:
    if args.action == "list":
        return _call(args, "GET", f"/v1/residents/{args.target}/cards", params={"purpose": args.purpose})
    if args.action in ("lost", "found"):
        return _call(args, "POST", f"/v1/cards/{args.target}/{args.action}", json={"cause": args.cause})
    if args.out is None:
        raise CommandError(f"card {args.action} needs --out DIR for the card image")
    if args.out.exists() and any(args.out.iterdir()):
        raise CommandError(f"{args.out} already exists and is not empty")
    body: dict[str, Any] = {"pins": _pins(args.ask_pins), "city_roman": args.city_roman}
    if args.expiry:
        body["card_expiry"] = args.expiry.isoformat()
    path = f"/v1/residents/{args.target}/cards" if args.action == "issue" else f"/v1/cards/{args.target}/reissue"
    issued = _call(args, "POST", path, json=body)
    if not isinstance(issued, dict) or not isinstance(issued.get("image"), dict):
        raise CommandError("the register's answer holds no card image")
    _write_card(issued["image"], args.out)
    print(f"Wrote card {issued['card_serial']} to {args.out.resolve()} (expires {issued['expires_on']}, "
          f"security code {issued['security_code']})")
    print(f"  certificates: signing {issued['sign_serial'] or 'none (holder under 15)'}, "
          f"auth {issued['auth_serial']}")
    print(f"Try: mynacard emulate --card {args.out}")
    return None


def _write_card(image: dict[str, str], directory: Path) -> None:
    from mynacard.applet_model.errors import ImageError
    from mynacard.applet_model.image import CardImage
    from mynacard.applet_model.store import DirectoryStore

    files = {path: base64.b64decode(data) for path, data in image.items()}
    try:
        DirectoryStore.create(directory, CardImage.from_files(files.__getitem__))
    except (ImageError, KeyError) as exc:
        raise CommandError(f"the register sent a card image that does not load: {exc}") from None
    except OSError as exc:
        raise CommandError(f"cannot write {directory}: {exc.strerror or exc}") from None


def _my_number() -> str:
    number = os.environ.get("MYNACARD_MY_NUMBER") or getpass.getpass("My Number (12 digits, not echoed): ")
    return number.strip()


def _method2(args: argparse.Namespace) -> object:
    body = {"my_number": _my_number(), "name": args.name, "birth_date": args.birth_date, "sex": args.sex,
            "address": args.address, "purpose": args.purpose}
    return _call(args, "POST", "/v1/method2", json=body)


def _lookup(args: argparse.Namespace) -> object:
    return _call(args, "POST", "/v1/lookup", json={"my_number": _my_number(), "purpose": args.purpose})


def _outbox(args: argparse.Namespace) -> object:
    if args.retry is not None:
        return _call(args, "POST", f"/v1/outbox/{args.retry}/retry")
    if args.deliver:
        print(json.dumps(_call(args, "POST", "/v1/outbox/deliver")), file=sys.stderr)
    params: dict[str, Any] = {"limit": args.limit}
    if args.status:
        params["status"] = args.status
    return _call(args, "GET", "/v1/outbox", params=params)


def _sweep(args: argparse.Namespace) -> object:
    return _call(args, "POST", "/v1/deadlines/sweep")


def _load(args: argparse.Namespace) -> None:
    import csv

    from mynacard.register_stub import bulk
    from mynacard.register_stub.schemas import check_address
    from mynacard.register_stub.store import RegisterStore, code_key, number_key
    from mynacard.service.config import default_data_dir, sqlite_url

    if len(args.municipality_code) != 5 or not args.municipality_code.isdigit():
        raise CommandError("a municipality code has 5 digits, e.g. 13101")
    rows: list[bulk.LoadRow] = []
    today = _today()
    try:
        with args.csv.open(encoding="utf-8", newline="") as handle:
            for line, record in enumerate(csv.DictReader(handle), start=2):
                rows.append(_load_row(record, line, args.municipality_code, check_address, today))
    except OSError as exc:
        raise CommandError(f"cannot read {args.csv}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error):
        raise CommandError(f"{args.csv} is not a UTF-8 CSV file") from None
    data = args.data or default_data_dir()
    store = RegisterStore.open(args.db or sqlite_url(data, "register"))
    try:
        loaded = bulk.load(store, number_key(data), code_key(data, store), args.municipality_code, rows,
                           progress=lambda n: print(f"  {n:,} of {len(rows):,} loaded", file=sys.stderr))
    finally:
        store.dispose()
    print(f"Loaded {loaded:,} records into municipality {args.municipality_code}")


def _load_row(record: dict[str, str], line: int, municipality_code: str,
              check_address: Callable[[str, str], None], today: date) -> LoadRow:
    from mynacard.register_stub.bulk import LoadRow

    try:
        family, given, born, sex, address = (record[k].strip() for k in
                                             ("family_name", "given_name", "birth_date", "sex", "address"))
    except (KeyError, AttributeError):
        raise CommandError(f"line {line}: the columns are family_name,given_name,birth_date,sex,address") from None
    if not family or not given or any(c.isspace() for c in family + given):
        raise CommandError(f"line {line}: family_name and given_name must be non-empty, without spaces")
    if SEXES.get(sex) is None:
        raise CommandError(f"line {line}: sex must be 1, 2, 3, male, female or unknown")
    try:
        birth_date = parse_date(born)
    except ValueError as exc:
        raise CommandError(f"line {line}: the birth date {exc}") from None
    try:
        check_address(address, municipality_code)
    except ValueError as exc:
        raise CommandError(f"line {line}: {exc}") from None
    if birth_date > today:
        raise CommandError(f"line {line}: the birth date {born} is in the future (today in Japan is {today})")
    return LoadRow(family, given, birth_date, SEXES[sex], address)
