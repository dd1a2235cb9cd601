"""`mynacard kiosk`: run the kiosk with its web UI and integrator WebSocket."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from mynacard.main import CommandRoot

KIOSK_HELP = """\
Run the convenience-store kiosk (コンビニ交付): the state machine, its devices, the issuance
centre client, and the web UI + integrator WebSocket on http://127.0.0.1:PORT/ (docs/kiosk.md).

Devices are simulated unless named: the simulated reader serves a card image in-process (--card,
or the demo card copy `mynacard emulate` keeps) and the UI shows buttons to place and take it; the simulated acceptor
takes coins from UI buttons; the simulated printer keeps what it printed in memory. Name real
ones with --reader (a PC/SC reader, e.g. the virtual one of `mynacard emulate`) and --printer
(a CUPS queue, e.g. Debian's cups-pdf queue "PDF"). Payment is always the simulated acceptor.

The centre is reached over HTTP with a kiosk token (--centre-url; token from
$MYNACARD_CENTRE_TOKEN or --centre-token-file). Without a reachable centre the kiosk runs, and
every authentication ends with "centre_error": the kiosk never issues offline.

Privacy: nothing personal is written anywhere. --data-dir holds only the journal
(kiosk.log: states, transaction ids, amounts, reason codes) and the voice prompt cache.

examples:
  mynacard kiosk --centre-url http://127.0.0.1:8470/centre
        simulated everything; open the printed URL in a browser
  mynacard emulate &   mynacard kiosk --reader "mynacard Virtual PCD A 00 00" --printer PDF
        the emulated card through pcscd, printing to a CUPS queue
  mynacard kiosk --config kiosk.toml --voice espeak --player "aplay -q"
        hours, closed days and timeouts from a file; spoken prompts
"""


def register(root: CommandRoot) -> None:
    parser = root.command("kiosk", help="run the convenience-store kiosk (web UI + integrator API)",
                          description=KIOSK_HELP)
    parser.add_argument("--reader", metavar="NAME",
                        help="PC/SC reader to use (default: a simulated reader)")
    parser.add_argument("--card", metavar="DIR", type=Path,
                        help="card image for the simulated reader (default: a copy of the demo "
                             "card)")
    parser.add_argument("--centre-url", metavar="URL",
                        default=os.environ.get("MYNACARD_CENTRE_URL",
                                               "http://127.0.0.1:8470/centre"),
                        help="issuance centre base URL (default: $MYNACARD_CENTRE_URL or "
                             "%(default)s)")
    parser.add_argument("--centre-token-file", metavar="FILE", type=Path,
                        help="file holding the kiosk's centre token (default: "
                             "$MYNACARD_CENTRE_TOKEN)")
    parser.add_argument("--printer", metavar="QUEUE",
                        help="CUPS queue to print to (default: a simulated printer)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to serve the UI on (default: %(default)s, this machine only)")
    parser.add_argument("--port", type=int, default=8765, help="port (default: %(default)s)")
    parser.add_argument("--config", metavar="FILE", type=Path,
                        help="TOML file with hours, closed days and timeouts (docs/kiosk.md)")
    parser.add_argument("--data-dir", metavar="DIR", type=Path,
                        help="journal and voice cache (default: ~/.local/state/mynacard/kiosk)")
    parser.add_argument("--voice", choices=("none", "espeak"), default="none",
                        help="voice prompts: none (default) or espeak-ng")
    parser.add_argument("--player", metavar="CMD",
                        help="command that plays a WAV file, e.g. \"aplay -q\" (with --voice espeak)")
    parser.set_defaults(func=run_kiosk)


def run_kiosk(args: argparse.Namespace) -> int:
    import sys

    from mynacard.terminal.launch import KioskOptions, serve_forever

    token = os.environ.get("MYNACARD_CENTRE_TOKEN", "")
    if args.centre_token_file is not None:
        try:
            token = args.centre_token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            print(f"mynacard kiosk: cannot read the centre token file {args.centre_token_file}: "
                  f"{exc.strerror}", file=sys.stderr)
            return 2
    options = KioskOptions(reader=args.reader, card=args.card, centre_url=args.centre_url,
                           centre_token=token, printer=args.printer, host=args.host,
                           port=args.port, config=args.config, data_dir=args.data_dir,
                           voice=args.voice, player=args.player.split() if args.player else None)
    return serve_forever(options)
