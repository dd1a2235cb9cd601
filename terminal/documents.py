"""What the centre offers a resident and what the resident chose: plain values, no I/O.

These are the vocabulary shared by the state machine (which validates a choice against the
offer) and the centre client (which carries both over HTTP). Nothing here names a person: a
scope is "self" or "household", never a member's name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Choice:
    """An option or a scope: a code the centre understands and its two labels."""

    code: str
    title_ja: str
    title_en: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "title_ja": self.title_ja, "title_en": self.title_en}


@dataclass(frozen=True)
class DocumentOffer:
    """One certificate the resident's municipality issues at kiosks, with its fee per copy."""

    code: str
    title_ja: str
    title_en: str
    fee: int
    scopes: tuple[Choice, ...]
    options: tuple[Choice, ...] = ()
    #: False with a refusal reason when this resident cannot have this document here.
    available: bool = True
    refusal: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "title_ja": self.title_ja, "title_en": self.title_en,
                "fee": self.fee, "scopes": [s.as_dict() for s in self.scopes],
                "options": [o.as_dict() for o in self.options], "available": self.available,
                "refusal": self.refusal}


@dataclass(frozen=True)
class Eligibility:
    """Whether the resident may use the kiosk at all; `reason` is a refusal code of §6.2."""

    eligible: bool
    reason: str | None = None


@dataclass(frozen=True)
class Selection:
    document: str
    scope: str
    options: tuple[str, ...]
    copies: int

    def as_dict(self) -> dict[str, object]:
        return {"document": self.document, "scope": self.scope, "options": list(self.options),
                "copies": self.copies}


class SelectionError(ValueError):
    """A choice the offer does not allow; `reason` is a code the UI translates."""

    def __init__(self, reason: str, sentence: str) -> None:
        super().__init__(sentence)
        self.reason = reason


def validate_selection(offers: tuple[DocumentOffer, ...], selection: Selection,
                       max_copies: int) -> DocumentOffer:
    """The offer `selection` refers to, or `SelectionError` saying what is wrong with it."""
    offer = next((o for o in offers if o.code == selection.document), None)
    if offer is None:
        raise SelectionError("unknown_document",
                             f"document '{selection.document}' is not offered at this kiosk")
    if not offer.available:
        raise SelectionError(offer.refusal or "not_available",
                             f"document '{offer.code}' cannot be issued here for this resident "
                             f"({offer.refusal}): go to the municipal window")
    if selection.scope not in {s.code for s in offer.scopes}:
        raise SelectionError("unknown_scope",
                             f"scope '{selection.scope}' is not offered for '{offer.code}'")
    unknown = set(selection.options) - {o.code for o in offer.options}
    if unknown:
        raise SelectionError("unknown_option",
                             f"option(s) {', '.join(sorted(unknown))} are not offered for "
                             f"'{offer.code}'")
    if not 1 <= selection.copies <= max_copies:
        raise SelectionError("copies_out_of_range",
                             f"copies must be 1 to {max_copies}, not {selection.copies}")
    return offer
