"""The card's mutable state: retry counters and changed secrets (`state.json` of a card image).

Kept apart from the image so that the frequent writes are small and the image stays as issued.
A counter is written before the card answers the VERIFY that changed it (card_os.py), so a card
that loses power may lose a try but never gains one. A missing or unreadable state file is an
error, never a reason to start again with full counters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from mynacard.applet_model.aps import APPLICATIONS
from mynacard.applet_model.errors import ImageError
from mynacard.applet_model.secrets import PinReference

FORMAT = "mynacard-card-state"
VERSION = 1
STATE_FILE = "state.json"


def secret_key(application: str, secret: str) -> str:
    """How a secret is named in the state: "jpki/auth-pin"."""
    return f"{application}/{secret}"


@dataclass
class CardState:
    tries: dict[str, int]
    #: Secrets whose value was changed on the card (CHANGE REFERENCE DATA / CHANGE KEY).
    changed: dict[str, PinReference] = field(default_factory=dict)

    @classmethod
    def fresh(cls) -> CardState:
        """The state of a card as issued: every counter at its maximum, blocked keys blocked."""
        tries = {}
        for app in APPLICATIONS.values():
            for s in app.secrets:
                tries[secret_key(app.name, s.name)] = 0 if s.blocked_from_issue else s.max_tries
        return cls(tries)

    def copy(self) -> CardState:
        return CardState(dict(self.tries), dict(self.changed))

    def to_bytes(self) -> bytes:
        doc = {
            "format": FORMAT,
            "version": VERSION,
            "tries": dict(sorted(self.tries.items())),
            "changed": {k: v.to_text() for k, v in sorted(self.changed.items())},
        }
        return (json.dumps(doc, indent=2) + "\n").encode("ascii")

    @classmethod
    def from_bytes(cls, raw: bytes) -> CardState:
        try:
            doc = json.loads(raw.decode("ascii"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ImageError("state.json is corrupt (not JSON); refusing to guess the retry counters") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ImageError(f"state.json is not a {FORMAT} file")
        if doc.get("version") != VERSION:
            raise ImageError(f"state.json has version {doc.get('version')!r}; this mynacard reads {VERSION}")
        fresh = cls.fresh()
        tries = doc.get("tries")
        if not isinstance(tries, dict) or set(tries) != set(fresh.tries):
            raise ImageError("state.json does not hold a counter for exactly the card's secrets")
        for name, value in tries.items():
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= fresh.tries[name]:
                raise ImageError(f"state.json: counter {name} = {value!r} is impossible")
        changed = doc.get("changed", {})
        if not isinstance(changed, dict) or not set(changed) <= set(fresh.tries):
            raise ImageError("state.json: 'changed' names secrets the card does not have")
        refs = {}
        for name, text in changed.items():
            try:
                refs[name] = PinReference.from_text(text)
            except (ValueError, TypeError) as exc:
                raise ImageError(f"state.json: the changed reference data of {name} is unreadable ({exc})") from None
        return cls(dict(tries), refs)
