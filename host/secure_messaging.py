"""The host's half of the 券面事項入力補助AP's secure messaging (card-interface.md §11).

After the card-info PIN has been verified in clear, `SecureSession.open` sends SET SESSION KEY
(a fresh 32-byte seed under RSA-OAEP to the EF 0006 key); from then on SELECT and READ BINARY go
as CLA 08 commands whose data — the EF numbers asked for and the bytes the card answers — cross the
reader only as AES-128-CBC cryptograms. The counter advances with every SM command, accepted or
refused, as the card's does.

What this protects and what it cannot: EF 0006 is signed by nothing on the card (CI §7.1: the
integrity record EF 0003 covers EF 0001/0002 only, EF 0007 the AP's signing key only), so the host
checks its form — an RSA-2048 key in `A1 {90 e, 91 n}` — and that the card can decrypt what was sent
under it (its answers unpad), but cannot check that the key is the card's own. Secure messaging
therefore keeps the My Number and the four facts from anyone *listening* to the reader, not from
an active man in the middle, who could hand out a key of his own. The PIN itself is always sent in
clear (the card opens no session before it, CI §11).

The session never falls back to plain reads: once the card-side session is gone (another AP
selected, a reset, an SM error) every read raises `SecureMessagingEnded`.
"""

from __future__ import annotations

import secrets

from mynacard.codec import secure_messaging as sm
from mynacard.host.apdu import EXTENDED_LE_MAX, Command
from mynacard.host.channel import CardChannel, object_size
from mynacard.host.errors import CardDataError, CardError, SecureMessagingEnded, error_for_sw
from mynacard.host.records import RsaPublicKey
from mynacard.host.sw import SW, describe

INS_SET_SESSION_KEY = 0xAE
INS_SELECT = 0xA4
INS_READ_BINARY = 0xB0
#: The key size CI §7.1 gives for EF 0006.
SM_KEY_BITS = 2048
#: Answers of the SM layer itself (CI §3, §11): after any of them the session is not usable.
SM_ERRORS = frozenset({SW.SM_NOT_SUPPORTED, SW.SM_DATA_OBJECTS_MISSING, SW.SM_DATA_OBJECTS_INCORRECT,
                       SW.SM_SESSION_INVALID})


def check_sm_key(key: RsaPublicKey, where: str) -> None:
    """What the host can check of EF 0006 (see the module docstring): its size and exponent."""
    if key.bits != SM_KEY_BITS:
        raise CardDataError(f"{where} is a {key.bits}-bit RSA key; CI §7.1 says the card holds an "
                            f"RSA-{SM_KEY_BITS} key there, so no session key is sent under it")
    if key.exponent < 3 or key.exponent % 2 == 0:
        raise CardDataError(f"{where} has the public exponent {key.exponent}, which no RSA key has")


class SecureSession:
    """One SM session with an AP of one card; see the module docstring."""

    def __init__(self, channel: CardChannel, aid: bytes, key: bytes) -> None:
        self.channel = channel
        self.aid = aid
        self._key = key
        #: The counter the next SM command carries (CI §11: 1 after SET SESSION KEY).
        self.counter = 1
        self._epoch = channel.epoch
        self._ended = ""

    @classmethod
    def open(cls, channel: CardChannel, aid: bytes, public_key: RsaPublicKey, needs: str) -> SecureSession:
        """SET SESSION KEY in the currently selected AP `aid`; `needs` names the secret it wants."""
        doing = "opening a secure-messaging session (SET SESSION KEY)"
        if not channel.extended:
            raise CardError(f"{doing} needs extended-length APDUs (the session key travels in 256 "
                            f"bytes, CI §1, §11), which {channel.transport.name} does not carry")
        if channel.current_aid != aid:
            raise CardError(f"{doing}: the card-info AP is not the selected one; verify {needs} "
                            f"and open the session without selecting anything in between")
        seed = secrets.token_bytes(sm.SEED_LEN)
        delivery = public_key.to_cryptography().encrypt(sm.key_delivery(seed), sm.OAEP)
        response = channel.send(Command(0x80, INS_SET_SESSION_KEY, 0x00, 0x00, delivery), extended=True)
        if not response.ok:
            raise error_for_sw(response.sw, doing, needs)
        return cls(channel, aid, seed[:sm.BLOCK])

    @property
    def active(self) -> bool:
        """False once the card has certainly lost the session (AP change, reset, SM error)."""
        return not self._ended and self.channel.epoch == self._epoch and self.channel.current_aid == self.aid

    def select_ef(self, fid: int, doing: str) -> None:
        """SELECT EF with its FID encrypted (`08 A4 02 0C 86 …`)."""
        cipher = sm.encrypt(self._key, self.counter, fid.to_bytes(2, "big"))
        self._call(Command(sm.CLA_SM, INS_SELECT, 0x02, 0x0C, sm.cryptogram_object(cipher)), doing, "")

    def read_binary(self, offset: int, length: int, doing: str, needs: str = "") -> bytes:
        """READ BINARY of the current EF, `length` bytes (0: to its end) from `offset`, decrypted."""
        command = Command(sm.CLA_SM, INS_READ_BINARY, offset >> 8, offset & 0xFF,
                          sm.expected_length_object(length), le=EXTENDED_LE_MAX)
        data, counter = self._call(command, doing, needs)
        if not data:
            return b""
        try:
            return sm.decrypt(self._key, counter, sm.cryptogram(data))
        except sm.SmFormatError as exc:
            self._ended = "its answer did not decrypt"
            raise CardDataError(f"{doing}: the card's encrypted answer does not decrypt under the session "
                                f"key ({exc}); the session is closed") from exc

    def read_ef(self, fid: int, doing: str, needs: str = "") -> bytes:
        """The whole EF, filler included: two SM commands."""
        self.select_ef(fid, doing)
        return self.read_binary(0, 0, doing, needs)

    def read_object(self, fid: int, doing: str, needs: str = "") -> bytes:
        """The TLV object an EF holds, sized from its own header (CI §4)."""
        data = self.read_ef(fid, doing, needs)
        size = object_size(data, doing)
        if size > len(data):
            raise CardDataError(f"{doing}: the EF ends after {len(data)} bytes but its header announces {size}")
        return data[:size]

    def _call(self, command: Command, doing: str, needs: str) -> tuple[bytes, int]:
        """Send one SM command; (response data, the counter it used). Never sends in clear."""
        if not self.active:
            reason = self._ended or "another application was selected or the card was reset"
            raise SecureMessagingEnded(f"{doing}: the secure-messaging session has ended ({reason}); "
                                       f"verify the PIN and open a new one", None)
        counter = self.counter
        response = self.channel.send(command)  # short where it fits; READ's Le makes it extended
        self.counter += 1  # the card counts every SM command, refused ones too (CI §11)
        self.channel.current_ef = None  # the card's current EF moved without the plain channel
        if response.sw in SM_ERRORS:
            self._ended = f"the card answered {describe(response.sw)}"
            raise SecureMessagingEnded(f"{doing}: the card refused the secure-messaging command "
                                       f"({describe(response.sw)}); the session is closed", response.sw)
        if not response.ok:
            raise error_for_sw(response.sw, doing, needs)
        return response.data, counter
