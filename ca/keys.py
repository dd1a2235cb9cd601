"""Where RSA keys come from.

Every key the project makes goes through a `KeySource`, so that personalisation and the test
authority generator can be given a pre-generated pool (tests) instead of generating per use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import cycle

from cryptography.hazmat.primitives.asymmetric import rsa

#: A callable returning a fresh RSA-2048 private key (e = 65537).
KeySource = Callable[[], rsa.RSAPrivateKey]

RSA_BITS = 2048
RSA_EXPONENT = 65537


def generate_rsa_key() -> rsa.RSAPrivateKey:
    """A new RSA-2048 key with e = 65537: the only key type the card and JPKI use (CI §6.1)."""
    return rsa.generate_private_key(public_exponent=RSA_EXPONENT, key_size=RSA_BITS)


class KeyPool:
    """Hands out pre-generated keys round-robin.

    For tests: a pool of N distinct keys gives every card N distinct keys in a fixed order, so
    a test can still tell the card's keys apart, without paying for generation per test.
    """

    def __init__(self, keys: Sequence[rsa.RSAPrivateKey]) -> None:
        if not keys:
            raise ValueError("a key pool needs at least one key")
        self._keys = cycle(keys)

    def __call__(self) -> rsa.RSAPrivateKey:
        return next(self._keys)
