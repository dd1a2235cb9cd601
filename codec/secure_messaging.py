"""The byte format of the 券面事項入力補助AP's secure messaging (card-interface.md §11).

Card, host and conformance suite all build and take apart the same objects, so they live here once:

- SET SESSION KEY carries RSA-OAEP(SHA-256) under the EF 0006 key of `A0 22 80 20 <32-byte seed>`;
  the session key is the first 16 seed bytes.
- AES-128-CBC, confidentiality only. The IV of the command with counter N (N = 1 for the first SM
  command of a session) is AES(key, N as 16 big-endian bytes); the response uses the IV of its
  command.
- ISO/IEC 7816-4 padding (`80 00…`), always added.
- Encrypted data travels in `86 L 01 <cipher>` (L in short or long form); READ BINARY names the
  length it wants in `96 03 00 <Le, 2 bytes>` (0 = to the end of the EF).

Everything raises `SmFormatError` (a ValueError) on bytes that break these rules; the card answers
that with 6988, the host with a sentence.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 16
#: Key material SET SESSION KEY delivers; the AES-128 session key is its first BLOCK bytes.
SEED_LEN = 32
#: `A0 22 80 20`: the key-delivery template holding one encryption key of SEED_LEN bytes.
KEY_DELIVERY_HEADER = bytes((0xA0, 2 + SEED_LEN, 0x80, SEED_LEN))

TAG_CRYPTOGRAM = 0x86
TAG_EXPECTED_LENGTH = 0x96
#: Padding-content indicator before a cryptogram: ISO padding.
PADDING_INDICATOR = 0x01

#: RSA-OAEP with SHA-256 and MGF1-SHA-256, no label (CI §11).
OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)

#: CLA of an SM command without and with header authentication (CI §11: only 08 is served).
CLA_SM = 0x08
CLA_SM_AUTHENTICATED = 0x0C


class SmFormatError(ValueError):
    """Bytes that are not what CI §11 says an SM object looks like."""


def key_delivery(seed: bytes) -> bytes:
    """The plaintext SET SESSION KEY encrypts: `A0 22 80 20 <seed>`."""
    if len(seed) != SEED_LEN:
        raise ValueError(f"the session seed is {SEED_LEN} bytes, not {len(seed)}")
    return KEY_DELIVERY_HEADER + seed


def session_key_from_delivery(plain: bytes) -> bytes:
    """The session key inside a decrypted key delivery, or SmFormatError if it is not exactly one."""
    if len(plain) != len(KEY_DELIVERY_HEADER) + SEED_LEN or not plain.startswith(KEY_DELIVERY_HEADER):
        raise SmFormatError("the key delivery is not A0 22 80 20 followed by a 32-byte seed")
    return plain[len(KEY_DELIVERY_HEADER):len(KEY_DELIVERY_HEADER) + BLOCK]


def iv(key: bytes, counter: int) -> bytes:
    """AES(key, counter as 16 big-endian bytes): the IV of the command with this counter."""
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 - one block, CI §11
    return encryptor.update(counter.to_bytes(BLOCK, "big")) + encryptor.finalize()


def pad(data: bytes) -> bytes:
    """ISO/IEC 7816-4 padding: `80`, then `00` up to a whole block; always at least one byte."""
    return data + b"\x80" + b"\x00" * (BLOCK - 1 - len(data) % BLOCK)


def unpad(data: bytes) -> bytes:
    """Undo `pad`; SmFormatError when the last non-zero byte is not `80` (e.g. a wrong counter)."""
    stripped = data.rstrip(b"\x00")
    if not stripped.endswith(b"\x80") or len(data) - len(stripped) >= BLOCK:
        raise SmFormatError("the decrypted data does not end in ISO padding (80 00…)")
    return stripped[:-1]


def encrypt(key: bytes, counter: int, plain: bytes) -> bytes:
    """AES-128-CBC of the padded plaintext under the IV of `counter`."""
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv(key, counter))).encryptor()
    return encryptor.update(pad(plain)) + encryptor.finalize()


def decrypt(key: bytes, counter: int, cipher: bytes) -> bytes:
    """The plaintext of `cipher` under the IV of `counter`, padding removed."""
    if not cipher or len(cipher) % BLOCK:
        raise SmFormatError(f"a cryptogram of {len(cipher)} bytes is not a whole number of AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv(key, counter))).decryptor()
    return unpad(decryptor.update(cipher) + decryptor.finalize())


def _length(value: int) -> bytes:
    if value < 0x80:
        return bytes((value,))
    if value <= 0xFF:
        return bytes((0x81, value))
    return bytes((0x82,)) + value.to_bytes(2, "big")


def cryptogram_object(cipher: bytes) -> bytes:
    """`86 L 01 <cipher>`, L in the shortest form."""
    return bytes((TAG_CRYPTOGRAM,)) + _length(1 + len(cipher)) + bytes((PADDING_INDICATOR,)) + cipher


def expected_length_object(length: int) -> bytes:
    """`96 03 00 <length, 2 bytes>`; 0 asks for everything to the end of the EF."""
    if not 0 <= length <= 0xFFFF:
        raise ValueError(f"an expected length is 0–65535, not {length}")
    return bytes((TAG_EXPECTED_LENGTH, 0x03, 0x00)) + length.to_bytes(2, "big")


def single_object(data: bytes) -> tuple[int, bytes]:
    """(tag, value) of the one data object `data` must be: a one-byte tag, a short or long length."""
    if len(data) < 2:
        raise SmFormatError("the data field is too short to hold a data object")
    tag, first = data[0], data[1]
    if first < 0x80:
        length, start = first, 2
    elif first in (0x81, 0x82) and len(data) >= 2 + (first & 0x0F):
        size = first & 0x0F
        length, start = int.from_bytes(data[2:2 + size], "big"), 2 + size
    else:
        raise SmFormatError("the data object's length field is malformed")
    if start + length != len(data):
        raise SmFormatError("the data field does not hold exactly one data object")
    return tag, data[start:]


def cryptogram(data: bytes) -> bytes:
    """The cipher inside `86 L 01 <cipher>`, which must be all of `data`."""
    tag, value = single_object(data)
    if tag != TAG_CRYPTOGRAM:
        raise SmFormatError(f"expected the data object 86, not {tag:02X}")
    if not value or value[0] != PADDING_INDICATOR:
        raise SmFormatError("the cryptogram's padding-content indicator is not 01")
    return value[1:]


def expected_length(data: bytes) -> int:
    """The length inside `96 03 00 <Le2>`, which must be all of `data`."""
    tag, value = single_object(data)
    if tag != TAG_EXPECTED_LENGTH:
        raise SmFormatError(f"expected the data object 96, not {tag:02X}")
    if len(value) != 3 or value[0] != 0x00:
        raise SmFormatError("the expected-length object is not 96 03 00 <2 bytes>")
    return int.from_bytes(value[1:], "big")
