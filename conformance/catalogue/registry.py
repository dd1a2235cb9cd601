"""The `@case` decorator and the list it fills.

A case is a function whose docstring is its procedure (the numbered steps the spec prints) and
whose decorator is its metadata. IDs are written by hand and never derived from order, so they stay
stable as the catalogue grows; the decorator refuses a duplicate ID or a clause key that
clauses.py does not know, at import time.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable

from mynacard.conformance.card_map import PinRef
from mynacard.conformance.clauses import CLAUSES
from mynacard.conformance.context import CaseContext
from mynacard.conformance.model import ANSWER_OBSERVATION, OBSERVED_BEHAVIOURS, Case, Impact, Profile, Secret

CaseFunction = Callable[[CaseContext], None]

CATALOGUE: list[Case] = []
_IDS: set[str] = set()


def case(
    case_id: str,
    title: str,
    *,
    refs: Iterable[str],
    profiles: Iterable[Profile],
    needs: Iterable[Secret] = (),
    impact: Impact = Impact.READ_ONLY,
    robot: bool = False,
    touches: Iterable[PinRef] = (),
    blocks: Iterable[PinRef] = (),
    procedure: str | None = None,
    observes: str | None = None,
) -> Callable[[CaseFunction], CaseFunction]:
    """Register the decorated function as case `case_id` (an observation case with `observes`)."""

    def register(fn: CaseFunction) -> CaseFunction:
        add(Case(
            id=case_id,
            title=title,
            refs=tuple(refs),
            profiles=frozenset(profiles),
            needs=frozenset(needs),
            impact=impact,
            robot=robot,
            procedure=inspect.cleandoc(procedure if procedure is not None else fn.__doc__ or ""),
            run=fn,
            touches=tuple(p.code for p in touches),
            blocks=tuple(p.label for p in blocks),
            observes=observes,
        ))
        return fn

    return register


def add(new: Case) -> None:
    if new.id in _IDS:
        raise ValueError(f"case ID {new.id} is used twice in the catalogue")
    unknown = [r for r in new.refs if r not in CLAUSES]
    if unknown:
        raise ValueError(f"case {new.id} refers to unknown clauses {unknown}; add them to clauses.py")
    if not new.procedure:
        raise ValueError(f"case {new.id} has no procedure (docstring)")
    if not new.profiles:
        raise ValueError(f"case {new.id} names no profile")
    if new.impact.destructive and not new.needs and new.impact is not Impact.BLOCKS:
        raise ValueError(f"case {new.id} is destructive but needs no secret to restore the card")
    if new.observes is not None:
        if new.observes not in OBSERVED_BEHAVIOURS and not new.observes.startswith(ANSWER_OBSERVATION):
            raise ValueError(f"case {new.id} observes {new.observes!r}, which is not a behaviour of CI §12 "
                             f"({', '.join(OBSERVED_BEHAVIOURS)})")
        if new.impact.destructive:
            raise ValueError(f"observation case {new.id} must be read-only: one run on a real card settles it")
    _IDS.add(new.id)
    CATALOGUE.append(new)
