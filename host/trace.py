"""An APDU trace around any Transport, with the secrets taken out.

Used by `--trace FILE` on the CLI and by tests that must prove what was (or was not) sent, e.g.
that a PIN of the wrong format never produced an APDU. Redacted, as DESIGN.md requires: the data
of VERIFY, CHANGE REFERENCE DATA and CHANGE KEY (PINs, passwords, 照合番号 — the latter may be the
My Number) and of SET SESSION KEY (the secure-messaging session key, CI §11), every READ BINARY
answer inside the two 券面 APs (My Number, four facts, card face) and the signing certificate (it
names the holder). Only lengths remain of what is redacted. Answers to secure-messaging commands
(CLA 08/0C) are cryptograms and are shown: the tracer sits under the SM layer and never sees
their plaintext.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TextIO

from mynacard.host import aids
from mynacard.host.transport import Transport

#: INS whose command data is a secret (80 AE: the secure-messaging session key).
SECRET_DATA_INS = frozenset({0x20, 0x24, 0x32, 0xAE})
#: APs whose READ answers are personal data.
PERSONAL_APS = frozenset({aids.TEXT, aids.VISUAL})
#: EFs elsewhere that hold personal data: the signing certificate (name, address, birth, sex).
PERSONAL_EFS = frozenset({(aids.JPKI, 0x0001)})


@dataclass(frozen=True)
class TraceEntry:
    #: Command with secret data replaced by nothing (see `command_redacted`).
    command: bytes
    command_redacted: int
    #: Response data (SW excluded), empty when redacted.
    response: bytes
    response_redacted: int
    sw: int | None
    seconds: float
    #: Set when the transport raised instead of answering.
    error: str = ""

    @property
    def ins(self) -> int:
        return self.command[1] if len(self.command) > 1 else -1

    def line(self) -> str:
        """`00200080 [4 bytes redacted] -> 9000 (0.12 ms)`."""
        cmd = self.command.hex().upper()
        if self.command_redacted:
            cmd += f" [{self.command_redacted} bytes redacted]"
        if self.error:
            return f"{cmd} -> error: {self.error} ({self.seconds * 1000:.2f} ms)"
        data = self.response.hex().upper()
        if self.response_redacted:
            data = f"[{self.response_redacted} bytes redacted]"
        sw = f"{self.sw:04X}" if self.sw is not None else "----"
        return f"{cmd} -> {data + ' ' if data else ''}{sw} ({self.seconds * 1000:.2f} ms)"


def _command_parts(apdu: bytes) -> tuple[bytes, int]:
    """(header with Lc but without the data, data length) for a case 3/4 command."""
    if len(apdu) <= 5:
        return apdu, 0
    if apdu[4] != 0:
        return apdu[:5], apdu[4]
    if len(apdu) >= 7:
        length = int.from_bytes(apdu[5:7], "big")
        if length and len(apdu) >= 7 + length:
            return apdu[:7], length
    return apdu, 0


class TracingTransport:
    """A Transport that records every exchange of the one it wraps (and optionally writes it)."""

    def __init__(self, inner: Transport, sink: TextIO | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.entries: list[TraceEntry] = []
        self._sink = sink
        self._aid: bytes | None = None
        self._ef: int | None = None

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
        command, hidden = apdu, 0
        if len(apdu) > 1 and apdu[1] in SECRET_DATA_INS:
            command, hidden = _command_parts(apdu)
        sw = int.from_bytes(raw[-2:], "big") if raw is not None and len(raw) >= 2 else None
        data = raw[:-2] if raw is not None and len(raw) >= 2 else b""
        hidden_response = 0
        personal = self._aid in PERSONAL_APS or (self._aid, self._ef) in PERSONAL_EFS
        secure = bool(apdu[0] & 0x0C)  # an SM answer is a cryptogram (CI §11): shown as it is
        if len(apdu) > 1 and apdu[1] in (0xB0, 0xB1, 0xC0) and personal and data and not secure:
            data, hidden_response = b"", len(data)
        if len(apdu) >= 5 and apdu[1] == 0xA4 and apdu[2] == 0x04:
            self._aid = apdu[5 : 5 + apdu[4]] if sw == 0x9000 else None
            self._ef = None
        elif len(apdu) >= 7 and apdu[1] == 0xA4 and apdu[2] == 0x02 and apdu[4] == 2:
            self._ef = int.from_bytes(apdu[5:7], "big") if sw == 0x9000 else None
        entry = TraceEntry(command, hidden, data, hidden_response, sw, seconds, error)
        self.entries.append(entry)
        if self._sink is not None:
            self._sink.write(entry.line() + "\n")
            self._sink.flush()

    def reset(self) -> None:
        self._aid = None
        self._ef = None
        self.inner.reset()

    def close(self) -> None:
        self.inner.close()

    def sent(self, ins: int | None = None) -> list[TraceEntry]:
        """Entries, all or those with INS `ins`."""
        return [e for e in self.entries if ins is None or e.ins == ins]
