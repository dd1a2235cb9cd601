"""`mynacard up`: the whole system from one command, for a demo or a first look.

It runs three processes of its own and stops them in reverse order on Ctrl-C or SIGTERM:
1. `mynacard serve` (CA service, register, issuance centre; SQLite in the data directory);
2. `mynacard emulate` with the demo resident's card in a virtual reader (pcscd + vpcd);
3. `mynacard kiosk` on that reader, talking to the centre with the kiosk token;
4. `mynacard window` (the clerk's window) on the same reader, with a demo clerk's named token
   (DATA/window-clerk.token) to log in with; it trusts the test authority, as the demo card is
   one of its cards.

Before 2, the demo resident (見本 花子, the values of `register_stub/demo_values.py`) is put on
the register and a card is issued to her THROUGH the register, so its certificates come from the
CA service and map to her record; the image is kept in DATA/demo-card. A rerun reuses all of it
(DATA/up.json says which resident and card), so the card's retry counters persist like a card's.

Each child gets SIGTERM when this process dies (PR_SET_PDEATHSIG), so nothing is orphaned even
if `up` itself is killed; its output goes to DATA/logs/.
"""

from __future__ import annotations

import argparse
import base64
import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from mynacard.main import CommandRoot

DESCRIPTION = """\
Start the whole mynacard system and keep it running until Ctrl-C: the back-office services
(`mynacard serve`: CA, register, issuance centre), the demo resident 見本 花子 registered with a
card issued through the register, that card in a virtual PC/SC reader (`mynacard emulate`), and
the convenience-store kiosk (`mynacard kiosk`) with its web UI, wired to the centre, and the
clerk's window (`mynacard window`) with a demo clerk's token.

Everything lives in --data DIR (default ~/.local/share/mynacard/up): databases, CA keys, tokens,
the demo card image and logs/. A rerun reuses it; delete it for a fresh start.
"""

EPILOG = """\
examples:
  mynacard up                                 then open the printed kiosk URL; auth PIN 1234
  mynacard up --data ./demo --port 8570 --kiosk-port 8865 --window-port 8880
while it runs (from another terminal):
  mynacard emulate control remove --control DATA/emulator.sock    take the card off the reader
  mynacard emulate control insert --control DATA/emulator.sock    put it back
"""

STATE_FILE = "up.json"
CARD_DIR = "demo-card"
CONTROL_SOCKET = "emulator.sock"
KIOSK_CONFIG = """\
# Written by `mynacard up`: a demo kiosk that is open around the clock.
kiosk_id = "demo-kiosk"
[hours]
opens = "00:00"
closes = "24:00"
year_end_closure = false
"""
START_TIMEOUT = 120.0
STOP_TIMEOUT = 20.0


class UpError(Exception):
    """Something stopped the system from starting (one sentence)."""


def register(root: CommandRoot) -> None:
    from mynacard.service.config import DEFAULT_HOST, DEFAULT_PORT

    up = root.command("up", help="start everything: services, demo card in a reader, kiosk UI, clerk's window",
                      description=DESCRIPTION, epilog=EPILOG)
    up.add_argument("--data", type=Path, metavar="DIR", help="data directory (default ~/.local/share/mynacard/up)")
    up.add_argument("--host", default=DEFAULT_HOST, help=f"address of both servers (default {DEFAULT_HOST})")
    up.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"services port (default {DEFAULT_PORT})")
    up.add_argument("--kiosk-port", type=int, default=8765, help="kiosk UI port (default 8765)")
    up.add_argument("--window-port", type=int, default=8780, help="clerk's window port (default 8780)")
    up.set_defaults(func=_up)


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the parent dies (Linux prctl PR_SET_PDEATHSIG)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)


