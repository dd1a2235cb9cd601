"""The card's RSA signature schemes: COMPUTE DIGITAL SIGNATURE P1 00–05 (CI §6.2).

Where the card's operation is a standard one (a DigestInfo the client already built, SHA-256 with
PKCS#1 v1.5 or PSS) OpenSSL does the work through `cryptography`, which keeps a card signature
within a few percent of a bare `cryptography` signature (bench/bench_card.py). The two schemes
`cryptography` cannot express — PKCS#1 v1.5 type-1 padding over arbitrary bytes (P1 00 with input
that is not a DigestInfo) and over a bare hash (P1 01) — pad here and use the raw RSA private
operation with CRT.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from mynacard.applet_model.errors import CommandRefused
from mynacard.applet_model.sw import SW
from mynacard.codec.digest_info import announced_hash

#: The hashes a DigestInfo may announce (codec's names, RFC 8017 §9.2 note 1) for `cryptography`.
_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha1": hashes.SHA1(),  # noqa: S303 - clients still send SHA-1 DigestInfos (CI §6.2)
    "sha224": hashes.SHA224(),
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}

SCHEMES = range(0x00, 0x06)


def sign(key: rsa.RSAPrivateKey, scheme: int, data: bytes) -> bytes:
    """Sign `data` as COMPUTE DIGITAL SIGNATURE with P1 = `scheme` would; CommandRefused on bad input."""
    k = key.key_size // 8
    if scheme == 0x00:
        if not 1 <= len(data) <= k - 11:
            raise CommandRefused(SW.WRONG_LENGTH, f"signing input of {len(data)} bytes (1..{k - 11})")
        algorithm = _announced_hash(data)
        if algorithm is not None:
            return key.sign(data[-algorithm.digest_size:], padding.PKCS1v15(), Prehashed(algorithm))
        return _raw_pkcs1_type1(key, data)
    if scheme == 0x01:
        return _raw_pkcs1_type1(key, hashlib.sha256(data).digest())
    if scheme == 0x02:
        _require_sha256(data)
        return key.sign(data, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    if scheme == 0x03:
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if scheme == 0x04:
        _require_sha256(data)
        return key.sign(data, _pss(), Prehashed(hashes.SHA256()))
    if scheme == 0x05:
        return key.sign(data, _pss(), hashes.SHA256())
    raise CommandRefused(SW.INCORRECT_P1_P2, f"signature scheme {scheme:02X}")


def _announced_hash(data: bytes) -> hashes.HashAlgorithm | None:
    name = announced_hash(data)
    return None if name is None else _HASHES[name]


def _require_sha256(data: bytes) -> None:
    if len(data) != 32:
        raise CommandRefused(SW.WRONG_LENGTH, f"expected a 32-byte SHA-256 hash, got {len(data)} bytes")


def _pss() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def _raw_pkcs1_type1(key: rsa.RSAPrivateKey, payload: bytes) -> bytes:
    """EMSA-PKCS1-v1_5 block type 1 (00 01 FF… 00 payload), then the RSA private operation."""
    k = key.key_size // 8
    block = b"\x00\x01" + b"\xff" * (k - 3 - len(payload)) + b"\x00" + payload
    numbers = key.private_numbers()
    c = int.from_bytes(block, "big")
    m1 = pow(c, numbers.dmp1, numbers.p)
    m2 = pow(c, numbers.dmq1, numbers.q)
    h = (numbers.iqmp * (m1 - m2)) % numbers.p
    return (m2 + h * numbers.q).to_bytes(k, "big")
