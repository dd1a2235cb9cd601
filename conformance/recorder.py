"""The one path from the catalogue to the card: every APDU is timed, classified and kept, redacted.

The recorder follows the card's selection (SELECT by AID, by FID, the SFI forms) the way the card
does, to know what each response holds: the My Number and personal data never reach a report,
secrets in VERIFY/CHANGE data never do either, and only data that is the same on every conforming
card is kept in a form a differential run can compare (`DataKind`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from mynacard.codec.redaction import command_data_span, looks_like_my_number
from mynacard.conformance.apdus import (
    INS_CHANGE_KEY,
    INS_CHANGE_REFERENCE_DATA,
    INS_COMPUTE_SIGNATURE,
    INS_GET_CHALLENGE,
    INS_READ_BINARY,
    INS_READ_RECORD,
    INS_SELECT,
    INS_SET_SESSION_KEY,
    INS_VERIFY,
)
from mynacard.conformance.card_map import APPLICATIONS, ISD_AID, JPKI, TEXT, VISUAL
from mynacard.conformance.model import DataKind, Exchange
from mynacard.host.apdu import Response
from mynacard.host.transport import Transport

#: INS whose command data carries a secret (PINs, passwords, 照合番号, the SM session seed).
SECRET_DATA_INS = frozenset({INS_VERIFY, INS_CHANGE_REFERENCE_DATA, INS_CHANGE_KEY, INS_SET_SESSION_KEY})

#: What each EF holds, by (AID, FID); anything not listed is card data (CI §6.1, §7.1, §8).
EF_KINDS: dict[tuple[bytes, int], DataKind] = {
    (TEXT.aid, 0x0001): DataKind.MY_NUMBER,
    (VISUAL.aid, 0x0005): DataKind.MY_NUMBER,
    (TEXT.aid, 0x0002): DataKind.PERSONAL,
    (TEXT.aid, 0x0003): DataKind.PERSONAL,  # hashes of the My Number file: brute-forceable
    (VISUAL.aid, 0x0001): DataKind.PERSONAL,
    (VISUAL.aid, 0x0002): DataKind.PERSONAL,
    (VISUAL.aid, 0x0006): DataKind.PERSONAL,
    (JPKI.aid, 0x0001): DataKind.PERSONAL,  # the signing certificate names the holder
    (JPKI.aid, 0x0008): DataKind.CONSTANT,
    (TEXT.aid, 0x0008): DataKind.CONSTANT,
}

_SENSITIVITY = (DataKind.MY_NUMBER, DataKind.PERSONAL, DataKind.CARD, DataKind.CONSTANT)


def redact_command(apdu: bytes) -> str:
    """Hex of a C-APDU for a report, with the data of secret-bearing commands replaced by its length."""
    if len(apdu) >= 4 and apdu[1] in SECRET_DATA_INS and len(apdu) > 5:
        span = command_data_span(apdu)
        if span is None:  # malformed, but it may still carry a PIN: keep the header only
            return f"{apdu[:4].hex().upper()} <{len(apdu) - 4} bytes redacted>"
        offset, length = span
        tail = apdu[offset + length :].hex().upper()
        return f"{apdu[:offset].hex().upper()} <{length} bytes redacted> {tail}".rstrip()
    return apdu.hex().upper()


@dataclass
class Selection:
    """What the card has selected, as far as the recorder can tell (a set when ambiguous)."""

    aids: set[bytes] = field(default_factory=set)
    efs: set[int] = field(default_factory=set)

    def clear(self) -> None:
        self.aids = set()
        self.efs = set()


class Recorder:
    """Wraps a Transport; `exchange()` sends one APDU and keeps the redacted record."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.selection = Selection()
        self.log: list[Exchange] = []

    def begin(self) -> list[Exchange]:
        """Start a fresh log (one per case); returns it."""
        self.log = []
        return self.log

    def exchange(self, apdu: bytes, label: str) -> Response:
        started = time.perf_counter()
        raw = self.transport.transmit(apdu)
        elapsed = (time.perf_counter() - started) * 1000
        response = Response.parse(raw)
        kind = self._classify(apdu, response)
        command = redact_command(apdu)
        if not response.data:
            shown = f"{response.sw:04X}"
        elif kind.redacted:
            shown = f"<{kind.value}: {len(response.data)} bytes redacted> {response.sw:04X}"
        else:
            shown = f"{response.data.hex().upper()} {response.sw:04X}"
        comparable = response.data.hex().upper() if kind is DataKind.CONSTANT else None
        self.log.append(Exchange(label, command, shown, response.sw, len(response.data), kind, elapsed, comparable))
        return response

    def reset(self, label: str = "warm reset") -> None:
        """Warm reset through the transport: the card is back at the MF with nothing verified."""
        started = time.perf_counter()
        self.transport.reset()
        self.selection.clear()
        self._note_event("RESET", label, started)

    def note_power_cycle(self, label: str, started: float) -> None:
        """Record a removal/insertion done by a robot (the selection is lost with the power)."""
        self.selection.clear()
        self._note_event("POWER-CYCLE", label, started)

    def _note_event(self, what: str, label: str, started: float) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        self.log.append(Exchange(label, f"({what})", "", 0, 0, DataKind.NONE, elapsed))

    # -- classification ------------------------------------------------------------------------

    def _classify(self, apdu: bytes, response: Response) -> DataKind:
        if len(apdu) < 4:
            return DataKind.NONE
        cla, ins, p1, p2 = apdu[0], apdu[1], apdu[2], apdu[3]
        self._follow(apdu, response, cla, ins, p1, p2)
        if ins in SECRET_DATA_INS and len(apdu) > 5:
            return DataKind.SECRET
        if not response.data:
            return DataKind.NONE
        if looks_like_my_number(response.data):
            return DataKind.MY_NUMBER
        if ins == INS_GET_CHALLENGE or (ins == INS_COMPUTE_SIGNATURE and p1 in (0x04, 0x05)):
            return DataKind.RANDOM
        if ins in (INS_READ_BINARY, INS_READ_RECORD):
            kinds = {EF_KINDS.get((aid, ef), DataKind.CARD) for aid in self.selection.aids for ef in self.selection.efs}
            for kind in _SENSITIVITY:
                if kind in kinds:
                    return kind
            # Nothing known is selected: be as careful as the most sensitive EF could require.
            return DataKind.PERSONAL if not self.selection.aids else DataKind.CARD
        return DataKind.CARD

    def _follow(self, apdu: bytes, response: Response, cla: int, ins: int, p1: int, p2: int) -> None:
        """Mirror the card's selection: only commands the card accepted change it."""
        if cla & 0x0C:
            # Secure messaging: the FID of an SM SELECT is a cryptogram, so any EF may be current.
            if ins == INS_SELECT and p1 == 0x02 and response.ok:
                self.selection.efs = {ef for _aid, ef in EF_KINDS}
            return
        if ins == INS_SELECT and response.ok:
            span = command_data_span(apdu)
            value = apdu[span[0] : span[0] + span[1]] if span else b""
            if p1 == 0x04 and value:
                if ISD_AID.startswith(value):
                    self.selection.clear()
                else:
                    self.selection.aids = {a.aid for a in APPLICATIONS if a.aid.startswith(value)} or {value}
                    self.selection.efs = set()
            elif p1 == 0x02 and len(value) == 2:
                self.selection.efs = {int.from_bytes(value, "big")}
        elif ins == INS_READ_BINARY and p1 & 0x80:
            sfi = p1 & 0x1F
            self.selection.efs = {sfi} if response.ok else self.selection.efs | {sfi}
        elif ins == INS_READ_RECORD and p2 & 0xF8:
            sfi = p2 >> 3
            self.selection.efs = {sfi} if response.ok else self.selection.efs | {sfi}