@dataclass
class Child:
    """One process of the system, its output copied to a log file and watched for a line."""

    name: str
    process: subprocess.Popen[str]
    log: Path
    lines: list[str] = field(default_factory=list)
    _seen: threading.Condition = field(default_factory=threading.Condition)

    @classmethod
    def start(cls, name: str, argv: list[str], log: Path, env: dict[str, str] | None = None) -> Child:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                                   env=env, preexec_fn=_die_with_parent, start_new_session=True)
        child = cls(name, process, log)
        threading.Thread(target=child._copy, args=(process.stdout,), daemon=True).start()
        return child

    def _copy(self, stream: IO[str] | None) -> None:
        assert stream is not None
        with self.log.open("a", encoding="utf-8") as out:
            for line in stream:
                out.write(line)
                out.flush()
                with self._seen:
                    self.lines.append(line.rstrip("\n"))
                    self._seen.notify_all()
        with self._seen:
            self._seen.notify_all()

    def wait_for(self, match: Callable[[str], bool], what: str, timeout: float = START_TIMEOUT) -> str:
        """The first output line that matches; UpError when the child exits or time runs out."""
        deadline = time.monotonic() + timeout
        with self._seen:
            while True:
                found = next((line for line in self.lines if match(line)), None)
                if found is not None:
                    return found
                if self.process.poll() is not None:
                    tail = " | ".join(self.lines[-3:]) or "no output"
                    raise UpError(f"{self.name} exited with status {self.process.returncode} before {what} ({tail}; "
                                  f"see {self.log})")
                if time.monotonic() > deadline:
                    raise UpError(f"{self.name} did not get to {what} within {timeout:.0f} s; see {self.log}")
                self._seen.wait(0.2)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def _mynacard(*args: str) -> list[str]:
    return [sys.executable, "-m", "mynacard", *args]


def _wait_http(url: str, server: Child) -> None:
    import httpx

    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if server.process.poll() is not None:
            server.wait_for(lambda _line: False, "serving")  # raises with its output
        if time.monotonic() > deadline:
            raise UpError(f"the services did not answer at {url}; see {server.log}")
        time.sleep(0.2)


def demo_card(data_dir: Path, base_url: str, tokens: dict[str, str]) -> tuple[str, Path]:
    """The demo resident's code and card directory: registered and issued on first run, reused after."""
    import httpx

    from mynacard.applet_model.image import CardImage
    from mynacard.applet_model.store import DirectoryStore
    from mynacard.files import write_atomically
    from mynacard.register_stub import demo_values as demo
    from mynacard.register_stub.person import DEMO_PINS

    state_path, card_dir = data_dir / STATE_FILE, data_dir / CARD_DIR
    state = json.loads(state_path.read_text(encoding="utf-8")) if state_path.exists() else {}
    client = httpx.Client(base_url=f"{base_url}/register/v1", timeout=120,
                          headers={"Authorization": f"Bearer {tokens['clerk']}"})
    with client:
        code = state.get("resident_code")
        if code is None:
            born = demo.DEMO_BIRTH_DATE.isoformat()
            answer = client.post("/residents", json={
                "kind": "birth", "event_date": born, "cause": "mynacard up: the demo resident",
                "municipality_code": demo.DEMO_MUNICIPALITY_CODE,
                "resident": {"family_name": demo.DEMO_FAMILY_NAME, "given_name": demo.DEMO_GIVEN_NAME,
                             "birth_date": born, "sex": demo.DEMO_SEX, "address": demo.DEMO_ADDRESS}})
            if answer.status_code != 201:
                raise UpError(f"the register refused the demo resident: {answer.json().get('detail')}")
            code = answer.json()["resident_code"]
            state = {"resident_code": code}
            write_atomically(state_path, (json.dumps(state, indent=2) + "\n").encode(), 0o600)
        if not (card_dir / "card.json").is_file():
            pins = {"auth_pin": DEMO_PINS.auth_pin, "sign_password": DEMO_PINS.sign_password,
                    "text_pin": DEMO_PINS.text_pin, "juki_pin": DEMO_PINS.juki_pin}
            body = {"pins": pins, "security_code": demo.DEMO_SECURITY_CODE,
                    "card_expiry": demo.DEMO_CARD_EXPIRY.isoformat()}
            old = state.get("card_serial")
            answer = client.post(f"/cards/{old}/reissue" if old else f"/residents/{code}/cards", json=body)
            if answer.status_code != 201:
                raise UpError(f"the register did not issue the demo card: {answer.json().get('detail')}")
            issued = answer.json()
            files = {path: base64.b64decode(data) for path, data in issued["image"].items()}
            DirectoryStore.create(card_dir, CardImage.from_files(files.__getitem__))
            state["card_serial"] = issued["card_serial"]
            write_atomically(state_path, (json.dumps(state, indent=2) + "\n").encode(), 0o600)
    return code, card_dir


DEMO_CLERK = "窓口 デモ"
CLERK_TOKEN_FILE = "window-clerk.token"


def demo_clerk(data_dir: Path, base_url: str, tokens: dict[str, str]) -> Path:
    """The demo clerk's named token (made once, `mynacard register clerk add`), in a 0600 file."""
    import httpx

    from mynacard.files import write_atomically

    path = data_dir / CLERK_TOKEN_FILE
    if path.is_file():
        return path
    answer = httpx.post(f"{base_url}/register/v1/clerks", json={"name": DEMO_CLERK}, timeout=30,
                        headers={"Authorization": f"Bearer {tokens['register-admin']}"})
    if answer.status_code != 201:
        raise UpError(f"the register did not make the demo clerk's token: {answer.json().get('detail')}")
    write_atomically(path, (answer.json()["token"] + "\n").encode(), 0o600)
    return path


