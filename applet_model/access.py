"""Access conditions: who may read an EF or use a key (CI §6.1, §7.1, §8).

On this card every condition seen is "free", "never" or "after any one of these secrets was
verified in the current DF", so that is all this module can express.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Access:
    #: None: free. Empty: never. Otherwise any one of these secrets (by name) opens it.
    any_of: frozenset[str] | None

    def allows(self, verified: frozenset[str] | set[str]) -> bool:
        if self.any_of is None:
            return True
        return not self.any_of.isdisjoint(verified)

    def __str__(self) -> str:
        if self.any_of is None:
            return "free"
        if not self.any_of:
            return "never"
        return "after " + " or ".join(sorted(self.any_of))


FREE = Access(None)
NEVER = Access(frozenset())


def after(*secrets: str) -> Access:
    """Readable/usable once any one of the named secrets of this DF has been verified."""
    return Access(frozenset(secrets))
