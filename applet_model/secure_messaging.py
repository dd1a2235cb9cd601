"""Secure messaging of the 券面事項入力補助AP (card-interface.md §11): the declaration an AP table
carries, and the session the card OS keeps in RAM.

The AP declares which key takes SET SESSION KEY, which secret must be verified in clear first, and
which commands it serves under SM with which data object. The session (key and counter) is RAM
state: `CardOS` drops it on reset, power loss and DF change, exactly like the security status.

The counter rules (CI §11, MC's measurements): N starts at 1 after SET SESSION KEY and advances on
every SM command the AP takes, also on those it then refuses (a wrong PIN, a protected EF); an SM
object that does not decrypt to ISO padding — a wrong or replayed counter, a bad object — answers
6988 and destroys the session, after which every SM command answers 69FC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.applet_model.access import Access
from mynacard.applet_model.apdu import CommandAPDU
from mynacard.applet_model.errors import CommandRefused
from mynacard.applet_model.sw import SW
from mynacard.codec import secure_messaging as sm

#: Plain READ BINARY that means "to the end of the EF" (the 96 object's length 0).
WHOLE_EF = 0x10000


@dataclass(frozen=True)
class SecureMessagingDecl:
    """What an AP's table says about its secure messaging."""

    #: The key SET SESSION KEY is decrypted with (its public half is an EF of the AP).
    key: str
    #: Who may open a session (CI §11: the PIN, verified in clear).
    opened_by: Access
    #: INS served under SM → the data object its command carries (86 cryptogram, 96 expected length).
    commands: Mapping[int, int]


class SmSession:
    """One session: the AES key and the counter the next SM command must use."""

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.counter = 1

    @classmethod
    def open(cls, private_key: rsa.RSAPrivateKey, data: bytes) -> SmSession:
        """SET SESSION KEY's data: RSA-OAEP of the key delivery (6700 wrong size, 6A80 not one)."""
        if len(data) != private_key.key_size // 8:
            raise CommandRefused(SW.WRONG_LENGTH)
        try:
            return cls(sm.session_key_from_delivery(private_key.decrypt(data, sm.OAEP)))
        except ValueError as exc:  # OAEP failure or not A0 22 80 20 <seed>
            raise CommandRefused(SW.INCORRECT_DATA) from exc

    def unwrap(self, cmd: CommandAPDU, obj: int) -> tuple[CommandAPDU, int]:
        """The plain command inside an SM command, and the counter it used (already advanced).

        Raises SmFormatError when the data object is wrong (the caller answers 6988).
        """
        counter = self.counter
        self.counter += 1
        if obj == sm.TAG_CRYPTOGRAM:
            plain = sm.decrypt(self.key, counter, sm.cryptogram(cmd.data))
            return CommandAPDU(0x00, cmd.ins, cmd.p1, cmd.p2, plain), counter
        wanted = sm.expected_length(cmd.data)
        return CommandAPDU(0x00, cmd.ins, cmd.p1, cmd.p2, ne=wanted or WHOLE_EF), counter

    def wrap(self, counter: int, data: bytes) -> bytes:
        """Response data under the command's IV: `86 L 01 <cipher>`, or nothing."""
        return sm.cryptogram_object(sm.encrypt(self.key, counter, data)) if data else b""
