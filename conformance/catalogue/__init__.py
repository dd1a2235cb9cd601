"""The catalogue: every case, in the order the spec lists them.

Importing this package registers the cases (each module adds its own with `@case`); `CATALOGUE`
is the list, `by_id` finds one.
"""

from __future__ import annotations

from mynacard.conformance.catalogue import (  # noqa: F401
    common,
    core,
    flows,
    jpki,
    mf,
    negative,
    observations,
    pins,
    sm,
    text,
    visual,
)
from mynacard.conformance.catalogue.registry import CATALOGUE
from mynacard.conformance.model import Case

#: Areas in the order of card-interface.md, with the title the spec gives each.
AREAS: dict[str, str] = {
    "CORE": "Card OS (CI §1–§3, §5)",
    "MF": "Master file and MF objects (CI §2, §4, §10)",
    "JPKI": "公的個人認証AP (CI §6)",
    "TEXT": "券面事項入力補助AP (CI §7)",
    "VIS": "券面事項確認AP (CI §8)",
    "COM": "共通AP (CI §9)",
    "JUKI": "住基AP (CI §9)",
    "SM": "Secure messaging, optional (CI §11)",
    "FLOW": "APDU flows (CI §13)",
    "NEG": "Negative and robustness cases: parameters, lengths, formats, SM counter (CI §1–§3, §6, §11)",
    "OBS": "Observations: behaviours real cards disagree on (CI §12); never pass or fail",
}


def by_id() -> dict[str, Case]:
    return {c.id: c for c in CATALOGUE}


def ordered() -> list[Case]:
    """Cases grouped by area in AREAS order, by ID within an area (the spec's order)."""
    rank = {area: i for i, area in enumerate(AREAS)}
    return sorted(CATALOGUE, key=lambda c: (rank.get(c.area, len(rank)), c.id))


__all__ = ["AREAS", "CATALOGUE", "by_id", "ordered"]
