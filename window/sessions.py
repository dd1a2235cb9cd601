"""Clerk sessions: an opaque id in an HttpOnly, SameSite=Strict cookie; everything else here.

Login is by the clerk's own named token (`mynacard register clerk add NAME` prints it once): the
window asks the register who the token belongs to (`GET /v1/whoami`) and keeps the token in this
process's memory only, so each register call — and so each access record — names the clerk.
Sessions expire after `session_minutes` without use (sliding) and on logout; an expired session
ends the request with one sentence and nothing done (`SessionExpired`).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from mynacard.window.register_client import RegisterClient

COOKIE = "window_session"


class NotLoggedIn(Exception):
    """No session cookie: the clerk is sent to the login screen."""


class SessionExpired(Exception):
    """The session cookie names a session that has expired or never existed."""

    sentence = ("Your session has expired; log in again (nothing was changed). / "
                "セッションの有効期限が切れました。再度ログインしてください（何も変更されていません）。")


@dataclass
class ClerkSession:
    """One logged-in clerk. `register` calls the register with the clerk's own token."""

    id: str = field(repr=False)
    clerk: str
    role: str
    register: RegisterClient
    #: The issuance centre (住民票の写し), with the same clerk token.
    centre: RegisterClient
    expires_at: float
    #: Per-screen scratch state (e.g. the card check in progress); cleared at logout/expiry.
    state: dict[str, Any] = field(default_factory=dict, repr=False)
    #: Called at logout/expiry: what a screen keeps outside `state` ends with the session (the
    #: PINs of a pending card issuance, pinpad.py).
    on_close: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def close(self) -> None:
        for forget in self.on_close:
            forget()
        self.on_close.clear()
        self.state.clear()
        self.register.close()
        self.centre.close()


class SessionStore:
    def __init__(self, minutes: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = minutes * 60
        self.clock = clock
        self._sessions: dict[str, ClerkSession] = {}
        self._lock = threading.Lock()

    def open(self, clerk: str, role: str, register: RegisterClient, centre: RegisterClient) -> ClerkSession:
        session = ClerkSession(secrets.token_urlsafe(32), clerk, role, register, centre, self.clock() + self.seconds)
        with self._lock:
            self._sessions[session.id] = session
        return session

    def get(self, session_id: str) -> ClerkSession:
        """The live session (its expiry pushed on), or SessionExpired (and it is dropped)."""
        now = self.clock()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or session.expires_at <= now:
                dropped = self._sessions.pop(session_id, None)
                if dropped is not None:
                    dropped.close()
                raise SessionExpired()
            session.expires_at = now + self.seconds
            return session

    def close(self, session_id: str) -> None:
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session is not None:
            session.close()

    def expire_all(self) -> None:
        """Make every session expired now (tests of the expired-session path; an operator's lock)."""
        with self._lock:
            for session in self._sessions.values():
                session.expires_at = 0.0


def current_session(request: Request) -> ClerkSession:
    """The FastAPI dependency every screen route uses: the logged-in clerk's session.

    `clerk: Annotated[ClerkSession, Depends(current_session)]` — then `clerk.register.post(...)`.
    Raises NotLoggedIn / SessionExpired, which the app turns into the login page or one sentence.
    """
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        raise NotLoggedIn()
    store: SessionStore = request.app.state.sessions
    return store.get(session_id)


#: A route parameter: the logged-in clerk's session (the login page otherwise).
Clerk = Annotated[ClerkSession, Depends(current_session)]
