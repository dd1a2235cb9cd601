"""DER DigestInfo (RFC 8017 §9.2 note 1): what COMPUTE DIGITAL SIGNATURE `80 2A 00 80` signs
(CI §6.2), what the 券面 APs' challenge answers carry (`80 2A 00 00`, CI §7.1, §8), and the card
face's DF28 payload with three SHA-256 digests in one DigestInfo (`30 71 … 04 60`, CI §8.1).
"""

from __future__ import annotations

import hashlib

from mynacard.codec.errors import CodecError

#: The DER prefix before the digest, by hashlib name, for the digests clients use (CI §6.2).
PREFIXES: dict[str, bytes] = {
    "sha1": bytes.fromhex("3021300906052b0e03021a05000414"),
    "sha224": bytes.fromhex("302d300d06096086480165030402040500041c"),
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}
HASH_NAMES = tuple(PREFIXES)

#: The SHA-256 AlgorithmIdentifier (`30 0D 06 09 <2.16.840.1.101.3.4.2.1> 05 00`).
SHA256_ALGORITHM = bytes.fromhex("300d06096086480165030402010500")


def digest_size(hash_name: str) -> int:
    return hashlib.new(hash_name).digest_size


def digest_info(hash_name: str, digest: bytes) -> bytes:
    """DER DigestInfo around `digest`, refusing an unknown hash or a digest of the wrong length."""
    try:
        prefix = PREFIXES[hash_name]
    except KeyError:
        raise CodecError(f"hash '{hash_name}' is not one of {', '.join(HASH_NAMES)}") from None
    expected = digest_size(hash_name)
    if len(digest) != expected:
        raise CodecError(f"a {hash_name} digest has {expected} bytes, not {len(digest)}")
    return prefix + digest


def of_message(hash_name: str, message: bytes) -> bytes:
    """DigestInfo of the `hash_name` digest of `message`."""
    if hash_name not in PREFIXES:
        raise CodecError(f"hash '{hash_name}' is not one of {', '.join(HASH_NAMES)}")
    return digest_info(hash_name, hashlib.new(hash_name, message).digest())


def sha256_digest_info(digest: bytes) -> bytes:
    """A SHA-256 DigestInfo around `digest` of any length below 128 bytes: one hash gives the usual
    51 bytes (`30 31 …`), the card face's three hashes `30 71 … 04 60 <96 bytes>` (CI §8.1)."""
    inner = SHA256_ALGORITHM + bytes([0x04, len(digest)]) + digest
    if len(inner) >= 0x80:
        raise CodecError(f"{len(digest)} bytes of digest do not fit a short-form DigestInfo")
    return bytes([0x30, len(inner)]) + inner


def announced_hash(data: bytes) -> str | None:
    """The hash name if `data` is exactly a DigestInfo of one of `PREFIXES` (prefix + a digest
    of the right size), else None — how the card tells a DigestInfo from other input (CI §6.2)."""
    for name, prefix in PREFIXES.items():
        if data.startswith(prefix) and len(data) == len(prefix) + digest_size(name):
            return name
    return None
