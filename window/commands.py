"""`mynacard window`: run the clerk's window (市町村窓口) — a local web app on the host middleware
and the register."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from mynacard.main import CommandRoot
from mynacard.window.config import DEFAULT_PORT, DEFAULT_REGISTER_URL, DEFAULT_SESSION_MINUTES

WINDOW_HELP = """\
Run the clerk's window (市町村窓口): 方法1 card check with the chip photo beside the facts,
方法2, events, card issuance, access records and 住民票の写し, in a browser at
http://127.0.0.1:PORT/ (docs/window.md).

Clerks log in with their own clerk token (made once by an administrator with
`mynacard register clerk add NAME`); every action is an access record in the register under
that clerk's name. Sessions end after --session-minutes without use.

The card is read through PC/SC (--reader, default: the first reader holding a card), or from a
card image in-process (--card DIR). Cards chain to the J-LIS roots only; test cards pass only with
--trust-test-authority, which every check result then says prominently.

examples:
  mynacard serve &  mynacard emulate &  mynacard register clerk add "窓口 花子"
  mynacard window --trust-test-authority         then open http://127.0.0.1:8780/
  mynacard window --register-url http://register.example:8470/register --reader "ACS ACR39U 00 00"
  mynacard window --trust-test-authority --encoder-dir ./issued    card issuance into the emulator's reader
"""


def register(root: CommandRoot) -> None:
    parser = root.command("window", help="run the clerk's window (市町村窓口): a local web app for municipal clerks",
                          description=WINDOW_HELP)
    parser.add_argument("--register-url", metavar="URL",
                        default=os.environ.get("MYNACARD_REGISTER_URL", DEFAULT_REGISTER_URL),
                        help="the register service (default: $MYNACARD_REGISTER_URL or %(default)s)")
    parser.add_argument("--ocsp-url", metavar="URL",
                        help="OCSP responder for the auth certificate (default: the CA service next to the register)")
    parser.add_argument("--reader", metavar="NAME", help="PC/SC reader (default: the first reader holding a card)")
    parser.add_argument("--card", metavar="DIR", type=Path, help="use this card image in-process instead of a reader")
    parser.add_argument("--trust-test-authority", action="store_true",
                        help="also trust mynacard's test authority (test cards pass; shown on every result)")
    parser.add_argument("--encoder-dir", metavar="DIR", type=Path,
                        help="card issuance (screen 4): write issued card images here and put them in the emulator's "
                             "reader (the card encoder we cannot have; docs/window.md); default: issuance is off")
    parser.add_argument("--encoder-control", metavar="PATH", type=Path,
                        help="control socket of the `mynacard emulate` serving the reader (default: the one running)")
    parser.add_argument("--session-minutes", type=float, default=DEFAULT_SESSION_MINUTES, metavar="MIN",
                        help="log a clerk out after this many minutes without use (default: %(default)s)")
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (default: %(default)s, this machine only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default: %(default)s)")
    parser.set_defaults(func=run_window)


def run_window(args: argparse.Namespace) -> int:
    import uvicorn

    from mynacard.window.app import create_app
    from mynacard.window.config import WindowConfig

    config = WindowConfig(register_url=args.register_url, ocsp_url=args.ocsp_url, reader=args.reader,
                          card_dir=args.card, trust_test_authority=args.trust_test_authority,
                          encoder_dir=args.encoder_dir, encoder_control=args.encoder_control,
                          session_minutes=args.session_minutes, host=args.host, port=args.port)
    print(f"mynacard window: http://{args.host}:{args.port}/ (register {args.register_url})", flush=True)
    # access_log off: request lines name paths only, but the window logs nothing it need not.
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0
