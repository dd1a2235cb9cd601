"""The one redaction policy for APDU traces (host `--trace`, the emulator's traces and echo).

A trace is only safe if it knows which file each response came from, so `RedactionPolicy` is a
small state machine fed every command/response pair in order. It mirrors the card's selection
the way the card changes it (CI §2, §4), and keeps every possibility where it cannot know:

- SELECT by AID (P1 04) answered 9000 enters the AP named; a partial AID (JICSAP prefix
  selection) may name any known AP it is a prefix of, an AID the policy does not know any AP at
  all; the GlobalPlatform ISD AID returns to the MF. Any other answer changes nothing: the card
  stays in its AP with its EF (so a failed SELECT never hides the My Number EF that is still
  current).
- SELECT by FID (P1 02, two bytes) answered 9000 makes that EF of the current AP current;
  SELECT MF (P1 00) changes nothing (CI §2).
- READ BINARY with P1 bit 8 (SFI in P1) and READ RECORD with an SFI in P2 select the EF as a side
  effect. The card finds the EF before it checks access, structure, offset or record number, so
  it is selected after 9000 and after 6982/6981/6B00/6A83/6282 too; after a refusal that comes
  before the lookup (6700, 6A86, 6A81, CLA errors) or "not found" (6A82) it is not; after any other
  answer it may be either.
- Secure messaging (CLA bits `0C`, CI §11) hides the command body: a SELECT under SM answered
  9000 leaves "any EF" current (and "any AP" for P1 04). A command without an answer (the
  transport failed) may or may not have taken effect; a logical channel other than 0 the same.
- Power on/off and reset return to the MF (`power_cycle`).

What is masked, whatever the CLA (secure messaging wraps the same secrets):
- everything after the header of VERIFY (20), CHANGE REFERENCE DATA (24), CHANGE KEY (32) and SET
  SESSION KEY (AE) — only a length byte that matches the command is kept, never an Le or stray
  bytes, since a malformed command may carry a PIN where Lc should be;
- the data of READ BINARY/RECORD (and GET RESPONSE continuing them) from a protected EF: every EF
  that holds the My Number, the four facts, their digests, or that the card opens only after a
  PIN, password or 照合番号 (`PROTECTED_EFS`, CI §6.1, §7.1, §8) — except the answer to a
  secure-messaging command, a cryptogram under a session key whose delivery (SET SESSION KEY) is
  itself redacted, so it is shown as it is;
- any response holding the My Number TLV `10 0C` + 12 digits, wherever the tracking puts it.
A tracking miss must cost readability, never a secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

JPKI_AID = bytes.fromhex("D392F000260100000001")  #: 公的個人認証AP (CI §5)
TEXT_AID = bytes.fromhex("D3921000310001010408")  #: 券面事項入力補助AP
VISUAL_AID = bytes.fromhex("D3921000310001010402")  #: 券面事項確認AP
COMMON_AID = bytes.fromhex("D3921000310001010100")  #: 共通AP
JUKI_AID = bytes.fromhex("D3921000310001010401")  #: 住基AP
ISD_AID = bytes.fromhex("A0000001510000")  #: GlobalPlatform ISD: back to the MF (CI §2)
KNOWN_AIDS = (JPKI_AID, TEXT_AID, VISUAL_AID, COMMON_AID, JUKI_AID)

#: EFs whose contents never appear in a trace, per AP.
PROTECTED_EFS: dict[bytes, frozenset[int]] = {
    # signing certificate (name, address, birth date, sex in its SAN; signing password), 0009 protected
    JPKI_AID: frozenset({0x0001, 0x0009}),
    # My Number, four facts, integrity record (SHA-256 of the My Number file: brute-forceable),
    # SM key-transport key and AP key record (opened by PIN or 照合番号)
    TEXT_AID: frozenset({0x0001, 0x0002, 0x0003, 0x0006, 0x0007}),
    # age record (birth date), card face (birth, sex, name/address images, photo), My Number image, 0006
    VISUAL_AID: frozenset({0x0001, 0x0002, 0x0005, 0x0006}),
}

#: INS whose command data is a secret: VERIFY, CHANGE REFERENCE DATA, CHANGE KEY, SET SESSION KEY.
SECRET_DATA_INS = frozenset({0x20, 0x24, 0x32, 0xAE})

INS_SELECT = 0xA4
INS_GET_RESPONSE = 0xC0
_READ_BINARY = frozenset({0xB0, 0xB1})
_READ_RECORD = frozenset({0xB2, 0xB3})

#: The selection states the policy distinguishes besides real AIDs and FIDs.
MF = b""  #: no AP selected
ANY_AP = b"*"  #: an AP the policy cannot name
NO_EF = -1
ANY_EF = -2

_MY_NUMBER_TLV = re.compile(rb"\x10\x0c[0-9]{12}")
_SW_OK = 0x9000
#: Answers after which a READ with an SFI has selected its EF / has certainly not (see above).
_SFI_SELECTED = frozenset({0x9000, 0x6282, 0x6981, 0x6982, 0x6A83, 0x6B00})
_SFI_NOT_SELECTED = frozenset({0x6700, 0x6881, 0x6882, 0x6884, 0x6987, 0x6988, 0x69FC, 0x6A81, 0x6A82,
                               0x6A86, 0x6D00, 0x6E00})


def command_data_span(apdu: bytes) -> tuple[int, int] | None:
    """(offset, length) of the data field of a C-APDU that parses as ISO 7816-3 case 3 or 4
    (short or extended), exactly as the card parses it; None when it has none or is malformed."""
    n = len(apdu)
    if n <= 5:
        return None
    if apdu[4]:
        lc = apdu[4]
        return (5, lc) if n in (5 + lc, 6 + lc) else None
    if n < 8:
        return None
    lc = int.from_bytes(apdu[5:7], "big")
    return (7, lc) if lc and n in (7 + lc, 9 + lc) else None


def looks_like_my_number(data: bytes) -> bool:
    """True if `data` holds the My Number TLV of text-AP EF 0001 (CI §7.1) anywhere."""
    return _MY_NUMBER_TLV.search(data) is not None


def is_protected(aid: bytes, fid: int) -> bool:
    """Whether EF `fid` of the AP `aid` (or an unknown AP / EF) may hold protected content."""
    if aid == MF or fid == NO_EF:
        return False
    if aid == ANY_AP:
        return fid == ANY_EF or any(fid in efs for efs in PROTECTED_EFS.values())
    efs = PROTECTED_EFS.get(aid, frozenset())
    return bool(efs) if fid == ANY_EF else fid in efs


@dataclass(frozen=True)
class RedactedCommand:
    """What may be shown of a command: `shown` (all of it, or the header and a matching Lc) and
    how many bytes after it were hidden."""

    shown: bytes
    hidden: int

    @property
    def ins(self) -> int:
        return self.shown[1] if len(self.shown) > 1 else -1

    def text(self) -> str:
        marker = f" <{self.hidden} bytes redacted>" if self.hidden else ""
        return self.shown.hex().upper() + marker


@dataclass(frozen=True)
class RedactedResponse:
    """What may be shown of a response: its data (empty when hidden), the number of data bytes
    hidden, and the status word (None for an answer shorter than two bytes, shown raw)."""

    data: bytes
    hidden: int
    sw: int | None
    raw_short: bytes = b""

    def text(self) -> str:
        if self.sw is None:
            return self.raw_short.hex().upper()
        sw = f"{self.sw:04X}"
        if self.hidden:
            return f"<{self.hidden} bytes redacted> {sw}"
        return f"{self.data.hex().upper()} {sw}" if self.data else sw


@dataclass(frozen=True)
class RedactedExchange:
    command: RedactedCommand
    #: None when the card gave no answer.
    response: RedactedResponse | None

    @property
    def command_text(self) -> str:
        return self.command.text()

    @property
    def response_text(self) -> str:
        return self.response.text() if self.response is not None else "(no response)"


def redact_command(apdu: bytes) -> RedactedCommand:
    """A command with the data of secret-bearing commands taken out (needs no selection state)."""
    if len(apdu) <= 4 or apdu[1] not in SECRET_DATA_INS:
        return RedactedCommand(apdu, 0)
    span = command_data_span(apdu)
    keep = span[0] if span is not None else 4
    return RedactedCommand(apdu[:keep], len(apdu) - keep)


class RedactionPolicy:
    """Feed it every exchange in order; it answers what may be shown of each (module docstring)."""

    def __init__(self) -> None:
        self._aps: frozenset[bytes] = frozenset({MF})
        self._efs: frozenset[int] = frozenset({NO_EF})
        #: The last answer was 61xx to a protected read: GET RESPONSE continues protected data.
        self._continues_protected = False

    @property
    def selection(self) -> tuple[frozenset[bytes], frozenset[int]]:
        """The APs (`MF`, an AID or `ANY_AP`) and EFs (a FID, `NO_EF` or `ANY_EF`) that may be
        current on the card now: the card's real selection is always among them."""
        return self._aps, self._efs

    def power_cycle(self) -> None:
        """Power off/on, warm reset: the card is back at the MF."""
        self._aps, self._efs = frozenset({MF}), frozenset({NO_EF})
        self._continues_protected = False

    def feed(self, command: bytes, response: bytes | None) -> RedactedExchange:
        """Note what `command` did to the card's selection; return what may be shown of both."""
        shown = redact_command(command)
        if response is None:
            self._follow(command, None)
            return RedactedExchange(shown, None)
        sw = int.from_bytes(response[-2:], "big") if len(response) >= 2 else None
        if sw is None:
            return RedactedExchange(shown, RedactedResponse(b"", 0, None, response))
        data = response[:-2]
        secret = self._follow(command, sw) or looks_like_my_number(data)
        if secret and data:
            return RedactedExchange(shown, RedactedResponse(b"", len(data), sw))
        return RedactedExchange(shown, RedactedResponse(data, 0, sw))

    # -- the card's selection --------------------------------------------------------------------

    def _follow(self, command: bytes, sw: int | None) -> bool:
        """Update the selection for `command` answered `sw` (None: no answer); True if the
        response data comes from a protected file."""
        if len(command) < 4:
            return False
        cla, ins, p1, p2 = command[0], command[1], command[2], command[3]
        continues = self._continues_protected
        self._continues_protected = False
        protected = False
        if ins == INS_SELECT:
            effect = _effect(cla, sw)
            if effect is not None:
                self._select(command, cla, p1, replace=effect)
        elif ins in _READ_BINARY or ins in _READ_RECORD:
            sfi = _read_sfi(ins, p1, p2)
            secure = bool(cla & 0x0C)  # the answer is a cryptogram (CI §11)
            read_from = self._efs
            if sfi is not None:
                if sw in _SFI_SELECTED and not cla & 0x43:
                    self._efs = frozenset({sfi})
                elif sw not in _SFI_NOT_SELECTED:
                    self._efs = self._efs | {sfi}
                read_from = self._efs | {sfi}
            elif ins in (0xB1, 0xB3) and (p1 or p2):
                read_from = frozenset({ANY_EF})  # odd INS: P1-P2 may name any EF
            protected = not secure and any(is_protected(ap, ef) for ap in self._aps for ef in read_from)
        elif ins == INS_GET_RESPONSE:
            protected = continues
        if protected and sw is not None and sw >> 8 == 0x61:
            self._continues_protected = True
        return protected

    def _select(self, command: bytes, cla: int, p1: int, *, replace: bool) -> None:
        aps, efs = self._aps, self._efs
        if cla & 0x0C:  # secure messaging: the file named is hidden in the cryptogram
            new_aps, new_efs = (frozenset({ANY_AP}) if p1 == 0x04 else aps), frozenset({ANY_EF})
        else:
            span = command_data_span(command)
            value = command[span[0] : span[0] + span[1]] if span is not None else b""
            if p1 == 0x04 and value:
                new_aps, new_efs = _aps_named(value), frozenset({NO_EF})
            elif p1 == 0x02 and len(value) == 2:
                new_aps, new_efs = aps, frozenset({int.from_bytes(value, "big")})
            elif p1 == 0x00:
                return  # select MF: no effect in an AP, refused at the MF (CI §2)
            else:  # an unusual selection the card accepted: assume the worst
                new_aps, new_efs = aps | {ANY_AP}, frozenset({ANY_EF})
        if replace:
            self._aps, self._efs = new_aps, new_efs
        else:
            self._aps, self._efs = aps | new_aps, efs | new_efs


def _effect(cla: int, sw: int | None) -> bool | None:
    """Whether a selecting command took effect: True certainly (9000 on channel 0), None certainly
    not (an error), False perhaps (no answer, a warning, 61xx, another logical channel)."""
    if sw == _SW_OK and not cla & 0x43:
        return True
    if sw is None or sw == _SW_OK or sw >> 8 in (0x61, 0x62, 0x63):
        return False
    return None


def _aps_named(value: bytes) -> frozenset[bytes]:
    """The APs a SELECT by AID of `value` may have entered: a partial or unknown AID may also
    name an AP this policy does not know."""
    if value == ISD_AID:
        return frozenset({MF})
    if value in KNOWN_AIDS:
        return frozenset({value})
    return frozenset(aid for aid in KNOWN_AIDS if aid.startswith(value)) | {ANY_AP}


def _read_sfi(ins: int, p1: int, p2: int) -> int | None:
    """The short EF identifier a READ BINARY (P1 bit 8) or READ RECORD (P2 bits 8–4) names."""
    if ins == 0xB0 and p1 & 0x80:
        return p1 & 0x1F
    if ins == 0xB2 and p2 >> 3:
        return p2 >> 3
    return None
