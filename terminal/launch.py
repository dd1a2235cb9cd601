"""Assemble a kiosk from command-line options and serve it until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from mynacard.errors import UsageError
from mynacard.terminal.centre_client import HttpCentre
from mynacard.terminal.config import ConfigError, KioskConfig, load_config
from mynacard.terminal.payment import SimulatedAcceptor
from mynacard.terminal.printer import CupsPrinter, Printer, SimulatedPrinter
from mynacard.terminal.reader import CardReader, PcscReader, SimulatedReader
from mynacard.terminal.runtime import Devices, Kiosk, journal
from mynacard.terminal.server import KioskServer
from mynacard.terminal.voice import EspeakVoice, SilentVoice, Voice


class LaunchError(UsageError):
    """Something the operator must fix before the kiosk can start (one sentence; exit status 2
    through the root handler)."""


@dataclass(frozen=True)
class KioskOptions:
    reader: str | None = None
    card: Path | None = None
    centre_url: str = "http://127.0.0.1:8470/centre"
    centre_token: str = ""
    printer: str | None = None
    host: str = "127.0.0.1"
    port: int = 8765
    config: Path | None = None
    data_dir: Path | None = None
    voice: str = "none"
    player: list[str] | None = None


def state_home() -> Path:
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "mynacard"


def _private_dir(path: Path) -> Path:
    """Create the data dir readable by its owner only; an existing one keeps its permissions."""
    if not path.exists():
        path.mkdir(mode=0o700, parents=True)
    elif not path.is_dir():
        raise LaunchError(f"the kiosk data dir {path} exists and is not a directory")
    return path


def build_kiosk(options: KioskOptions) -> tuple[Kiosk, Path]:
    try:
        config = load_config(options.config) if options.config else KioskConfig()
    except ConfigError as exc:
        raise LaunchError(str(exc)) from None
    data_dir = _private_dir(options.data_dir or state_home() / "kiosk")
    reader: CardReader
    if options.reader:
        reader = PcscReader(options.reader)
    else:
        # The card image holds a person's data, so it never lives in the kiosk's data dir: the
        # default is the demo card copy that `mynacard emulate` keeps.
        card = options.card or state_home() / "demo-card"
        if not (card / "card.json").is_file():
            raise LaunchError(f"no card image for the simulated reader at {card}: pass --card DIR "
                              f"(made by `mynacard card new DIR`), or run `mynacard emulate` once "
                              f"to get the demo card there")
        reader = SimulatedReader(card)
    printer: Printer = CupsPrinter(options.printer) if options.printer else SimulatedPrinter()
    voice: Voice = SilentVoice()
    if options.voice == "espeak":
        try:
            voice = EspeakVoice(data_dir / "voice", options.player)
        except FileNotFoundError as exc:
            raise LaunchError(str(exc)) from None
    try:
        centre = HttpCentre(options.centre_url, options.centre_token)
    except ValueError as exc:
        raise LaunchError(str(exc)) from None
    kiosk = Kiosk(config, Devices(reader, printer, SimulatedAcceptor(), voice), centre)
    return kiosk, data_dir


def open_journal(data_dir: Path) -> logging.Handler:
    """The kiosk's journal file: states, transaction ids, amounts, reasons — nothing personal."""
    path = data_dir / "kiosk.log"
    path.touch(mode=0o600, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    journal.addHandler(handler)
    journal.setLevel(logging.INFO)
    return handler


async def _serve(kiosk: Kiosk, options: KioskOptions) -> None:
    server = KioskServer(kiosk, options.host, options.port)
    try:
        await server.start()
    except OSError as exc:
        raise LaunchError(f"cannot serve on {options.host}:{options.port}: {exc.strerror}") from None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, kiosk.stop)
    print(f"kiosk {kiosk.config.kiosk_id} ready: open {server.url} (Ctrl-C stops)", flush=True)
    print(f"  reader: {kiosk.devices.reader.name}; centre: {options.centre_url}", flush=True)
    try:
        await kiosk.run()
    finally:
        await server.close()


def serve_forever(options: KioskOptions) -> int:
    kiosk, data_dir = build_kiosk(options)
    handler = open_journal(data_dir)
    if not options.centre_token:
        print("warning: no centre token ($MYNACARD_CENTRE_TOKEN or --centre-token-file): the "
              "centre will refuse this kiosk", flush=True)
    try:
        asyncio.run(_serve(kiosk, options))
    finally:
        journal.removeHandler(handler)
        handler.close()
    print("kiosk stopped", flush=True)
    return 0
