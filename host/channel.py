"""The APDU layer every AP shares: SELECT, header-sized READ BINARY, READ RECORD, the VERIFY
query, counting.

It remembers which AP and EF are selected so that it never re-selects needlessly: on some cards
re-selecting an AP clears its verified PINs (CI §4, §12 `reselect`), and every extra APDU costs time
on a contactless link. After a
transport error or a reset it forgets, and the next operation selects again.
"""

from __future__ import annotations

from collections import Counter

from mynacard.codec import tlv
from mynacard.host.apdu import EXTENDED_LE_MAX, SHORT_LE_MAX, Command, Response
from mynacard.host.errors import (
    CardDataError,
    CardRemoved,
    NoCard,
    PcscUnavailable,
    TransportError,
    error_for_sw,
)
from mynacard.host.sw import SW
from mynacard.host.transport import Transport

#: READ BINARY offsets are 15 bits (CI §2).
MAX_OFFSET = 0x7FFF

INS_NAMES = {
    0xA4: "SELECT", 0xB0: "READ BINARY", 0xB2: "READ RECORD", 0x20: "VERIFY",
    0x24: "CHANGE REFERENCE DATA", 0x32: "CHANGE KEY", 0x2A: "COMPUTE DIGITAL SIGNATURE",
    0xC0: "GET RESPONSE", 0x84: "GET CHALLENGE", 0xCA: "GET DATA", 0x88: "INTERNAL AUTHENTICATE",
    0xAE: "SET SESSION KEY",
}


def object_size(head: bytes, doing: str) -> int:
    """The size of the TLV object at the start of an EF's bytes, from its header (CI §4)."""
    if not head or all(b == 0xFF for b in head[: tlv.MAX_HEADER]):
        raise CardDataError(f"{doing}: the EF is empty (only filler), so the card holds no such object")
    try:
        return tlv.total_size(head[: tlv.MAX_HEADER])
    except tlv.TlvError as exc:
        raise CardDataError(f"{doing}: the EF does not start with a TLV header ({exc})") from exc


class _ExtendedRefused(Exception):
    """The reader or card refused an extended APDU: fall back to short ones."""


