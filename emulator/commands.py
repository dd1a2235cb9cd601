"""`mynacard emulate`, `mynacard emulate control`, `mynacard pcscd` and `mynacard apdu`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mynacard.applet_model.profiles import choices_help
from mynacard.emulator.errors import EmulatorError
from mynacard.main import CommandRoot

if TYPE_CHECKING:
    from mynacard.emulator.control import ControlClient
    from mynacard.emulator.pcscd import PcscdInfo

EMULATE_HELP = """\
Put a card in a virtual PC/SC reader that every PC/SC program on this machine can use
(OpenSC, pyscard, any JPKI client), until Ctrl-C or SIGTERM removes it.

pcscd: if one runs, it is used (it must have a vpcd reader); otherwise one is started with
mynacard's own reader config (never /etc) and stopped when the last mynacard process using it
exits. Keep one running across runs with `mynacard pcscd start`.

Without --card, the demo card is used: copied on first use to ~/.local/state/mynacard/demo-card
(or $XDG_STATE_HOME/mynacard/demo-card), where its retry counters then persist; delete that
directory for a fresh one. Its PINs are in the README (4-digit PINs 1234, signing password ABC123).

examples:
  mynacard emulate                                   the demo card in the first free reader
  mynacard emulate --card ./alice --card ./bob       two cards in two readers
  mynacard emulate --card ./alice --slot 2 --trace apdus.log
  mynacard emulate --behaviour reselect=clears       a card whose re-SELECT of an AP logs out
  opensc-tool -l ; opensc-tool -r "mynacard Virtual PCD A 00 00" -n      (says: jpki)
  mynacard emulate control status                    from another terminal
  mynacard emulate control fault remove --ins 20     pull the card during the next VERIFY
"""

CONTROL_HELP = """\
Drive a running `mynacard emulate` over its control channel (a private UNIX socket,
docs/emulator.md): insert, remove or reset its cards and inject faults.

examples:
  mynacard emulate control status
  mynacard emulate control remove ; mynacard emulate control insert
  mynacard emulate control insert --image ./new-card   a new card image in place of the card
  mynacard emulate control reset --card 1
  mynacard emulate control fault delay 500 --ins 2A     next signature answers 500 ms late
  mynacard emulate control fault remove --ins 20        card pulled out during the next VERIFY
  mynacard emulate control fault torn-write             next counter write is torn (power lost)
"""

PCSCD_HELP = """\
Keep a pcscd with mynacard's virtual readers running between runs (developers), or look at
the one that runs. `start` starts one with mynacard's private reader config (4 readers
"mynacard Virtual PCD A" … "D", 2 slots each; /etc is never touched) that stays up until
`mynacard pcscd stop`. A pcscd mynacard did not start is never stopped by mynacard.

examples:
  mynacard pcscd start && mynacard emulate
  mynacard pcscd status
  mynacard pcscd stop
"""

APDU_HELP = """\
Send APDUs to a card image in-process (no reader, no pcscd) and print each response: its data
and status word. Each HEX argument is one whole command APDU (spaces and colons allowed inside
quotes). The card is powered up once for all of them, so a VERIFY holds for the commands after
it in the same call; retry counters are written to the card directory, so they persist between
calls exactly as on a card, and are shared with every other process using the directory at the
same time (`mynacard emulate --card DIR`, other `mynacard apdu` calls), as on the one chip. PIN
data is masked in the echo of the commands.

examples:
  mynacard apdu --card ./mycard 00A4040C0AD392F000260100000001
        SELECT the JPKI AP (CI §5)                                  -> 9000
  mynacard apdu --card ./mycard 00A4040C0AD392F000260100000001 00A4020C020018 00200080
        ... select the auth PIN EF and ask its tries left (VERIFY without data) -> 63C3
  mynacard apdu --card ./mycard 00A4040C0AD392F000260100000001 00A4020C02000A 00B0000004
        ... read the first 4 bytes of the auth certificate          -> 3082xxxx 9000
  mynacard apdu --card ./mycard 00A4040C0AD392F000260100000001 00A4020C020018 002000800431323334
        ... VERIFY auth PIN "1234" (a wrong one costs a try: 63C2, and it stays spent)
  mynacard apdu --card ./mycard --behaviour verify-query=ok 00A4040C0AD392F000260100000001 \
        00A4020C020018 002000800431323334 00200080
        ... the same card answering the query of a verified PIN with 9000 (CI §12)
