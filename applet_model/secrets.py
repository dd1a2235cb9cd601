"""PINs, passwords and the 照合番号: declared formats, reference data, retry limits.

One object per secret with its own counter (PersoSim's shape). The declaration (`SecretDecl`) is
part of an AP table; the reference data is part of the card image and is kept as a salted PBKDF2
hash so that a card image can be shown, copied or logged without showing its PINs.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

DIGITS = frozenset(b"0123456789")
UPPER_ALNUM = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

#: PBKDF2 rounds: enough that a card image does not show its PINs at a glance, cheap enough that
#: a conformance run with hundreds of VERIFYs stays fast. The image is not a security boundary.
PBKDF2_ROUNDS = 1000
#: The iteration counts a card image may declare (docs/card-image.md). The image is read before a
#: VERIFY compares anything, so a count far beyond the range (10⁹ would stall a VERIFY for minutes
#: after its try is spent) is refused when the reference is read, before any derivation.
PBKDF2_ROUNDS_MIN = 1000
PBKDF2_ROUNDS_MAX = 100_000


@dataclass(frozen=True, slots=True)
class SecretFormat:
    """What a secret may look like: the card refuses a new value outside it (CHANGE …)."""

    description: str
    min_length: int
    max_length: int
    alphabet: frozenset[int]

    def accepts(self, value: bytes) -> bool:
        return self.min_length <= len(value) <= self.max_length and all(b in self.alphabet for b in value)


FOUR_DIGITS = SecretFormat("4 digits", 4, 4, DIGITS)
SIGNING_PASSWORD = SecretFormat("6 to 16 characters from A-Z and 0-9", 6, 16, UPPER_ALNUM)
SIX_DIGITS = SecretFormat("6 digits", 6, 6, DIGITS)
TWELVE_DIGITS = SecretFormat("12 digits", 12, 12, DIGITS)
FOURTEEN_DIGITS = SecretFormat("14 digits", 14, 14, DIGITS)

#: INS that changes a secret: CHANGE REFERENCE DATA (ISO) or CHANGE KEY (JICSAP), CI §2.
CHANGE_REFERENCE_DATA = 0x24
CHANGE_KEY = 0x32


@dataclass(frozen=True, slots=True)
class SecretDecl:
    """A secret as an AP declares it (an EF holding reference data, CI §6.1, §7.1, §8, §9)."""

    fid: int
    name: str
    label: str
    format: SecretFormat
    max_tries: int
    #: INS that may change it (`CHANGE_REFERENCE_DATA`, `CHANGE_KEY`) or None when it cannot be.
    change_ins: int | None = None
    #: Blocked from manufacture on every card examined (text AP `0012`, CI §7.1); needs no
    #: reference data in the image.
    blocked_from_issue: bool = False


@dataclass(frozen=True, slots=True)
class PinReference:
    """Reference data of a secret: salt and PBKDF2-HMAC-SHA256 of the value as sent in VERIFY."""

    salt: bytes
    digest: bytes
    rounds: int = PBKDF2_ROUNDS

    def __post_init__(self) -> None:
        if not PBKDF2_ROUNDS_MIN <= self.rounds <= PBKDF2_ROUNDS_MAX:
            raise ValueError(f"PBKDF2 iteration count {self.rounds} is outside "
                             f"{PBKDF2_ROUNDS_MIN}–{PBKDF2_ROUNDS_MAX}")
        if len(self.salt) < 8 or len(self.digest) != 32:
            raise ValueError("pbkdf2-sha256 reference has an impossible salt or digest length")

    @classmethod
    def create(cls, value: str | bytes) -> PinReference:
        raw = value.encode("ascii") if isinstance(value, str) else value
        salt = os.urandom(16)
        return cls(salt, _derive(raw, salt, PBKDF2_ROUNDS), PBKDF2_ROUNDS)

    def matches(self, candidate: bytes) -> bool:
        return hmac.compare_digest(_derive(candidate, self.salt, self.rounds), self.digest)

    def to_text(self) -> str:
        return f"pbkdf2-sha256${self.rounds}${self.salt.hex()}${self.digest.hex()}"

    @classmethod
    def from_text(cls, text: str) -> PinReference:
        """Parse `to_text` output; ValueError (without the text) when it is not one."""
        parts = text.split("$") if isinstance(text, str) else []
        if len(parts) != 4 or parts[0] != "pbkdf2-sha256":
            raise ValueError("not a pbkdf2-sha256 reference")
        if not parts[1].isascii() or not parts[1].isdigit() or len(parts[1]) > 12:
            raise ValueError(f"PBKDF2 iteration count {parts[1][:20]!r} is not a number in "
                             f"{PBKDF2_ROUNDS_MIN}–{PBKDF2_ROUNDS_MAX}")
        try:
            salt, digest = bytes.fromhex(parts[2]), bytes.fromhex(parts[3])
        except ValueError:
            raise ValueError("pbkdf2-sha256 reference has a salt or digest that is not hex") from None
        return cls(salt, digest, int(parts[1]))

    def __repr__(self) -> str:  # never show reference data in a traceback or a log line
        return "PinReference(…)"


def _derive(value: bytes, salt: bytes, rounds: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", value, salt, rounds)
