"""Start-up of the `mynacard` command: `mynacard … --help` builds the whole parser, so building it
must not import the heavy modules (cryptography, Pillow, pyscard, the card model, the clerk check).
Those belong in the command handlers; a top-level import of one of them in a `commands` module
makes every `--help` pay for it again. Measured timings live in bench/, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mynacard.main import build_parser

#: Modules (and their submodules) that building and rendering the parser must not import.
HEAVY = (
    "cryptography",
    "asn1crypto",
    "PIL",
    "smartcard",
    "mynacard.host.clerk",
    "mynacard.host.card",
    "mynacard.host.pins",
    "mynacard.host.jpki",
    "mynacard.host.transport",
    "mynacard.applet_model.store",
    "mynacard.register_stub.person",
    "mynacard.register_stub.personalise",
    "mynacard.ca.authority",
    "mynacard.emulator.emulate",
    "mynacard.conformance.runner",
)

BUILD_AND_RENDER_EVERY_HELP = """\
import argparse, json, sys
from mynacard.main import build_parser

def every_parser(parser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from every_parser(sub)

helps = [p.format_help() for p in every_parser(build_parser())]
print(json.dumps({"parsers": len(helps), "modules": sorted(sys.modules)}))
"""


def test_building_the_parser_imports_no_heavy_module():
    """Every `--help` of the command, rendered in a fresh interpreter, leaves the heavy modules
    unimported (they are imported by the handlers when a command actually runs)."""
    done = subprocess.run([sys.executable, "-c", BUILD_AND_RENDER_EVERY_HELP],
                          capture_output=True, text=True, check=True, cwd=Path(__file__).parent)
    result = json.loads(done.stdout)
    # The walk reached the subcommands of every package (card new/status/check, emulate, …).
    assert result["parsers"] > 20
    imported = [m for m in result["modules"]
                if any(m == heavy or m.startswith(heavy + ".") for heavy in HEAVY)]
    assert imported == [], f"building the parser imported {imported}; import them in the handler"


def test_card_new_defaults_are_the_demo_person():
    """`mynacard card new DIR` without options makes the demo person's card: the light copies of
    the demo values used for the option defaults (register_stub/demo_values.py) are the ones of
    register_stub/person.py."""
    from mynacard.register_stub.person import DEMO_CARD_EXPIRY, DEMO_PERSON, DEMO_SECURITY_CODE

    args = build_parser().parse_args(["card", "new", "DIR"])
    demo = DEMO_PERSON
    assert (args.family_name, args.given_name, args.address, args.birth_date, args.my_number,
            args.municipality_code) == (demo.family_name, demo.given_name, demo.address,
                                        demo.birth_date, demo.my_number, demo.municipality_code)
    assert {"male": "1", "female": "2", "unknown": "3"}[args.sex] == demo.sex
    assert (args.expiry, args.security_code) == (DEMO_CARD_EXPIRY, DEMO_SECURITY_CODE)
