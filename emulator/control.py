"""The control channel of `mynacard emulate`: JSON lines over a private UNIX socket.

Protection is the file system plus a credential check: the socket lives in the runtime directory
(mode 0700, ours), is itself mode 0600, and every connection's peer uid (SO_PEERCRED) must be ours
or root. Nothing listens on the network.

One request per line, one answer per line (docs/emulator.md, "Control channel"):

    {"op": "status"}
    {"op": "insert", "card": 0}      {"op": "remove", "card": 0}      {"op": "reset", "card": 0}
    {"op": "insert", "card": 0, "image": "/path/to/card-dir"}   a new card image in the slot
    {"op": "fault", "card": 0, "fault": "delay", "ms": 500, "ins": "20", "count": 1}
    {"op": "fault", "card": 0, "fault": "remove", "ins": "20", "execute": true}
    {"op": "fault", "card": 0, "fault": "torn-write"}
    {"op": "clear-faults", "card": 0}

    → {"ok": true, ...}  or  {"ok": false, "error": "a sentence"}

`card` is the index of the card in this emulator (the order of --card), or a reader name. An
`insert` with `image` puts another card image in the slot — the card on the reader is taken off
first (pcscd sees the removal and the insertion), the image is checked before anything changes —
which is how a card encoder at the window (docs/window.md, screen 4) hands over a new card.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
from pathlib import Path
from typing import Any

from mynacard.emulator.cards import ImageCardSource, open_image_card
from mynacard.emulator.errors import ControlError, EmulatorError
from mynacard.emulator.faults import Fault
from mynacard.emulator.paths import private_dir, runtime_dir
from mynacard.emulator.pcscd import process_alive
from mynacard.emulator.readers import VirtualReaders
from mynacard.emulator.slot import VirtualSlot

MAX_REQUEST = 64 * 1024
_UCRED = struct.Struct("3i")


def control_dir() -> Path:
    return private_dir(runtime_dir() / "control")


def default_socket_path() -> Path:
    return control_dir() / f"emulate-{os.getpid()}.sock"


def running_emulators() -> list[Path]:
    """Control sockets of `mynacard emulate` processes that are alive (those of dead ones, left
    behind by a kill -9, are removed on the way)."""
    found = []
    for path in sorted(control_dir().glob("emulate-*.sock")):
        pid = path.stem.removeprefix("emulate-")
        if pid.isdigit() and process_alive(int(pid)):
            found.append(path)
        elif pid.isdigit():
            path.unlink(missing_ok=True)
    return found


class ControlServer:
    """Serves control requests for the cards of a VirtualReaders, one thread per connection."""

    def __init__(self, path: Path, readers: VirtualReaders) -> None:
        self.path = path
        self._readers = readers
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.path.exists():
            if self.path.is_socket() and not _answers(self.path):
                self.path.unlink()  # left behind by a process that died
            else:
                raise EmulatorError(f"{self.path} exists already; is another emulator using it?")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            sock.bind(str(self.path))
        except OSError as exc:
            sock.close()
            raise EmulatorError(f"cannot create the control socket {self.path}: {exc.strerror}.") from exc
        finally:
            os.umask(old_umask)
        sock.listen(8)
        self._sock = sock
        self._thread = threading.Thread(target=self._accept_loop, args=(sock,), name="control", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._sock.close()
            self._sock = None
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        if self._thread is not None:
            self._thread.join(2)

    def _accept_loop(self, sock: socket.socket) -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), name="control-client", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            if not _peer_allowed(conn):
                conn.sendall(_encode({"ok": False, "error": "permission denied: not the emulator's user."}))
                return
            reader = conn.makefile("rb")
            for line in reader:
                if len(line) > MAX_REQUEST:
                    answer: dict[str, Any] = {"ok": False, "error": "request too long."}
                else:
                    answer = self.handle_line(line)
                try:
                    conn.sendall(_encode(answer))
                except OSError:
                    return

    def handle_line(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError:
            return {"ok": False, "error": "a request is one JSON object per line, e.g. {\"op\": \"status\"}."}
        try:
            return {"ok": True, **self.handle(request)}
        except (EmulatorError, ValueError, TypeError) as exc:
            return {"ok": False, "error": str(exc)}

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "status":
            return {"pid": os.getpid(), "pcscd": self._pcscd_status(),
                    "cards": [{"index": i, **slot.status()} for i, slot in enumerate(self._readers.slots)]}
        slot = self._slot(request.get("card", 0))
        if op == "insert" and request.get("image") is not None:
            _insert_image(slot, Path(str(request["image"])))
        elif op == "insert":
            slot.insert()
        elif op == "remove":
            if not slot.remove():
                raise EmulatorError(f"there is no card in {slot.reader} to remove.")
        elif op == "reset":
            slot.reset()
        elif op == "fault":
            self._fault(slot, request)
        elif op == "clear-faults":
            slot.faults.clear()
        else:
            raise EmulatorError(
                f"unknown op {op!r}; the ops are status, insert, remove, reset, fault, clear-faults."
            )
        return {"card": slot.status()}

    def _slot(self, key: object) -> VirtualSlot:
        slots = self._readers.slots
        if isinstance(key, int) and not isinstance(key, bool) and 0 <= key < len(slots):
            return slots[key]
        for slot in slots:
            if slot.reader == key:
                return slot
        raise EmulatorError(f"there is no card {key!r}: this emulator serves cards 0 to {len(slots) - 1}.")

    @staticmethod
    def _fault(slot: VirtualSlot, request: dict[str, Any]) -> None:
        kind = request.get("fault")
        if kind == "torn-write":
            slot.inject_torn_write()
            return
        ins = request.get("ins")
        fault = Fault(
            kind=str(kind),
            ins=int(ins, 16) if isinstance(ins, str) else ins,
            count=int(request.get("count", 1)),
            delay_ms=float(request.get("ms", 0)),
            execute=bool(request.get("execute", True)),
        )
        slot.arm_fault(fault)

    def _pcscd_status(self) -> dict[str, Any]:
        info = self._readers.pcscd.info
        if info is None:
            return {}
        return {"pid": info.pid, "config": str(info.config), "started_here": self._readers.pcscd.started}


def _insert_image(slot: VirtualSlot, image: Path) -> None:
    """Put the card image at `image` in the slot, in place of the card there (if any); a bad image
    is refused with the card left as it was. The slot's ATR profile and behaviours are kept."""
    old = slot.source
    profile = old.profile if isinstance(old, ImageCardSource) else None
    behaviours = old.behaviours if isinstance(old, ImageCardSource) else None
    open_image_card(image, profile, behaviours)  # refuse a bad image before touching the slot
    if slot.inserted:
        slot.remove()
    slot.source = ImageCardSource(image, profile, behaviours)
    slot.insert()


