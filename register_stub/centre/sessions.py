"""Single-use challenges and kiosk sessions, in memory.

Both live minutes: a challenge 2 minutes, a session 15 (the kiosk's longest path through
choose, pay and print stays well inside). A restart of the centre forgets them, and the kiosk
then ends its session with `centre_error`: nothing issued is lost, since transactions are in
the ledger. A session belongs to the kiosk that opened it: another kiosk naming it is refused.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from mynacard.service.errors import ApiError

CHALLENGE_BYTES = 32
CHALLENGE_SECONDS = 120.0
SESSION_SECONDS = 900.0


@dataclass(frozen=True)
class KioskSession:
    session_id: str
    kiosk_id: str
    resident_code: str
    auth_serial: str
    expires: float


class SessionTable:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._challenges: dict[str, tuple[str, bytes, float]] = {}
        self._sessions: dict[str, KioskSession] = {}

    def _sweep(self, now: float) -> None:
        for key in [k for k, (_, _, t) in self._challenges.items() if t < now]:
            del self._challenges[key]
        for key in [k for k, s in self._sessions.items() if s.expires < now]:
            del self._sessions[key]

    def new_challenge(self, kiosk_id: str) -> tuple[str, str]:
        """(challenge id, challenge in base64) for this kiosk."""
        challenge_id, value = secrets.token_hex(16), secrets.token_bytes(CHALLENGE_BYTES)
        with self._lock:
            now = self._clock()
            self._sweep(now)
            self._challenges[challenge_id] = (kiosk_id, value, now + CHALLENGE_SECONDS)
        return challenge_id, base64.b64encode(value).decode("ascii")

    def take_challenge(self, kiosk_id: str, challenge_id: str) -> bytes:
        """The challenge's bytes, removed (a replay finds nothing)."""
        with self._lock:
            self._sweep(self._clock())
            entry = self._challenges.pop(challenge_id, None)
        if entry is None or entry[0] != kiosk_id:
            raise ApiError(401, "challenge_unknown", "The challenge is unknown, used or expired; ask for a new one.")
        return entry[1]

    def open(self, kiosk_id: str, resident_code: str, auth_serial: str) -> KioskSession:
        with self._lock:
            session = KioskSession(secrets.token_urlsafe(24), kiosk_id, resident_code, auth_serial,
                                   self._clock() + SESSION_SECONDS)
            self._sessions[session.session_id] = session
        return session

    def get(self, kiosk_id: str, session_id: str) -> KioskSession:
        with self._lock:
            self._sweep(self._clock())
            session = self._sessions.get(session_id)
        if session is None or session.kiosk_id != kiosk_id:
            raise ApiError(401, "session_unknown", "The session is unknown or has expired; start again.")
        return session

    def end(self, kiosk_id: str, session_id: str) -> None:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None and session.kiosk_id == kiosk_id:
                del self._sessions[session_id]
