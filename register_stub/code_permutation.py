"""The keyed permutation from the pools' virtual bases to the 住民票コード handed out
(jpki-system.md §4.2: a code must show neither its municipality's pool nor its order).

Pools are contiguous ranges of a virtual 10-digit space, so that they can never overlap; a
bijection of that space turns them into codes. A fixed one gave every fresh register the same
first code, and an affine one keeps a pool's arithmetic progression a progression, so
consecutive codes showed their order by a constant step. This one is keyed by the register's
own secret (`store.code_key`, 32 random bytes made at its first start).

It is a balanced Feistel network over the ten digits taken as two halves of five
(Z₁₀⁵ × Z₁₀⁵) with addition mod 10⁵ — the shape of NIST SP 800-38G's FF1 for radix 10, with
ten rounds as there: round i maps (L, R) to (R, L + F(i, R) mod 10⁵), F being keyed BLAKE2b
(a PRF) of the round and R. Each round can be undone whatever F is, so the whole is a
bijection of [0, 10¹⁰): two virtual bases never share a code, and pools stay apart.
"""

from __future__ import annotations

import hashlib

HALF = 10**5
SPACE = HALF * HALF
ROUNDS = 10


def scatter(key: bytes, virtual: int) -> int:
    """The code base (10 digits, before the check digit) of a virtual base."""
    left, right = divmod(virtual, HALF)
    for round_number in range(ROUNDS):
        left, right = right, (left + _round(key, round_number, right)) % HALF
    return left * HALF + right


def unscatter(key: bytes, base: int) -> int:
    """The virtual base (the pools' coordinates) of a code base: `scatter` undone."""
    left, right = divmod(base, HALF)
    for round_number in reversed(range(ROUNDS)):
        left, right = (right - _round(key, round_number, left)) % HALF, left
    return left * HALF + right


def _round(key: bytes, round_number: int, half: int) -> int:
    digest = hashlib.blake2b(bytes((round_number,)) + half.to_bytes(3, "big"), key=key, digest_size=8).digest()
    return int.from_bytes(digest, "big") % HALF
