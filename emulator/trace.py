"""APDU traces: one line per command/response pair, with timing, secrets redacted.

Line format (docs/emulator.md, "Traces"):

    2026-11-26T22:05:01.123456 [mynacard Virtual PCD A 00 00] 00A4040C0AD392F000260100000001 -> 9000 (0.041 ms)
    2026-11-26T22:05:01.130002 [mynacard Virtual PCD A 00 00] 0020008004 <4 bytes redacted> -> 63C2 (1.902 ms)
    2026-11-26T22:05:02.000100 [mynacard Virtual PCD A 00 00] # removed

The time is when the command arrived; the duration is the card's own time from command to answer.
What is redacted is decided by `mynacard.codec.redaction`, the policy the host's `--trace` uses too.
Events (insertion, removal, faults) are `#` lines. Power events and pcscd's 400 ms ATR polls are
not traced: there are thousands of them and they say nothing.
The file is created private (0600): the responses are the holder's personal data even with the
secrets taken out.
"""

from __future__ import annotations

import os
import stat
import threading
from datetime import datetime
from pathlib import Path
from typing import TextIO

from mynacard.codec.redaction import RedactionPolicy
from mynacard.emulator.errors import EmulatorError


class ApduTracer:
    """Writes trace lines to a text stream; safe to share between the slots of one process."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path | str) -> ApduTracer:
        """Append to the trace file at `path`, creating it with mode 0600 in the same system call;
        an existing file that others may read is refused."""
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise EmulatorError(f"cannot open the trace file {path}: {exc.strerror}.") from exc
        mode = os.fstat(fd).st_mode
        if stat.S_ISREG(mode) and mode & 0o077:
            os.close(fd)
            raise EmulatorError(f"the trace file {path} is readable by others (mode {stat.S_IMODE(mode):04o}); "
                                "make it private (chmod 600) or choose a new file.")
        return cls(os.fdopen(fd, "w", encoding="utf-8", buffering=1))

    def exchange(self, where: str, policy: RedactionPolicy, command: bytes, response: bytes | None,
                 arrived: float, seconds: float) -> None:
        """Trace one command and its response (None: the card gave none, e.g. lost power);
        `policy` follows the selection of the card at `where`."""
        shown = policy.feed(command, response)
        self._write(arrived, where, f"{shown.command_text} -> {shown.response_text} ({seconds * 1000:.3f} ms)")

    def event(self, where: str, text: str, when: float | None = None) -> None:
        """A `#` line: insertion, removal, a fault firing, …"""
        self._write(when, where, f"# {text}")

    def close(self) -> None:
        with self._lock:
            self._stream.close()

    def _write(self, when: float | None, where: str, text: str) -> None:
        stamp = (datetime.fromtimestamp(when) if when is not None else datetime.now()).isoformat(
            timespec="microseconds"
        )
        with self._lock:
            if not self._stream.closed:
                self._stream.write(f"{stamp} [{where}] {text}\n")