def _encode(answer: dict[str, Any]) -> bytes:
    return json.dumps(answer, ensure_ascii=False).encode() + b"\n"


def _peer_allowed(conn: socket.socket) -> bool:
    try:
        _, uid, _ = _UCRED.unpack(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size))
    except OSError:
        return False
    return uid in (0, os.geteuid())


def _answers(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        probe.close()


class ControlClient:
    """A client of one emulator's control channel (used by tests, conformance robots and the CLI)."""

    def __init__(self, path: Path | str, timeout: float = 15.0) -> None:
        self.path = Path(path)
        self.timeout = timeout

    @classmethod
    def find(cls) -> ControlClient:
        """The control channel of the one running `mynacard emulate`."""
        found = running_emulators()
        if not found:
            raise ControlError("no `mynacard emulate` is running (start one, or give its socket with --control).")
        if len(found) > 1:
            raise ControlError(
                "several emulators are running; choose one with --control: " + ", ".join(map(str, found))
            )
        return cls(found[0])

    def request(self, op: str, **fields: object) -> dict[str, Any]:
        """Send one request; its answer, or ControlError with the emulator's sentence."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(self.timeout)
            try:
                sock.connect(str(self.path))
                sock.sendall(_encode({"op": op, **fields}))
                line = sock.makefile("rb").readline()
            except OSError as exc:
                raise ControlError(f"cannot talk to the emulator at {self.path}: {exc.strerror or exc}.") from exc
        if not line:
            raise ControlError(f"the emulator at {self.path} closed the connection without answering.")
        answer = json.loads(line)
        if not answer.get("ok"):
            raise ControlError(answer.get("error", "the emulator refused the request."))
        return answer

    def status(self) -> dict[str, Any]:
        return self.request("status")

    def insert(self, card: int | str = 0, image: Path | str | None = None) -> dict[str, Any]:
        """Insert the slot's card again, or (with `image`) a new card image in its place."""
        if image is None:
            return self.request("insert", card=card)
        return self.request("insert", card=card, image=str(Path(image).resolve()))

    def remove(self, card: int | str = 0) -> dict[str, Any]:
        return self.request("remove", card=card)

    def reset(self, card: int | str = 0) -> dict[str, Any]:
        return self.request("reset", card=card)

    def delay(self, ms: float, ins: int | None = None, count: int = 1, card: int | str = 0) -> dict[str, Any]:
        return self.request("fault", card=card, fault="delay", ms=ms, count=count, ins=_ins(ins))

    def remove_during(self, ins: int | None = None, execute: bool = True, card: int | str = 0) -> dict[str, Any]:
        return self.request("fault", card=card, fault="remove", ins=_ins(ins), execute=execute)

    def torn_write(self, card: int | str = 0) -> dict[str, Any]:
        return self.request("fault", card=card, fault="torn-write")

    def clear_faults(self, card: int | str = 0) -> dict[str, Any]:
        return self.request("clear-faults", card=card)


def _ins(ins: int | None) -> str | None:
    return None if ins is None else f"{ins:02X}"
