#!/usr/bin/env python3
"""Write the demo card (demo defaults, docs/test-authority.md) to emulator/demo_card/.

The emulator ships that directory as package data and copies it to a writable place before use.
Next to the card image go `application.json`, the demo person's application form for the clerk
check (My Number + four facts), and `secrets.toml`, its documented secrets in the format of
`mynacard conformance --secrets` (used by `mynacard conformance --emulator`). Re-running replaces the demo card (new keys and certificates;
the documented secrets stay the same).

    .venv/bin/python tools/make_demo_card.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mynacard.applet_model.store import DirectoryStore
from mynacard.ca.era import era_yymmdd
from mynacard.register_stub.application_form import application_form_json
from mynacard.register_stub.commands import print_summary
from mynacard.register_stub.person import (
    DEMO_CARD_EXPIRY,
    DEMO_PERSON,
    DEMO_PINS,
    DEMO_SECURITY_CODE,
    CardDetails,
    verification_code_b,
)
from mynacard.register_stub.personalise import personalise

DEMO_DIRECTORY = Path(__file__).resolve().parent.parent / "emulator" / "demo_card"
#: Fixed so that the documentation can name it; `card new` draws a random one.
DEMO_CARD_SERIAL = "900000000000001"


def demo_secrets_toml() -> str:
    """The demo card's secrets for `mynacard conformance` (docs/conformance.md, "Secrets")."""
    pins = DEMO_PINS
    values = {
        "auth-pin": pins.auth_pin, "sign-password": pins.sign_password, "text-pin": pins.text_pin,
        "code-a": DEMO_PERSON.my_number,
        "code-b": verification_code_b(DEMO_PERSON.birth_date, DEMO_CARD_EXPIRY, DEMO_SECURITY_CODE),
        "birth-key": era_yymmdd(DEMO_PERSON.birth_date),
        "common-pin": pins.juki_pin, "juki-pin": pins.juki_pin,
    }
    lines = ["# The demo card's secrets (public, README). Format: docs/conformance.md."]
    lines += [f'{name} = "{value}"' for name, value in values.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--directory", type=Path, default=DEMO_DIRECTORY, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    details = CardDetails(DEMO_CARD_EXPIRY, DEMO_SECURITY_CODE, card_serial=DEMO_CARD_SERIAL)
    card = personalise(DEMO_PERSON, details, DEMO_PINS)
    DirectoryStore.create(args.directory, card.image, overwrite=True)
    (args.directory / "application.json").write_bytes(application_form_json(DEMO_PERSON))
    (args.directory / "secrets.toml").write_text(demo_secrets_toml(), encoding="utf-8")
    print_summary(card, args.directory)
    print(f"Application form for the clerk check: {args.directory / 'application.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
