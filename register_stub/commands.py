"""`mynacard card new`: make a complete test My Number Card for a person (register_stub).

Building the parser must stay cheap (every `mynacard … --help` builds all of it), so this module
imports only light modules at the top: the defaults come from `demo_values`, and the card model,
the test authority and the register are imported by the handler that uses them.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mynacard.applet_model.profiles import (
    DEFAULT_PROFILE,
    PROFILES,
    apply_behaviours,
    behaviours_of,
    choices_help,
    parse_choice,
)
from mynacard.dates import date_argument
from mynacard.main import CommandRoot
from mynacard.register_stub.demo_values import (
    DEMO_ADDRESS,
    DEMO_BIRTH_DATE,
    DEMO_CARD_EXPIRY,
    DEMO_FAMILY_NAME,
    DEMO_GIVEN_NAME,
    DEMO_MUNICIPALITY_CODE,
    DEMO_MY_NUMBER,
    DEMO_SECURITY_CODE,
    DEMO_SEX,
)
from mynacard.register_stub.errors import IssuanceError

if TYPE_CHECKING:
    from mynacard.ca.issuer import ServiceIssuer
    from mynacard.register_stub.person import CardPins
    from mynacard.register_stub.personalise import PersonalisedCard

PIN_SOURCES = (
    # (CardPins field, label, environment variable)
    ("auth_pin", "auth PIN (利用者証明用, 4 digits)", "MYNACARD_AUTH_PIN"),
    ("sign_password", "signing password (署名用, 6-16 of A-Z 0-9)", "MYNACARD_SIGN_PASSWORD"),
    ("text_pin", "text-AP PIN (券面事項入力補助用, 4 digits)", "MYNACARD_TEXT_PIN"),
    ("juki_pin", "住基/共通 PIN (4 digits)", "MYNACARD_JUKI_PIN"),
)

SEXES = {"male": "1", "female": "2", "unknown": "3", "1": "1", "2": "2", "3": "3"}
SEX_NAMES = {"1": "male", "2": "female", "3": "unknown"}

DESCRIPTION = """\
Create a complete test My Number Card (個人番号カード) in DIR: all five APs, RSA-2048 keys
generated for the card, JPKI certificates and signed card-face records from the mynacard test
authority (INSECURE test keys, not J-LIS). Every option has a demo default; with none, you get
the demo person 見本 花子. The card's secrets are printed, since this is a test card.

PINs come from, in order: --ask-pins (typed without echo), the environment variables
MYNACARD_AUTH_PIN, MYNACARD_SIGN_PASSWORD, MYNACARD_TEXT_PIN, MYNACARD_JUKI_PIN, or the demo
defaults 1234 / ABC123 / 1234 / 1234. Nothing is written unless every input is valid.
"""

EPILOG = f"""\
profiles (--profile): {", ".join(PROFILES)}

{choices_help()}

examples:
  mynacard card new ./mycard
      the demo card (My Number 123456789018, PINs 1234, signing password ABC123)
  mynacard card new ./taro --family-name 山田 --given-name 太郎 --sex male \\
      --birth-date 1990-01-02 --address 東京都清瀬市中里1-2-3 --municipality-code 13221 \\
      --my-number random --photo me.jpg
  MYNACARD_SIGN_PASSWORD=SECRET42 mynacard card new ./mycard --force
  mynacard card new ./mycard --ask-pins --profile contactless-06
  mynacard card new ./oldcard --behaviour mf-7f21=absent --behaviour reselect=clears

then:
  mynacard apdu --card ./mycard 00A4040C0AD392F000260100000001
