"""Single-use challenges and kiosk sessions, in the register's database.

Both live minutes: a challenge 2 minutes, a session 15 (the kiosk's longest path through
choose, pay and print stays well inside). They are rows, not process memory, because
`mynacard serve --workers N` answers a kiosk's challenge, its session and its transactions in
whichever worker accepts each connection. A session belongs to the kiosk that opened it: another
kiosk naming it is refused. Rows are keyed by the SHA-256 of the id (the ids are bearer secrets,
like the API tokens, whose digests alone are stored); expired rows are deleted as new ones come.
Expiry is wall-clock time, the one clock every process (and machine) on the database shares.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Column, Float, LargeBinary, MetaData, String, Table, delete, select
from sqlalchemy.orm import Session

from mynacard.register_stub.store import RegisterStore
from mynacard.service.errors import ApiError

CHALLENGE_BYTES = 32
CHALLENGE_SECONDS = 120.0
SESSION_SECONDS = 900.0
CHALLENGE, SESSION = "challenge", "session"

rows = Table(
    "register_centre_sessions", MetaData(),
    Column("digest", String(64), primary_key=True),
    Column("kind", String(10), nullable=False),
    Column("kiosk_id", String(200), nullable=False),
    Column("resident_code", String(11)),
    Column("auth_serial", String(40)),
    Column("challenge", LargeBinary),
    Column("expires", Float, nullable=False),
)


@dataclass(frozen=True)
class KioskSession:
    session_id: str
    kiosk_id: str
    resident_code: str
    auth_serial: str
    expires: float


def _digest(kind: str, identifier: str) -> str:
    return hashlib.sha256(f"{kind}:{identifier}".encode()).hexdigest()


class SessionTable:
    def __init__(self, store: RegisterStore, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    def _insert(self, values: dict[str, object], within: Session | None) -> None:
        if within is not None:
            self._write(within, values)
            return
        with self._store.transaction() as session:
            self._write(session, values)

    def _write(self, session: Session, values: dict[str, object]) -> None:
        session.execute(delete(rows).where(rows.c.expires < self._clock()))
        session.execute(rows.insert().values(**values))

    def new_challenge(self, kiosk_id: str) -> tuple[str, str]:
        """(challenge id, challenge in base64) for this kiosk."""
        challenge_id, value = secrets.token_hex(16), secrets.token_bytes(CHALLENGE_BYTES)
        self._insert({"digest": _digest(CHALLENGE, challenge_id), "kind": CHALLENGE, "kiosk_id": kiosk_id,
                      "challenge": value, "expires": self._clock() + CHALLENGE_SECONDS}, None)
        return challenge_id, base64.b64encode(value).decode("ascii")

    def take_challenge(self, kiosk_id: str, challenge_id: str) -> bytes:
        """The challenge's bytes, removed (a replay finds nothing)."""
        where = (rows.c.digest == _digest(CHALLENGE, challenge_id), rows.c.kind == CHALLENGE)
        with self._store.transaction() as session:
            entry = session.execute(select(rows.c.kiosk_id, rows.c.challenge, rows.c.expires).where(*where)).first()
            if entry is not None:
                session.execute(delete(rows).where(*where))
        if entry is None or entry.kiosk_id != kiosk_id or entry.expires < self._clock():
            raise ApiError(401, "challenge_unknown", "The challenge is unknown, used or expired; ask for a new one.")
        return bytes(entry.challenge)

    def open(self, kiosk_id: str, resident_code: str, auth_serial: str, within: Session | None = None) -> KioskSession:
        """A new session; written in the caller's transaction `within` when given (the centre writes
        it with the session's access record: one write transaction, one turn at the write lock)."""
        session = KioskSession(secrets.token_urlsafe(24), kiosk_id, resident_code, auth_serial,
                               self._clock() + SESSION_SECONDS)
        self._insert({"digest": _digest(SESSION, session.session_id), "kind": SESSION, "kiosk_id": kiosk_id,
                      "resident_code": resident_code, "auth_serial": auth_serial, "expires": session.expires},
                     within)
        return session

    def get(self, kiosk_id: str, session_id: str) -> KioskSession:
        with self._store.reader() as session:
            entry = session.execute(select(rows).where(rows.c.digest == _digest(SESSION, session_id),
                                                       rows.c.kind == SESSION)).first()
        if entry is None or entry.kiosk_id != kiosk_id or entry.expires < self._clock():
            raise ApiError(401, "session_unknown", "The session is unknown or has expired; start again.")
        return KioskSession(session_id, entry.kiosk_id, entry.resident_code, entry.auth_serial, entry.expires)

    def end(self, kiosk_id: str, session_id: str) -> None:
        with self._store.transaction() as session:
            session.execute(delete(rows).where(rows.c.digest == _digest(SESSION, session_id),
                                               rows.c.kind == SESSION, rows.c.kiosk_id == kiosk_id))
