#!/usr/bin/env python3
"""Generate the project's test authority ONCE into ca/test_authority/ (package data).

Every card made by `mynacard card new` chains to these roots, and the host bundles their public
halves, so regenerating breaks every card made before: the script refuses to overwrite an
existing authority unless --force is given.

    .venv/bin/python tools/make_test_authority.py            # first time only
    .venv/bin/python tools/make_test_authority.py --force    # replace (breaks existing cards)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mynacard.ca.authority import PACKAGE_DIRECTORY, Authority

README = """\
# INSECURE TEST KEYS — mynacard test authority

Everything in this folder was generated once by `tools/make_test_authority.py` and committed on
purpose: every card made by `mynacard card new`, on any machine, chains to these roots, and the
host bundles their public halves. The private keys are **public knowledge**. They certify nothing
and must never be trusted outside mynacard's tests and demos. None of this is J-LIS's: the JPKI
names say `JPKI-TEST (mynacard)` and `not J-LIS`, and the card-verifiable key IDs start with `9`
(J-LIS production keys start with 5, its test hierarchy with 6).

| file | what |
|---|---|
| `authority.json` | manifest: which file is which key, CV key IDs (hex, 16 bytes) |
| `jpki-sign-ca.pem`, `jpki-auth-ca.pem` | JPKI signing / user-authentication root certificates (trust anchors) |
| `cv-mf-root-9000020.pub.pem` | card-verifiable root of the MF chain (`00F8`) |
| `cv-visual-root-9000023.pub.pem` | card-verifiable root of 券面事項確認AP EF 0004 |
| `cv-text-root-9000033.pub.pem` | card-verifiable root of 券面事項入力補助AP EF 0004 |
| `INSECURE-TEST-KEY-*.pem` | the private keys of all of the above, plus the MF intermediate (9000021) and the two record-signing keys (9000024, 9000034) |

See `docs/test-authority.md` for the hierarchy and profiles.
"""  # noqa: E501 - a Markdown table, written out as the README


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--force", action="store_true", help="replace an existing authority")
    parser.add_argument("--directory", type=Path, default=PACKAGE_DIRECTORY, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if (args.directory / "authority.json").exists() and not args.force:
        print(
            f"{args.directory} already holds the test authority; every existing card chains to it. "
            "Use --force only if you mean to replace it.",
            file=sys.stderr,
        )
        return 1
    authority = Authority.generate()
    authority.write(args.directory)
    (args.directory / "README.md").write_text(README, encoding="utf-8")
    print(f"wrote the test authority to {args.directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
