"""SM: secure messaging of the 券面事項入力補助AP — optional (CI §11: no open-source reader needs it),
so these cases apply only when the vendor claims the SM profile (`--claim SM`; the emulator models
it, so `--emulator` claims it).

What CI §11 establishes, and all these cases rely on: after the PIN is verified in clear,
`80 AE 00 00` carries RSA-OAEP(SHA-256) under the EF 0006 key of `A0 22 80 20 <32-byte seed>`; the
session key is the first 16 seed bytes; AES-128-CBC with IV = AES(key, N as a 16-byte big-endian
counter), N = 1 for the first SM command and advancing on every SM command, refused ones too;
command data in `86 L 01 <cipher>` (SELECT, VERIFY), READ BINARY's length in `96 03 00 <Le2>`; ISO
padding; CLA 08 (CLA 0C → 6987); a bad SM object answers 6988 and ends the session (then 69FC); the
session goes with the security status when another DF is selected. The answer of an SM READ is the
same `86 L 01 <cipher>` object under the command's IV (MC sm.rs, the source of CI §11).
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from mynacard.codec import secure_messaging as sm
from mynacard.conformance import apdus
from mynacard.conformance.card_map import JPKI, TEXT_PIN
from mynacard.conformance.catalogue.registry import case
from mynacard.conformance.checks import DataError, parse_single, rsa_from_90_91
from mynacard.conformance.context import CaseContext
from mynacard.conformance.model import Profile, Secret
from mynacard.host.apdu import Command

P = [Profile.TEXT, Profile.SM, Profile.EXTENDED_LENGTH]
#: Sessions SM-SESS-004 tries before it gives up on seeing 6988 (each misses with p ≈ 1/256).
REPLAY_ATTEMPTS = 3


class Session:
    """The host half of a CI §11 session: the key and the counter the next command must carry."""

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.counter = 1

    def wrap(self, plain: bytes) -> bytes:
        """`86 L 01 <AES-CBC(ISO-padded plain)>` for the next command; advances the counter."""
        cipher = sm.encrypt(self.key, self.counter, plain)
        self.counter += 1
        return sm.cryptogram_object(cipher)

    def unpadded(self) -> bytes:
        """A `86` object whose plaintext (16 zero bytes) has no ISO padding: the card must answer 6988."""
        encryptor = Cipher(algorithms.AES(self.key), modes.CBC(sm.iv(self.key, self.counter))).encryptor()
        cipher = encryptor.update(bytes(sm.BLOCK)) + encryptor.finalize()
        self.counter += 1
        return sm.cryptogram_object(cipher)

    def read(self, t: CaseContext, label: str, clear: bytes) -> bytes:
        """SM READ BINARY of the whole current EF (`96 03 00 00 00`, extended Le); the plaintext.
        Fails if the answer as sent contains `clear` (what a plain read gave)."""
        counter = self.counter
        self.counter += 1
        command = Command(sm.CLA_SM, apdus.INS_READ_BINARY, 0x00, 0x00, sm.expected_length_object(0), le=65536)
        response = t.expect(command.encode(extended=True), label)
        t.check(clear not in response.data, f"{label}: the answer carries the EF's bytes in clear")
        try:
            return sm.decrypt(self.key, counter, sm.cryptogram(response.data))
        except sm.SmFormatError as exc:
            t.fail(f"{label}: the answer is not 86 L 01 <cipher> under the command's IV ({exc})")


def sm_select_ef(cla: int, data_object: bytes) -> bytes:
    return bytes((cla, 0xA4, 0x02, 0x0C, len(data_object))) + data_object


def open_session(t: CaseContext) -> Session:
    """VERIFY the PIN in clear, read the key-transport key (EF 0006), SET SESSION KEY."""
    t.verify(TEXT_PIN)
    try:
        key = rsa_from_90_91(parse_single(t.read_object(0x0006, "EF 0006"), 0xA1, "EF 0006").value, "EF 0006")
    except DataError as exc:
        t.fail(str(exc))
    seed = os.urandom(sm.SEED_LEN)
    wrapped = key.encrypt(sm.key_delivery(seed), sm.OAEP)
    t.expect(apdus.set_session_key(wrapped), "SET SESSION KEY (RSA-OAEP seed under EF 0006, extended Lc)")
    return Session(seed[:sm.BLOCK])


@case("SM-SESS-001", "After the PIN, SET SESSION KEY opens a session and an SM SELECT (CLA 08, DO 86) is accepted",
      refs=["§11/session", "§2/SET-SESSION-KEY", "§1/extended"], profiles=P, needs=[Secret.TEXT_PIN])
def session(t: CaseContext) -> None:
    """
    1. SELECT the 券面事項入力補助AP, VERIFY the PIN → 9000. Read EF 0006 (A1 {90 91}).
    2. `80 AE 00 00 00 01 00 <RSA-OAEP-SHA256(A0 22 80 20 <seed>)>` → 9000.
    3. `08 A4 02 0C 13 86 11 01 <AES-128-CBC of 00 05 80 00…>` with key = seed[0:16],
       IV = AES(key, 00…01) → 9000 (EF 0005 selected under SM).
    """
    sm_session = open_session(t)
    t.expect(sm_select_ef(0x08, sm_session.wrap(b"\x00\x05")), "SM SELECT EF 0005 (CLA 08)")


@case("SM-SESS-002", "In a session, CLA 0C (SM with MAC) is refused with 6987",
      refs=["§11/CLA-0C", "§3/6987"], profiles=P, needs=[Secret.TEXT_PIN])
def cla_0c(t: CaseContext) -> None:
    """
    1. Open a session as SM-SESS-001 steps 1–2.
    2. `0C A4 02 0C 13 86 11 01 <cipher>` → 6987 (the session provides confidentiality only).
    """
    sm_session = open_session(t)
    t.expect(sm_select_ef(0x0C, sm_session.wrap(b"\x00\x05")), "SM SELECT with CLA 0C", 0x6987)


@case("SM-SESS-003", "A bad SM object answers 6988 and ends the session: the next SM command answers 69FC",
      refs=["§11/6988", "§3/6988", "§3/69FC"], profiles=P, needs=[Secret.TEXT_PIN])
def bad_object(t: CaseContext) -> None:
    """
    1. Open a session as SM-SESS-001 steps 1–2.
    2. `08 A4 02 0C 13 86 11 01 <cipher of 16 zero bytes>` (no ISO padding once decrypted) → 6988.
    3. A well-formed SM SELECT with the next counter → 69FC: the session is gone.
    """
    sm_session = open_session(t)
    t.expect(sm_select_ef(0x08, sm_session.unpadded()), "SM SELECT with a bad DO 86", 0x6988)
    t.expect(sm_select_ef(0x08, sm_session.wrap(b"\x00\x05")), "SM SELECT after the session ended", 0x69FC)


@case("SM-SESS-004", "A replayed SM command (an old counter) answers 6988 and ends the session",
      refs=["§11/counter", "§11/6988", "§3/6988", "§3/69FC"], profiles=P, needs=[Secret.TEXT_PIN])
def replayed_counter(t: CaseContext) -> None:
    """
    1. Open a session as SM-SESS-001 steps 1–2.
    2. SM SELECT EF 0005 with N = 1 → 9000.
    3. The same bytes again (N = 1 where the card expects 2: a replay) → 6988. (Without a MAC,
       about 1 replay in 256 decrypts to valid ISO padding by chance and gets another refusal; then
       steps 1–3 are repeated in a new session, up to 3 times. 9000 fails at once.)
    4. A well-formed SM SELECT with N = 3 → 69FC: the session is gone.
    """
    for _ in range(REPLAY_ATTEMPTS):
        sm_session = open_session(t)
        command = sm_select_ef(0x08, sm_session.wrap(b"\x00\x05"))
        t.expect(command, "SM SELECT EF 0005 (N = 1)")
        replay = t.send(command, "the same SM SELECT replayed (N = 1 again)")
        if replay.sw == 0x6988:
            break
        t.check(replay.sw != 0x9000, "the card accepted a replayed SM command")
        # Without a MAC the card only sees the padding: about 1 replay in 256 decrypts, under the
        # next counter's IV, to something ISO-padded by chance and is refused as a plain command.
        t.note(f"the replay decrypted to valid padding by chance and was refused with {replay.sw:04X}; "
               "a new session is opened")
    else:
        t.fail(f"{REPLAY_ATTEMPTS} replays in fresh sessions were never refused with 6988")
    t.expect(sm_select_ef(0x08, sm_session.wrap(b"\x00\x05")), "SM SELECT after the replay", 0x69FC)


@case("SM-SESS-005", "SM READ BINARY answers the My Number and the four facts as cryptograms of the plain EFs",
      refs=["§11/session", "§11/read", "§7.1/0001", "§7.1/0002"], profiles=P, needs=[Secret.TEXT_PIN])
def encrypted_read(t: CaseContext) -> None:
    """
    1. Open a session as SM-SESS-001 steps 1–2; read EF 0001 (17 bytes) and EF 0002 in clear.
    2. SM SELECT EF 0001, `08 B0 00 00 00 00 05 96 03 00 00 00 00 00` → 9000 with `86 L 01 <cipher>`;
       decrypted under IV(N of the READ) and unpadded it is the 17 bytes of step 1, which do not
       appear in the answer as sent.
    3. The same for EF 0002: its TLV object (FF 20 …) is the one read in clear.
    """
    sm_session = open_session(t)
    t.select_ef(0x0001)
    my_number = t.expect(apdus.read_binary(0, 17), "READ BINARY EF 0001 in clear").data
    four_facts = t.read_object(0x0002, "EF 0002 in clear")
    t.expect(sm_select_ef(0x08, sm_session.wrap(b"\x00\x01")), "SM SELECT EF 0001")
    decrypted = sm_session.read(t, "SM READ BINARY EF 0001", my_number[3:15])
    t.check(decrypted[:17] == my_number, "the SM READ of EF 0001 does not decrypt to the EF's bytes")
    t.expect(sm_select_ef(0x08, sm_session.wrap(b"\x00\x02")), "SM SELECT EF 0002")
    decrypted = sm_session.read(t, "SM READ BINARY EF 0002", four_facts[:32])
    t.check(decrypted[:len(four_facts)] == four_facts, "the SM READ of EF 0002 does not decrypt to its object")


@case("SM-SESS-006", "The counter advances on an SM command the AP refuses",
      refs=["§11/counter"], profiles=P, needs=[Secret.TEXT_PIN])
def counter_on_refusal(t: CaseContext) -> None:
    """
    1. Open a session as SM-SESS-001 steps 1–2.
    2. SM SELECT of EF 0009, which the AP does not have (N = 1) → 6A82.
    3. SM SELECT EF 0005 with N = 2 → 9000 (with N = 1 again it would not decrypt: SM-SESS-004).
    """
    sm_session = open_session(t)
    t.expect(sm_select_ef(0x08, sm_session.wrap(b"\x00\x09")), "SM SELECT of an absent EF (N = 1)", 0x6A82)
    t.expect(sm_select_ef(0x08, sm_session.wrap(b"\x00\x05")), "SM SELECT EF 0005 (N = 2)")


@case("SM-SESS-007", "The session ends with a DF change: after another AP and back, SM answers 69FC",
      refs=["§11/session", "§4/status-cleared-select", "§3/69FC"], profiles=P, needs=[Secret.TEXT_PIN])
def ends_with_df_change(t: CaseContext) -> None:
    """
    1. Open a session as SM-SESS-001 steps 1–2; SM SELECT EF 0005 (N = 1) → 9000.
    2. SELECT the JPKI AP, SELECT the 券面事項入力補助AP, VERIFY the PIN → 9000.
    3. SM SELECT EF 0005 with N = 2 under the old key → 69FC (the session went with the DF).
    """
    sm_session = open_session(t)
    t.expect(sm_select_ef(0x08, sm_session.wrap(b"\x00\x05")), "SM SELECT EF 0005 (N = 1)")
    t.select(JPKI)
    t.verify(TEXT_PIN)
    t.expect(sm_select_ef(0x08, sm_session.wrap(b"\x00\x05")), "SM SELECT after a DF change", 0x69FC)