class Stop(Exception):
    """Ctrl-C or SIGTERM."""


def _up(args: argparse.Namespace) -> int:
    from mynacard.serve import ensure_tokens
    from mynacard.service.config import default_data_dir

    data_dir = (args.data or default_data_dir().parent / "up").resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    logs = data_dir / "logs"
    logs.mkdir(exist_ok=True)
    tokens = ensure_tokens(data_dir)
    base = f"http://{args.host}:{args.port}"
    children: list[Child] = []

    def on_signal(signum: int, _frame: object) -> None:
        raise Stop

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    status = 0
    try:
        print(f"mynacard up: data in {data_dir}; starting the services …", flush=True)
        # One worker: a demo on one machine, and its log is one process's.
        serve = Child.start("mynacard serve", _mynacard("serve", "--data", str(data_dir), "--host", args.host,
                                                        "--port", str(args.port), "--workers", "1"),
                            logs / "serve.log")
        children.append(serve)
        _wait_http(f"{base}/centre/openapi.json", serve)
        print("  registering the demo resident and issuing her card through the register …", flush=True)
        _code, card_dir = demo_card(data_dir, base, tokens)
        control = data_dir / CONTROL_SOCKET
        emulator = Child.start("mynacard emulate", _mynacard("emulate", "--card", str(card_dir), "--control",
                                                             str(control)), logs / "emulate.log")
        children.append(emulator)
        line = emulator.wait_for(lambda text: " in reader " in text, "a reader")
        reader = line.split(" in reader ", 1)[1].strip().strip("'\"")
        config = data_dir / "kiosk.toml"
        if not config.exists():
            config.write_text(KIOSK_CONFIG, encoding="utf-8")
        env = {**os.environ, "MYNACARD_CENTRE_TOKEN": tokens["kiosk"]}
        kiosk = Child.start("mynacard kiosk", _mynacard(
            "kiosk", "--reader", reader, "--centre-url", f"{base}/centre", "--host", args.host,
            "--port", str(args.kiosk_port), "--config", str(config), "--data-dir", str(data_dir / "kiosk")),
            logs / "kiosk.log", env=env)
        children.append(kiosk)
        ready = kiosk.wait_for(lambda text: "ready: open " in text, "serving its UI")
        kiosk_url = ready.split("ready: open ", 1)[1].split()[0]
        clerk_token = demo_clerk(data_dir, base, tokens)
        window = Child.start("mynacard window", _mynacard(
            "window", "--reader", reader, "--register-url", f"{base}/register", "--trust-test-authority",
            "--encoder-dir", str(data_dir / "issued-cards"), "--encoder-control", str(control),
            "--host", args.host, "--port", str(args.window_port)), logs / "window.log")
        children.append(window)
        window_url = f"http://{args.host}:{args.window_port}/"
        _wait_http(f"{window_url}health", window)
        from mynacard.register_stub.person import DEMO_PINS

        print(f"""mynacard up: running (Ctrl-C stops everything)
  kiosk UI:   {kiosk_url}   (integrator WebSocket: {kiosk_url.replace('http', 'ws', 1)}ws)
  window:     {window_url}   (clerk's window; log in with the token in {clerk_token})
  services:   {base}/ca/  {base}/register/  {base}/centre/   (tokens: {data_dir / 'tokens.json'})
  demo card:  見本 花子 in reader {reader!r}; auth PIN {DEMO_PINS.auth_pin}
  the card:   mynacard emulate control remove --control {control}   (and `insert` to put it back)
  printed certificates are checked at {base}/centre/v1/verify/<code>
  logs:       {logs}""", flush=True)
        while all(child.process.poll() is None for child in children):
            time.sleep(0.5)
        failed = next(child for child in children if child.process.poll() is not None)
        print(f"mynacard up: {failed.name} stopped (status {failed.process.returncode}; see {failed.log}); "
              "stopping the rest", file=sys.stderr, flush=True)
        status = 1
    except Stop:
        pass
    except UpError as exc:
        print(f"mynacard up: {exc}", file=sys.stderr, flush=True)
        status = 1
    finally:
        for sig in previous:  # a second Ctrl-C must not interrupt the clean-up
            signal.signal(sig, signal.SIG_IGN)
        for child in reversed(children):  # the kiosk releases the card, the emulator frees the slot
            child.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("mynacard up: stopped", flush=True)
    return status