class CardChannel:
    """One card session's APDU exchange: what the AP classes share (see the module docstring)."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        #: APDUs sent, by INS byte (GET RESPONSE included): what a benchmark compares.
        self.counts: Counter[int] = Counter()
        self.current_aid: bytes | None = None
        self.current_ef: int | None = None
        self.extended = bool(transport.extended_length)
        #: Advances whenever the card's selection and security status are no longer known (an AP
        #: SELECT, a reset, an error): what a secure-messaging session checks it still lives in.
        self.epoch = 0

    # --- raw exchange -----------------------------------------------------------------------------

    @property
    def apdu_count(self) -> int:
        return sum(self.counts.values())

    def count_summary(self) -> dict[str, int]:
        return {INS_NAMES.get(ins, f"INS {ins:02X}"): n for ins, n in sorted(self.counts.items())}

    def forget(self) -> None:
        """The card's state is unknown (reset, removal, error): select again before the next use."""
        self.current_aid = None
        self.current_ef = None
        self.epoch += 1

    def send(self, command: Command, *, extended: bool = False) -> Response:
        """One command; 61xx (GET RESPONSE) and 6Cxx (wrong Le) handled as ISO 7816-4 says."""
        response = self._exchange(command.encode(extended), command.ins)
        if response.sw1 == 0x6C and command.le is not None:
            retry = Command(command.cla, command.ins, command.p1, command.p2, command.data,
                            response.sw2 or SHORT_LE_MAX)
            response = self._exchange(retry.encode(), command.ins)
        data = response.data
        while response.sw1 == 0x61:
            get_response = Command(0x00, 0xC0, 0x00, 0x00, le=response.sw2 or SHORT_LE_MAX)
            response = self._exchange(get_response.encode(), 0xC0)
            data += response.data
        return Response(data, response.sw)

    def _exchange(self, apdu: bytes, ins: int) -> Response:
        self.counts[ins] += 1
        try:
            raw = self.transport.transmit(apdu)
        except TransportError:
            self.forget()
            raise
        except ConnectionError as exc:
            # The contract's way for any transport (the emulator's included) to say the card
            # went away mid-command.
            self.forget()
            raise CardRemoved(f"the card in {self.transport.name} went away during a command "
                              f"({exc}); put it back and start again (anything verified before "
                              f"is forgotten)") from exc
        try:
            return Response.parse(raw)
        except ValueError as exc:
            self.forget()
            raise CardDataError(f"the card sent a malformed response ({exc})") from exc

    def reset(self) -> None:
        self.transport.reset()
        self.forget()

    # --- selection --------------------------------------------------------------------------------

    def select_ap(self, aid: bytes, doing: str) -> None:
        """SELECT by AID (`00 A4 04 0C`), always sent: it also clears the AP's verified PINs."""
        self.forget()
        response = self.send(Command(0x00, 0xA4, 0x04, 0x0C, aid))
        if not response.ok:
            raise error_for_sw(response.sw, doing)
        self.current_aid = aid

    def try_select_ap(self, aid: bytes) -> bool:
        """SELECT by AID; False when the card does not have it (for detection and `status`)."""
        self.forget()
        response = self.send(Command(0x00, 0xA4, 0x04, 0x0C, aid))
        if response.ok:
            self.current_aid = aid
        return response.ok

    def ensure_ap(self, aid: bytes, doing: str) -> None:
        if self.current_aid != aid:
            self.select_ap(aid, doing)

    def sign_with_ap_key(self, aid: bytes, digest_info: bytes, doing: str) -> bytes:
        """`80 2A 00 00`: the AP's own key signs a DigestInfo with no credential — the card-presence
        challenge of both 券面 APs (CI §7.1, §8.1)."""
        self.ensure_ap(aid, doing)
        response = self.send(Command(0x80, 0x2A, 0x00, 0x00, digest_info, le=SHORT_LE_MAX))
        if not response.ok:
            raise error_for_sw(response.sw, doing)
        return response.data

    def select_ef(self, fid: int, doing: str) -> None:
        """SELECT EF by FID (`00 A4 02 0C`) unless it is already the current EF."""
        if self.current_ef == fid:
            return
        response = self.send(Command(0x00, 0xA4, 0x02, 0x0C, fid.to_bytes(2, "big")))
        if not response.ok:
            self.current_ef = None
            raise error_for_sw(response.sw, doing)
        self.current_ef = fid

    # --- reading ----------------------------------------------------------------------------------

    def read_binary(self, offset: int, le: int, doing: str, needs: str = "") -> bytes:
        """One READ BINARY of the current EF; at EOF the card returns fewer bytes (CI §2)."""
        if not 0 <= offset <= MAX_OFFSET:
            raise CardDataError(f"{doing}: offset {offset} is beyond what READ BINARY can address")
        extended = le > SHORT_LE_MAX
        command = Command(0x00, 0xB0, offset >> 8, offset & 0xFF, le=le)
        try:
            response = self.send(command, extended=extended)
        except (CardRemoved, NoCard, PcscUnavailable):
            raise
        except TransportError as exc:
            if extended:
                raise _ExtendedRefused() from exc
            raise
        if extended and response.sw == SW.WRONG_LENGTH:
            raise _ExtendedRefused()
        if not response.ok:
            raise error_for_sw(response.sw, doing, needs)
        return response.data

    def read_object(self, aid: bytes, fid: int, doing: str, needs: str = "") -> bytes:
        """The TLV/DER object stored in an EF, sized from its own header (CI §4).

        The first READ asks for as much as one APDU can carry (256 bytes, or the whole EF with
        extended Le), the header inside it tells the size, and the rest follows in as few
        READs as the size allows: for an object of n bytes this is ⌈n/256⌉ short READs, or one
        extended READ, which is the minimum.
        """
        try:
            return self._read_object(aid, fid, doing, needs, self.extended)
        except _ExtendedRefused:
            self.extended = False
            self.forget()
            return self._read_object(aid, fid, doing, needs, False)

    def _read_object(self, aid: bytes, fid: int, doing: str, needs: str, extended: bool) -> bytes:
        self.ensure_ap(aid, doing)
        self.select_ef(fid, doing)
        chunk_max = EXTENDED_LE_MAX if extended else SHORT_LE_MAX
        data = self.read_binary(0, chunk_max, doing, needs)
        size = object_size(data, doing)
        data = data[:size]
        while len(data) < size:
            if not extended and len(data) > MAX_OFFSET:
                raise CardDataError(f"{doing}: the object ({size} bytes) is larger than short "
                                    f"READ BINARY can address")
            chunk = self.read_binary(len(data), min(size - len(data), chunk_max), doing, needs)
            if not chunk:
                raise CardDataError(f"{doing}: the EF ends after {len(data)} bytes but its header "
                                    f"announces {size}")
            data += chunk
        return data

    def read_fixed(self, aid: bytes, fid: int, size: int, doing: str, needs: str = "") -> bytes:
        """An EF of known size that holds no length header (token info, EF 0008)."""
        self.ensure_ap(aid, doing)
        self.select_ef(fid, doing)
        data = b""
        while len(data) < size:
            chunk = self.read_binary(len(data), min(size - len(data), SHORT_LE_MAX), doing, needs)
            if not chunk:
                raise CardDataError(f"{doing}: the EF holds {len(data)} bytes, not {size}")
            data += chunk
        return data

    def read_record(self, aid: bytes, fid: int, record: int, doing: str, needs: str = "") -> bytes:
        """READ RECORD `00 B2 rr 04 00` of the record EF `fid` (CI §2, §9)."""
        self.ensure_ap(aid, doing)
        self.select_ef(fid, doing)
        response = self.send(Command(0x00, 0xB2, record, 0x04, le=SHORT_LE_MAX))
        if not response.ok:
            raise error_for_sw(response.sw, doing, needs)
        return response.data