"""


def register(root: CommandRoot) -> None:
    """Add `mynacard card new`."""
    card = root.group("card")
    parser = card.add_parser(
        "new",
        help="create a test card for a person (demo values by default)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("directory", metavar="DIR", type=Path, help="where to write the card image")
    person = parser.add_argument_group("the person (基本4情報 and My Number)")
    person.add_argument("--family-name", default=DEMO_FAMILY_NAME, metavar="TEXT",
                        help=f"氏 (default: {DEMO_FAMILY_NAME})")
    person.add_argument("--given-name", default=DEMO_GIVEN_NAME, metavar="TEXT",
                        help=f"名 (default: {DEMO_GIVEN_NAME})")
    person.add_argument("--address", default=DEMO_ADDRESS, metavar="TEXT",
                        help="住所, starting with the prefecture; ASCII digits and hyphens become "
                        f"full-width (default: {DEMO_ADDRESS}, a fictional town)")
    person.add_argument("--birth-date", type=date_argument, default=DEMO_BIRTH_DATE, metavar="YYYY-MM-DD",
                        help=f"生年月日 (default: {DEMO_BIRTH_DATE})")
    person.add_argument("--sex", choices=list(SEXES), default=SEX_NAMES[DEMO_SEX], metavar="SEX",
                        help=f"性別: male, female, unknown or 1/2/3 (default: {SEX_NAMES[DEMO_SEX]})")
    person.add_argument("--my-number", default=DEMO_MY_NUMBER, metavar="12DIGITS",
                        help=f"個人番号 with a valid check digit, or 'random' (default: {DEMO_MY_NUMBER})")
    person.add_argument("--municipality-code", default=DEMO_MUNICIPALITY_CODE, metavar="5DIGITS",
                        help="全国地方公共団体コード without check digit "
                        f"(default: {DEMO_MUNICIPALITY_CODE}, Chiyoda-ku)")
    person.add_argument("--city-roman", metavar="NAME",
                        help="romanised city for the signing certificate, e.g. Kiyose-shi "
                        "(needed for codes outside the built-in table)")
    facts = parser.add_argument_group("the card")
    facts.add_argument("--expiry", type=date_argument, default=DEMO_CARD_EXPIRY, metavar="YYYY-MM-DD",
                       help=f"有効期限 of the card (default: {DEMO_CARD_EXPIRY})")
    facts.add_argument("--security-code", default=DEMO_SECURITY_CODE, metavar="4DIGITS",
                       help="セキュリティコード printed on the card, the end of 照合番号B "
                       f"(default: {DEMO_SECURITY_CODE})")
    facts.add_argument("--photo", type=Path, metavar="FILE",
                       help="face photo (JPEG, PNG, …); default: a drawn demo portrait")
    facts.add_argument("--profile", choices=list(PROFILES), default=DEFAULT_PROFILE.name, metavar="NAME",
                       help=f"ATR profile, listed below (default: {DEFAULT_PROFILE.name})")
    facts.add_argument("--behaviour", action="append", type=_behaviour, default=[], metavar="KEY=VALUE",
                       help="the side of a behaviour real cards disagree on (CI §12) this card takes, "
                       "e.g. reselect=clears; repeatable; listed below")
    service = parser.add_argument_group("certificates from a CA service (mynacard serve)")
    service.add_argument("--ca-url", metavar="URL",
                         help="issue the JPKI certificates through this CA service (e.g. http://127.0.0.1:8470/ca): "
                         "they are recorded there and carry its OCSP URL and CRL distribution point")
    service.add_argument("--ca-data", type=Path, metavar="DIR",
                         help="the server's data dir, for its tokens.json (default: the user's data dir); "
                         "MYNACARD_CA_TOKEN overrides")
    service.add_argument("--ca-token-name", default="register->ca", metavar="NAME",
                         help="which token of tokens.json to use (default: register->ca)")
    parser.add_argument("--ask-pins", action="store_true", help="type the four PINs (no echo)")
    parser.add_argument("--force", action="store_true", help="replace the card already in DIR")
    parser.set_defaults(func=new_card)


def _behaviour(text: str) -> tuple[str, str]:
    try:
        return parse_choice(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def read_pins(ask: bool) -> CardPins:
    """The four PINs from the prompt, the environment or the demo defaults (validated)."""
    from mynacard.register_stub.person import DEMO_PINS, CardPins

    values = {}
    for field, label, variable in PIN_SOURCES:
        if ask:
            first = getpass.getpass(f"{label}: ")
            if getpass.getpass(f"{label} again: ") != first:
                raise IssuanceError(f"the two entries of the {label.split(' (')[0]} differ")
            values[field] = first
        else:
            values[field] = os.environ.get(variable, getattr(DEMO_PINS, field))
    return CardPins(**values)


def _check_target(directory: Path, force: bool) -> None:
    """Refuse to overwrite anything but a card, and a card only with --force."""
    if not directory.exists():
        return
    if not directory.is_dir():
        raise IssuanceError(f"{directory} exists and is not a directory")
    if not any(directory.iterdir()):
        return
    if not force:
        raise IssuanceError(f"{directory} already exists and is not empty; use --force to replace the card in it")
    if not (directory / "card.json").is_file():
        raise IssuanceError(f"{directory} is not a card image (no card.json); --force only replaces cards")


def _read_photo(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise IssuanceError(f"cannot read the photo {path}: {exc.strerror or exc}") from None


def new_card(args: argparse.Namespace) -> int:
    """Validate everything, build the card in memory, then write it in one atomic step."""
    from mynacard.applet_model.store import DirectoryStore
    from mynacard.register_stub import my_number
    from mynacard.register_stub.person import CardDetails, Person
    from mynacard.register_stub.personalise import personalise

    try:
        person = Person(
            family_name=args.family_name,
            given_name=args.given_name,
            address=args.address,
            birth_date=args.birth_date,
            sex=SEXES[args.sex],
            my_number=my_number.generate() if args.my_number == "random" else args.my_number,
            municipality_code=args.municipality_code,
            city_roman=args.city_roman,
        )
        details = CardDetails(
            card_expiry=args.expiry, security_code=args.security_code, photo=_read_photo(args.photo)
        )
        pins = read_pins(args.ask_pins)
        _check_target(args.directory, args.force)
        issuer = _service_issuer(args) if args.ca_url else None
        profile = apply_behaviours(PROFILES[args.profile], dict(args.behaviour))
        card = personalise(person, details, pins, profile=profile, issuer=issuer)
        DirectoryStore.create(args.directory, card.image, overwrite=args.force)
    except OSError as exc:
        print(f"mynacard card new: cannot write {args.directory}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print_summary(card, args.directory)
    return 0


def _service_issuer(args: argparse.Namespace) -> ServiceIssuer:
    from mynacard.ca.client import CaClient, resolve_token
    from mynacard.ca.issuer import ServiceIssuer

    return ServiceIssuer(CaClient(args.ca_url, resolve_token(args.ca_data, args.ca_token_name)))


def print_summary(card: PersonalisedCard, directory: Path) -> None:
    """Where the card went and its secrets (a test card's secrets are printed on purpose)."""
    person, details, pins = card.person, card.details, card.pins
    lines = [
        f"Wrote a test My Number Card to {directory.resolve()}",
        "  INSECURE: its keys chain to the mynacard test authority, not to J-LIS.",
        f"  holder       {person.name}  (born {person.birth_date}, sex {person.sex})",
        f"  address      {person.card_address}",
        f"  card         serial {card.card_serial}, municipality {person.municipality_code}, "
        f"expires {details.card_expiry}, profile {card.image.profile.name}",
        "  behaviours   " + ", ".join(f"{k}={v}" for k, v in behaviours_of(card.image.profile).items()),
        "Secrets of this test card:",
        f"  My Number (照合番号A)            {person.my_number}",
        f"  照合番号B                        {card.verification_code_b}",
        f"  birth-date key (生年月日)        {card.birth_key}",
        f"  security code                    {details.security_code}",
        f"  auth PIN (利用者証明用)          {pins.auth_pin}",
        f"  signing password (署名用)        {pins.sign_password}",
        f"  text-AP PIN (券面事項入力補助)   {pins.text_pin}",
        f"  住基/共通 PIN                    {pins.juki_pin}",
        "Certificates (発行番号 = serial):",
        (f"  signing  {card.sign_certificate.serial:X}  valid until "
         f"{card.sign_certificate.not_after:%Y-%m-%d %H:%M:%S}Z") if card.sign_certificate else "  signing  none",
        f"  auth     {card.auth_certificate.serial:X}  valid until "
        f"{card.auth_certificate.not_after:%Y-%m-%d %H:%M:%S}Z",
        f"Try: mynacard apdu --card {directory} 00A4040C0AD392F000260100000001",
    ]
    print("\n".join(lines))