"""

BEHAVIOUR_HELP = ("serve the card with this side of a behaviour real cards disagree on (CI §12), "
                  "e.g. reselect=clears; repeatable; listed below; default: the card image's own")

#: What a status word means on this card (CI §3), for people reading `mynacard apdu` output.
SW_MEANINGS = {
    0x9000: "success",
    0x6700: "wrong length",
    0x6881: "logical channel not supported",
    0x6981: "command incompatible with file structure",
    0x6982: "security status not satisfied (verify a PIN first)",
    0x6984: "PIN blocked",
    0x6985: "conditions of use not satisfied",
    0x6A82: "file or application not found",
    0x6A83: "record not found",
    0x6A86: "incorrect P1-P2",
    0x6A88: "data object not found",
    0x6B00: "offset beyond the end of the EF",
    0x6D00: "INS not supported",
    0x6F00: "no precise diagnosis",
}


def register(root: CommandRoot) -> None:
    """Add this package's subcommands to the `mynacard` command."""
    emulate = root.command("emulate", help="put a card in a virtual PC/SC reader", description=EMULATE_HELP,
                           epilog=choices_help())
    emulate.add_argument("--card", action="append", type=Path, metavar="DIR",
                         help="card image directory (repeat for several cards); default: the demo card")
    emulate.add_argument("--slot", action="append", type=int, metavar="N",
                         help="slot number for the card at the same position (see `mynacard pcscd status`); "
                              "default: the first free slot")
    emulate.add_argument("--trace", type=Path, metavar="FILE",
                         help="append an APDU trace to FILE (secrets redacted)")
    emulate.add_argument("--control", type=Path, metavar="PATH",
                         help="control socket path (default: in mynacard's private runtime directory)")
    emulate.add_argument("--profile", metavar="NAME",
                         help="serve the card with another ATR profile of CI §1.1 (e.g. contact-jukicard, "
                              "contactless-06); default: the card image's own")
    emulate.add_argument("--behaviour", action="append", metavar="KEY=VALUE", help=BEHAVIOUR_HELP)
    emulate.set_defaults(func=run_emulate)

    actions = emulate.add_subparsers(dest="emulate_command", metavar="control")
    control = actions.add_parser("control", help="drive a running emulator", description=CONTROL_HELP,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    control.add_argument("--control", type=Path, metavar="PATH",
                         help="control socket (default: the one running emulator's)")
    control.add_argument("--json", action="store_true", help="print the emulator's JSON answer")
    requests = control.add_subparsers(dest="control_command", metavar="REQUEST", required=True)
    requests.add_parser("status", help="cards, readers, states, armed faults")
    for name, text in (("insert", "insert the card again"), ("remove", "remove the card"),
                       ("reset", "warm-reset the card (it forgets selected DF and verified PINs)")):
        sub = requests.add_parser(name, help=text)
        sub.add_argument("--card", default="0", help="card index (order of --card) or reader name; default 0")
        if name == "insert":
            sub.add_argument("--image", type=Path, metavar="DIR",
                             help="put this card image in the slot instead (the card there is taken off first)")
    fault = requests.add_parser("fault", help="inject a fault")
    fault.add_argument("--card", default="0", help="card index or reader name; default 0")
    kinds = fault.add_subparsers(dest="fault", metavar="KIND", required=True)
    delay = kinds.add_parser("delay", help="answer the next command(s) late")
    delay.add_argument("ms", type=float, help="milliseconds")
    delay.add_argument("--ins", help="only commands with this INS (hex, e.g. 2A)")
    delay.add_argument("--count", type=int, default=1, help="how many commands (default 1)")
    remove = kinds.add_parser("remove", help="pull the card out in the middle of the next command")
    remove.add_argument("--ins", help="only a command with this INS (hex, e.g. 20)")
    remove.add_argument("--before", action="store_true",
                        help="pull it before the card executes the command (default: after, unanswered)")
    kinds.add_parser("torn-write", help="tear the card's next state write (it loses power mid-write)")
    kinds.add_parser("clear", help="disarm every armed fault")
    control.set_defaults(func=run_control)

    pcscd = root.command("pcscd", help="start, stop or look at the pcscd with virtual readers",
                         description=PCSCD_HELP)
    pcscd.add_argument("action", choices=("start", "stop", "status"))
    pcscd.add_argument("--force", action="store_true",
                       help="stop even while mynacard processes still serve cards in it")
    pcscd.set_defaults(func=run_pcscd)

    apdu = root.command("apdu", help="send APDUs to a card in-process and print the responses",
                        description=APDU_HELP, epilog=choices_help())
    apdu.add_argument("--card", type=Path, required=True, metavar="DIR", help="card image directory")
    apdu.add_argument("--raw", action="store_true",
                      help="print only each response as hex (data || SW), one per line")
    apdu.add_argument("--trace", type=Path, metavar="FILE", help="also append an APDU trace to FILE")
    apdu.add_argument("--behaviour", action="append", metavar="KEY=VALUE", help=BEHAVIOUR_HELP)
    apdu.add_argument("apdus", nargs="+", metavar="HEX", help="command APDUs in hex")
    apdu.set_defaults(func=run_apdu)




# -- mynacard apdu -----------------------------------------------------------------------------


def parse_hex_apdu(text: str) -> bytes:
    cleaned = "".join(text.replace(":", " ").split())
    try:
        apdu = bytes.fromhex(cleaned)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not hex") from None
    if len(apdu) < 4:
        raise argparse.ArgumentTypeError(f"{text!r} is shorter than an APDU header (4 bytes)")
    return apdu


def describe_sw(sw: int) -> str:
    if sw & 0xFFF0 == 0x63C0:
        return f"{sw & 0xF} tries left"
    return SW_MEANINGS.get(sw, "")


def run_apdu(args: argparse.Namespace) -> int:
    from mynacard.codec.redaction import redact_command
    from mynacard.emulator.inprocess import InProcessTransport
    from mynacard.emulator.trace import ApduTracer

    try:
        apdus = [parse_hex_apdu(text) for text in args.apdus]
    except argparse.ArgumentTypeError as exc:
        print(f"mynacard apdu: {exc}; give each command APDU as hex, e.g. 00A4040C0AD392F000260100000001",
              file=sys.stderr)
        return 2
    from mynacard.emulator.cards import behaviour_choices

    behaviours = behaviour_choices(args.behaviour)
    tracer = ApduTracer.open(args.trace) if args.trace else None
    transport = InProcessTransport.from_directory(args.card, behaviours=behaviours, tracer=tracer)
    try:
        for apdu in apdus:
            response = transport.transmit(apdu)
            data, sw = response[:-2], int.from_bytes(response[-2:], "big")
            if args.raw:
                print(response.hex().upper())
                continue
            print(f"> {redact_command(apdu).text()}")
            meaning = describe_sw(sw)
            shown = f"{data.hex().upper()} " if data else ""
            print(f"< {shown}{sw:04X}" + (f"  ({meaning})" if meaning else ""))
    finally:
        transport.close()
        if tracer is not None:
            tracer.close()
    return 0


# -- mynacard pcscd ----------------------------------------------------------------------------


def run_pcscd(args: argparse.Namespace) -> int:
    from mynacard.emulator import pcscd

    pcscd.check_installed()
    info = pcscd.describe_running()
    if args.action == "status":
        if info is None:
            print("no pcscd is running; `mynacard pcscd start` starts one with virtual readers.")
            return 0
        _print_pcscd(info)
        return 0
    if args.action == "start":
        if info is not None:
            print(f"pcscd already runs (pid {info.pid}); it is used as it is.")
            _print_pcscd(info)
            return 0
        info = pcscd.start_pcscd(persistent=True)
        print(f"pcscd started (pid {info.pid}); it runs until `mynacard pcscd stop`.")
        _print_pcscd(info)
        return 0
    if info is None:
        print("no pcscd is running.")
        return 0
    if not info.ours:
        raise EmulatorError(f"pcscd (pid {info.pid}) was not started by mynacard; stop it the way it was started.")
    if pcscd.users_elsewhere() and not args.force:
        raise EmulatorError("mynacard processes still serve cards in this pcscd; stop them first, or use --force.")
    pcscd.stop_pcscd(info.pid)
    print(f"pcscd (pid {info.pid}) stopped.")
    return 0


def _print_pcscd(info: PcscdInfo) -> None:
    from mynacard.emulator.slots import holder

    owner = ("started by `mynacard pcscd start`" if info.persistent else
             "started on demand by mynacard" if info.ours else "not started by mynacard")
    print(f"pcscd pid {info.pid}, {owner}; reader config {info.config}")
    if not info.slots:
        print("  it has no vpcd reader mynacard can serve.")
    for index, slot in enumerate(info.slots):
        who = holder(slot)
        used = f"card {who.get('card')} (pid {who.get('pid')})" if who else "free"
        print(f"  slot {index}: {slot.reader!r} port {slot.port}: {used}")


# -- mynacard emulate --------------------------------------------------------------------------


def run_emulate(args: argparse.Namespace) -> int:
    from mynacard.emulator.cards import behaviour_choices
    from mynacard.emulator.emulate import Emulation

    return Emulation(args.card or [], args.slot or [], args.trace, args.control, args.profile,
                     behaviour_choices(args.behaviour)).run()


# -- mynacard emulate control ------------------------------------------------------------------


def run_control(args: argparse.Namespace) -> int:
    from mynacard.emulator.control import ControlClient

    client = ControlClient(args.control) if args.control else ControlClient.find()
    command = args.control_command
    if command == "status":
        answer = client.status()
    elif command == "fault":
        answer = _control_fault(client, args)
    elif command == "insert":
        answer = client.insert(_card_key(args.card), image=args.image)
    else:
        answer = client.request(command, card=_card_key(args.card))
    if args.json:
        print(json.dumps(answer, indent=2, ensure_ascii=False))
    elif command == "status":
        _print_status(answer)
    else:
        card = answer["card"]
        print(f"{card['reader']}: {card['state']}" + (f"; armed: {_faults(card)}" if card["faults"] else ""))
    return 0


def _card_key(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def _control_fault(client: ControlClient, args: argparse.Namespace) -> dict[str, Any]:
    card = _card_key(args.card)
    ins = int(args.ins, 16) if getattr(args, "ins", None) else None
    if args.fault == "delay":
        return client.delay(args.ms, ins=ins, count=args.count, card=card)
    if args.fault == "remove":
        return client.remove_during(ins=ins, execute=not args.before, card=card)
    if args.fault == "torn-write":
        return client.torn_write(card=card)
    return client.clear_faults(card=card)


def _faults(card: dict[str, Any]) -> str:
    """"delay on INS 2A 500 ms, remove on INS 20" for people."""
    described = []
    for fault in card["faults"]:
        text = fault["kind"] + (f" on INS {fault['ins']}" if fault["ins"] else "")
        if fault["kind"] == "delay":
            text += f" {fault['delay_ms']:g} ms"
        described.append(text)
    return ", ".join(described)


def _print_status(answer: dict[str, Any]) -> None:
    pcscd = answer.get("pcscd", {})
    print(f"emulator pid {answer['pid']}; pcscd pid {pcscd.get('pid')} ({pcscd.get('config')})")
    for card in answer["cards"]:
        print(f"  card {card['index']}: {card['card']}")
        print(f"    reader {card['reader']!r}: {card['state']}, {card['commands']} commands"
              + (f"; armed: {_faults(card)}" if card["faults"] else "")
              + (f"; last event: {card['last_event']}" if card["last_event"] else ""))

