"""The command APDUs of CI §2, built from their parts so that a case names the command it sends.

Encoding is host's (`mynacard.host.apdu.Command`): short unless a field needs extended form or the
case asks for it. Malformed APDUs, which only the conformance suite sends, are written as raw bytes
in the cases themselves, where the reader can see exactly what is wrong with them.
"""

from __future__ import annotations

from mynacard.host.apdu import Command

INS_VERIFY = 0x20
INS_CHANGE_REFERENCE_DATA = 0x24
INS_COMPUTE_SIGNATURE = 0x2A
INS_CHANGE_KEY = 0x32
INS_GET_CHALLENGE = 0x84
INS_INTERNAL_AUTHENTICATE = 0x88
INS_SELECT = 0xA4
INS_READ_BINARY = 0xB0
INS_READ_RECORD = 0xB2
INS_GET_RESPONSE = 0xC0
INS_GET_DATA = 0xCA
INS_SET_SESSION_KEY = 0xAE


def select_aid(aid: bytes, *, cla: int = 0x00, p2: int = 0x0C) -> bytes:
    """`00 A4 04 0C Lc AID` (CI §2: no FCI, every client uses P2=0C)."""
    return Command(cla, INS_SELECT, 0x04, p2, aid).encode()


def select_ef(fid: int, *, cla: int = 0x00) -> bytes:
    """`00 A4 02 0C 02 FID` (CI §2)."""
    return Command(cla, INS_SELECT, 0x02, 0x0C, fid.to_bytes(2, "big")).encode()


def select_mf() -> bytes:
    """`00 A4 00 00` (CI §2): 6A86 after reset; 9000 but no effect with an AP selected."""
    return bytes.fromhex("00A40000")


def read_binary(offset: int = 0, le: int = 256, *, extended: bool = False, cla: int = 0x00) -> bytes:
    """`00 B0 P1 P2 Le` with a 15-bit offset (CI §2); Le 256 is sent as 00."""
    if not 0 <= offset <= 0x7FFF:
        raise ValueError(f"READ BINARY offset {offset:#x} does not fit 15 bits")
    return Command(cla, INS_READ_BINARY, offset >> 8, offset & 0xFF, le=le).encode(extended)


def read_binary_sfi(sfi: int, offset: int = 0, le: int = 256, *, extended: bool = False) -> bytes:
    """`00 B0 80|SFI offset Le` (CI §2): reads and selects EF `SFI` in one command."""
    return Command(0x00, INS_READ_BINARY, 0x80 | sfi, offset, le=le).encode(extended)


def read_record(record: int, p2: int = 0x04, le: int = 256) -> bytes:
    """`00 B2 rr P2 Le` (CI §2): P2=04 the current EF, P2=(SFI<<3)|4 an EF by SFI."""
    return Command(0x00, INS_READ_RECORD, record, p2, le=le).encode()


def verify(p2: int = 0x80, value: bytes | None = None, *, cla: int = 0x00) -> bytes:
    """`00 20 00 P2 [Lc value]`: without a value it is the query of tries left (CI §2)."""
    return Command(cla, INS_VERIFY, 0x00, p2, value or b"").encode()


def change_reference_data(new_value: bytes) -> bytes:
    """`00 24 01 80 Lc new` after a successful VERIFY (CI §2)."""
    return Command(0x00, INS_CHANGE_REFERENCE_DATA, 0x01, 0x80, new_value).encode()


def change_key(new_value: bytes) -> bytes:
    """`80 32 00 80 Lc new` (JICSAP CHANGE KEY) for 共通AP/住基AP `001C` (CI §2)."""
    return Command(0x80, INS_CHANGE_KEY, 0x00, 0x80, new_value).encode()


def change_secret(ins: int, new_value: bytes) -> bytes:
    """The command that changes a secret with INS `ins` (0x24 or 0x32)."""
    return change_reference_data(new_value) if ins == INS_CHANGE_REFERENCE_DATA else change_key(new_value)


def compute_signature(data: bytes, *, p1: int = 0x00, p2: int = 0x80) -> bytes:
    """`80 2A P1 P2 Lc data 00` (CI §2, §6.2); Le 00 = 256 bytes of RSA-2048 signature."""
    return Command(0x80, INS_COMPUTE_SIGNATURE, p1, p2, data, le=256).encode()


def internal_authenticate(challenge: bytes, *, p2: int = 0x99) -> bytes:
    """`00 88 00 99 Lc challenge 00` (CI §2, §9): only 共通AP key 0019 answers."""
    return Command(0x00, INS_INTERNAL_AUTHENTICATE, 0x00, p2, challenge, le=256).encode()


def get_challenge(le: int, *, extended: bool = False) -> bytes:
    """`00 84 00 00 Le` (CI §2): 1–256 bytes; extended Le → 6985."""
    return Command(0x00, INS_GET_CHALLENGE, 0x00, 0x00, le=le).encode(extended)


def get_data(tag: int, le: int = 256, *, extended: bool = False) -> bytes:
    """`00 CA t1 t2 Le` (CI §2, §10)."""
    return Command(0x00, INS_GET_DATA, tag >> 8, tag & 0xFF, le=le).encode(extended)


def get_response(le: int = 256) -> bytes:
    """`00 C0 00 00 Le` (CI §2)."""
    return Command(0x00, INS_GET_RESPONSE, 0x00, 0x00, le=le).encode()


def set_session_key(data: bytes) -> bytes:
    """`80 AE 00 00 Lc data` (CI §2, §11)."""
    return Command(0x80, INS_SET_SESSION_KEY, 0x00, 0x00, data).encode()
