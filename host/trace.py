"""An APDU trace around any Transport, with the secrets taken out.

Used by `--trace FILE` on the CLI and by tests that must prove what was (or was not) sent, e.g.
that a PIN of the wrong format never produced an APDU. What is redacted is decided by
`mynacard.codec.redaction`, the one policy the emulator's traces use too: the data of VERIFY,
CHANGE REFERENCE DATA, CHANGE KEY and SET SESSION KEY whatever their lengths say, and every
response from an EF that holds the My Number, the four facts or is opened only by a secret —
followed through failed SELECTs, SFI reads and secure messaging the way the card follows them.
Only lengths remain of what is redacted. Trace files are created private (0600): even redacted,
a trace says which card was read when.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from mynacard.codec.redaction import RedactedExchange, RedactionPolicy
from mynacard.host.transport import Transport


class TraceFileError(OSError):
    """The trace file cannot be opened privately; the message says why."""


def open_trace_file(path: Path | str) -> TextIO:
    """Append to `path`, creating it with mode 0600 in the same system call (never world-readable
    for an instant); an existing file that others may read is refused, not silently used."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError as exc:
        raise TraceFileError(f"cannot write the trace file {path}: {exc.strerror}") from exc
    mode = os.fstat(fd).st_mode
    if stat.S_ISREG(mode) and mode & 0o077:
        os.close(fd)
        raise TraceFileError(f"the trace file {path} is readable by others (mode {stat.S_IMODE(mode):04o}); "
                             "make it private (chmod 600) or choose a new file")
    return os.fdopen(fd, "a", encoding="utf-8")


@dataclass(frozen=True)
class TraceEntry:
    """One exchange as the trace may show it."""

    shown: RedactedExchange
    seconds: float
    #: Set when the transport raised instead of answering.
    error: str = ""

    @property
    def command(self) -> bytes:
        """What may be shown of the command (secret data cut off, see `command_redacted`)."""
        return self.shown.command.shown

    @property
    def command_redacted(self) -> int:
        return self.shown.command.hidden

    @property
    def response(self) -> bytes:
        """Response data (SW excluded), empty when redacted."""
        return self.shown.response.data if self.shown.response is not None else b""

    @property
    def response_redacted(self) -> int:
        return self.shown.response.hidden if self.shown.response is not None else 0

    @property
    def sw(self) -> int | None:
        return self.shown.response.sw if self.shown.response is not None else None

    @property
    def ins(self) -> int:
        return self.shown.command.ins

    def line(self) -> str:
        """`0020008004 <4 bytes redacted> -> 9000 (0.12 ms)`."""
        answer = f"error: {self.error}" if self.error else self.shown.response_text
        return f"{self.shown.command_text} -> {answer} ({self.seconds * 1000:.2f} ms)"


class TracingTransport:
    """A Transport that records every exchange of the one it wraps (and optionally writes it)."""

    def __init__(self, inner: Transport, sink: TextIO | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.entries: list[TraceEntry] = []
        self._sink = sink
        self._policy = RedactionPolicy()

    @property
    def atr(self) -> bytes:
        return self.inner.atr

    @property
    def extended_length(self) -> bool:
        return self.inner.extended_length

    def transmit(self, apdu: bytes) -> bytes:
        start = time.perf_counter()
        try:
            raw = self.inner.transmit(apdu)
        except Exception as exc:
            self._record(apdu, None, time.perf_counter() - start, type(exc).__name__)
            raise
        self._record(apdu, raw, time.perf_counter() - start)
        return raw

    def _record(self, apdu: bytes, raw: bytes | None, seconds: float, error: str = "") -> None:
        entry = TraceEntry(self._policy.feed(apdu, raw), seconds, error)
        self.entries.append(entry)
        if self._sink is not None:
            self._sink.write(entry.line() + "\n")
            self._sink.flush()

    def reset(self) -> None:
        self._policy.power_cycle()
        self.inner.reset()

    def close(self) -> None:
        self.inner.close()

    def sent(self, ins: int | None = None) -> list[TraceEntry]:
        """Entries, all or those with INS `ins`."""
        return [e for e in self.entries if ins is None or e.ins == ins]
