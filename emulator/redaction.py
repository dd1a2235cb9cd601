"""Taking the secrets out of APDUs before they are written anywhere (traces, `mynacard apdu` echo).

What is secret (DESIGN.md "Conventions"; CI §2, §7.1, §8):
- the data of VERIFY (00 20: PINs, the signing password, 照合番号A = the My Number, 照合番号B,
  the birth-date key), CHANGE REFERENCE DATA (00 24: old/new PIN) and CHANGE KEY (80 32: new PIN),
  whatever their CLA (secure messaging wraps the same PINs);
- the My Number EF: EF 0001 of the 券面事項入力補助AP (`FF 10 0C` + 12 digits) and EF 0005 of the
  券面事項確認AP (the My Number image);
- the session-key delivery of secure messaging (SET SESSION KEY, 80 AE, CI §11): never printed.

Secure-messaging commands (CLA 08/0C) carry and receive only cryptograms, which are shown as they
are; the FID of an SM SELECT is encrypted, so after one any secret EF may be current.

To know which EF a READ BINARY reads, `SecretTracker` follows SELECT by AID and FID and the SFI
form of READ BINARY the way the card does. Where the AID given is only a prefix (JICSAP partial
selection) it assumes every AP the prefix could name, and a response that looks like the My Number
EF is redacted wherever it comes from: a tracking miss must cost readability, never a secret.
"""

from __future__ import annotations

import re

TEXT_AP = bytes.fromhex("D3921000310001010408")
VISUAL_AP = bytes.fromhex("D3921000310001010402")

#: (AP, EF) whose contents are secret.
SECRET_EFS = {(TEXT_AP, 0x0001), (VISUAL_AP, 0x0005)}

#: INS whose command data carries a secret (80 AE: the secure-messaging session key, CI §11).
SECRET_DATA_INS = {0x20, 0x24, 0x32, 0xAE}

INS_SELECT = 0xA4
INS_READ_BINARY = 0xB0

#: The My Number TLV of text-AP EF 0001, wherever it shows up.
_MY_NUMBER_TLV = re.compile(rb"\x10\x0c[0-9]{12}")


def command_data(apdu: bytes) -> tuple[int, int] | None:
    """(offset, length) of the command data field of a C-APDU, or None if it has none/is malformed."""
    body = apdu[4:]
    if len(body) <= 1:
        return None
    if body[0] != 0:
        lc = body[0]
        if len(body) in (1 + lc, 2 + lc):
            return 5, lc
        return None
    if len(body) == 3:  # case 2 extended
        return None
    lc = int.from_bytes(body[1:3], "big")
    if lc and len(body) in (3 + lc, 5 + lc):
        return 7, lc
    return None


def redact_command(apdu: bytes) -> str:
    """Hex of a C-APDU for a trace, with the data of PIN-bearing commands replaced by a marker."""
    if len(apdu) >= 4 and apdu[1] in SECRET_DATA_INS:
        where = command_data(apdu)
        if where is None:
            if len(apdu) > 5:  # malformed, but it may still carry a PIN: keep the header only
                return f"{apdu[:4].hex().upper()} <{len(apdu) - 4} bytes redacted>"
            return apdu.hex().upper()
        offset, length = where
        head, tail = apdu[:offset], apdu[offset + length :]
        return f"{head.hex().upper()} <{length} bytes redacted> {tail.hex().upper()}".rstrip()
    return apdu.hex().upper()


def looks_like_my_number(data: bytes) -> bool:
    """True if `data` holds the My Number TLV of text-AP EF 0001 (CI §7.1)."""
    return _MY_NUMBER_TLV.search(data) is not None


class SecretTracker:
    """Follows the card's current AP and EF to tell which responses are the My Number EF."""

    def __init__(self) -> None:
        self._aps: set[bytes] = set()
        #: Every EF that may be current: a failed SFI read may or may not have selected its EF.
        self._efs: set[int] = set()

    def power_cycle(self) -> None:
        """Power off/on and reset bring the card back to the MF."""
        self._aps = set()
        self._efs = set()

    def response_is_secret(self, apdu: bytes, response: bytes) -> bool:
        """Note the effect of `apdu` on the card's selection; True if `response` must be redacted."""
        if len(apdu) < 4 or len(response) < 2:
            return False
        ins, p1 = apdu[1], apdu[2]
        secure = bool(apdu[0] & 0x0C)  # CLA 08/0C: the data both ways are cryptograms (CI §11)
        ok = response[-2:] == b"\x90\x00"
        data = response[:-2]
        if ins == INS_SELECT and ok:
            self._note_select(apdu, p1)
        elif ins == INS_READ_BINARY and p1 & 0x80:
            self._efs = {p1 & 0x1F} if ok else self._efs | {p1 & 0x1F}
        secret = (
            ins == INS_READ_BINARY
            and not secure
            and bool(data)
            and any((ap, ef) in SECRET_EFS for ap in self._aps for ef in self._efs)
        )
        return secret or looks_like_my_number(data)

    def _note_select(self, apdu: bytes, p1: int) -> None:
        where = command_data(apdu)
        if where is None:
            return
        offset, length = where
        value = apdu[offset : offset + length]
        if p1 == 0x04:
            self._aps = {ap for ap in (TEXT_AP, VISUAL_AP) if ap.startswith(value)}
            self._efs = set()
        elif p1 == 0x02 and apdu[0] & 0x0C:  # SM SELECT: the FID is a cryptogram
            self._efs = {ef for _ap, ef in SECRET_EFS}
        elif p1 == 0x02 and length == 2:
            self._efs = {int.from_bytes(value, "big")}


def redact_response(response: bytes, secret: bool) -> str:
    """Hex of an R-APDU for a trace: data (or a marker if secret), a space, the status word."""
    if len(response) < 2:
        return response.hex().upper()
    data, sw = response[:-2], response[-2:].hex().upper()
    if secret and data:
        return f"<{len(data)} bytes redacted> {sw}"
    return f"{data.hex().upper()} {sw}" if data else sw
