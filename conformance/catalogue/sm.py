"""SM: secure messaging of the 券面事項入力補助AP — optional (CI §11: no open-source reader needs it),
so these cases apply only when the vendor claims the SM profile (`--claim SM`).

What CI §11 establishes, and all these cases rely on: after the PIN is verified in clear,
`80 AE 00 00` carries RSA-OAEP(SHA-256) under the EF 0006 key of `A0 22 80 20 <32-byte seed>`; the
session key is the first 16 seed bytes; AES-128-CBC with IV = AES(key, N as a 16-byte big-endian
counter), N = 1 for the first SM command; command data in `86 L 01 <cipher>`, ISO padding; CLA 08
(CLA 0C → 6987); a bad SM object answers 6988 and ends the session (then 69FC). The format of SM
*responses* is not published, so the cases judge SM commands by their status words only.
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from mynacard.conformance import apdus
from mynacard.conformance.card_map import TEXT_PIN
from mynacard.conformance.catalogue.registry import case
from mynacard.conformance.checks import DataError, parse_single, rsa_from_90_91
from mynacard.conformance.context import CaseContext
from mynacard.conformance.model import Profile, Secret

P = [Profile.TEXT, Profile.SM, Profile.EXTENDED_LENGTH]


class Session:
    """The host half of a CI §11 session: key, counter, and the command data object."""

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.counter = 1

    def _iv(self) -> bytes:
        encryptor = Cipher(algorithms.AES(self.key), modes.ECB()).encryptor()  # noqa: S305 - CI §11's IV rule
        return encryptor.update(self.counter.to_bytes(16, "big")) + encryptor.finalize()

    def wrap(self, plain: bytes) -> bytes:
        """`86 L 01 <AES-CBC(ISO-padded plain)>` for the next command; advances the counter."""
        padded = plain + b"\x80" + b"\x00" * (15 - len(plain) % 16)
        encryptor = Cipher(algorithms.AES(self.key), modes.CBC(self._iv())).encryptor()
        cipher = encryptor.update(padded) + encryptor.finalize()
        self.counter += 1
        return bytes((0x86, len(cipher) + 1, 0x01)) + cipher

    def unpadded(self) -> bytes:
        """A `86` object whose plaintext (16 zero bytes) has no ISO padding: the card must answer 6988."""
        encryptor = Cipher(algorithms.AES(self.key), modes.CBC(self._iv())).encryptor()
        cipher = encryptor.update(bytes(16)) + encryptor.finalize()
        self.counter += 1
        return bytes((0x86, len(cipher) + 1, 0x01)) + cipher


def sm_select_ef(cla: int, data_object: bytes) -> bytes:
    return bytes((cla, 0xA4, 0x02, 0x0C, len(data_object))) + data_object


def open_session(t: CaseContext) -> Session:
    """VERIFY the PIN in clear, read the key-transport key (EF 0006), SET SESSION KEY."""
    t.verify(TEXT_PIN)
    try:
        key = rsa_from_90_91(parse_single(t.read_object(0x0006, "EF 0006"), 0xA1, "EF 0006").value, "EF 0006")
    except DataError as exc:
        t.fail(str(exc))
    seed = os.urandom(32)
    oaep = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
    wrapped = key.encrypt(b"\xA0\x22\x80\x20" + seed, oaep)
    t.expect(apdus.set_session_key(wrapped), "SET SESSION KEY (RSA-OAEP seed under EF 0006, extended Lc)")
    return Session(seed[:16])


@case("SM-SESS-001", "After the PIN, SET SESSION KEY opens a session and an SM SELECT (CLA 08, DO 86) is accepted",
      refs=["§11/session", "§2/SET-SESSION-KEY", "§1/extended"], profiles=P, needs=[Secret.TEXT_PIN])
def session(t: CaseContext) -> None:
    """
    1. SELECT the 券面事項入力補助AP, VERIFY the PIN → 9000. Read EF 0006 (A1 {90 91}).
    2. `80 AE 00 00 00 01 00 <RSA-OAEP-SHA256(A0 22 80 20 <seed>)>` → 9000.
    3. `08 A4 02 0C 13 86 11 01 <AES-128-CBC of 00 05 80 00…>` with key = seed[0:16],
       IV = AES(key, 00…01) → 9000 (EF 0005 selected under SM).
    """
    sm = open_session(t)
    t.expect(sm_select_ef(0x08, sm.wrap(b"\x00\x05")), "SM SELECT EF 0005 (CLA 08)")


@case("SM-SESS-002", "In a session, CLA 0C (SM with MAC) is refused with 6987",
      refs=["§11/CLA-0C", "§3/6987"], profiles=P, needs=[Secret.TEXT_PIN])
def cla_0c(t: CaseContext) -> None:
    """
    1. Open a session as SM-SESS-001 steps 1–2.
    2. `0C A4 02 0C 13 86 11 01 <cipher>` → 6987 (the session provides confidentiality only).
    """
    sm = open_session(t)
    t.expect(sm_select_ef(0x0C, sm.wrap(b"\x00\x05")), "SM SELECT with CLA 0C", 0x6987)


@case("SM-SESS-003", "A bad SM object answers 6988 and ends the session: the next SM command answers 69FC",
      refs=["§11/6988", "§3/6988", "§3/69FC"], profiles=P, needs=[Secret.TEXT_PIN])
def bad_object(t: CaseContext) -> None:
    """
    1. Open a session as SM-SESS-001 steps 1–2.
    2. `08 A4 02 0C 13 86 11 01 <cipher of 16 zero bytes>` (no ISO padding once decrypted) → 6988.
    3. A well-formed SM SELECT with the next counter → 69FC: the session is gone.
    """
    sm = open_session(t)
    t.expect(sm_select_ef(0x08, sm.unpadded()), "SM SELECT with a bad DO 86", 0x6988)
    t.expect(sm_select_ef(0x08, sm.wrap(b"\x00\x05")), "SM SELECT after the session ended", 0x69FC)
