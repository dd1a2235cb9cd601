"""API tokens with roles: `Authorization: Bearer <token>`.

Tokens are random (256 bits), shown once when made, and stored only as SHA-256 digests with a
name and a role, in a table of the service's own database (`<prefix>_api_tokens`). A leaked
database therefore reveals no usable token. Answers: 401 without a token or with an unknown
one, 403 with a token whose role may not make the call.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request
from sqlalchemy import Column, Connection, DateTime, Engine, MetaData, String, Table, select

from mynacard.service.db import reader
from mynacard.service.errors import ApiError

TOKEN_BYTES = 32

#: The tokens `mynacard serve` makes (DATA/tokens.json): name -> (service that checks it, role there).
#: Each service's `create_app` installs the digests of those it checks (`TokenStore.install`).
SERVE_TOKENS: dict[str, tuple[str, str]] = {
    "ca-admin": ("ca", "ca-admin"),
    "register-admin": ("register", "register-admin"),
    "register->ca": ("ca", "ca-issuer"),
    "clerk": ("register", "clerk"),
    "centre": ("register", "centre"),
    "kiosk": ("centre", "kiosk"),
    "metrics": ("serve", "metrics"),  # GET /metrics of the serve root (service/metrics.py)
}


@dataclass(frozen=True)
class Caller:
    """Who made a request: the token's name and role (never the token)."""

    name: str
    role: str


def token_table(metadata: MetaData, prefix: str) -> Table:
    """The token table of one service (`ca_api_tokens`, `register_api_tokens`, …)."""
    return Table(
        f"{prefix}_api_tokens",
        metadata,
        Column("digest", String(64), primary_key=True),
        Column("name", String(100), nullable=False, unique=True),
        Column("role", String(40), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    """Tokens of one service, in its own table."""

    def __init__(self, engine: Engine, table: Table) -> None:
        self.engine = engine
        self.table = table

    def add(self, name: str, role: str, token: str | None = None) -> str:
        """Store a token (a new random one unless given) under `name`, replacing an older one."""
        token = token or new_token()
        with self.engine.begin() as connection:
            connection.execute(self.table.delete().where(self.table.c.name == name))
            connection.execute(
                self.table.insert().values(digest=digest(token), name=name, role=role, created_at=datetime.now(UTC))
            )
        return token

    def install(self, tokens: dict[str, str], service: str) -> None:
        """Store the digests of the configured tokens this `service` checks (see SERVE_TOKENS)."""
        for name, (owner, role) in SERVE_TOKENS.items():
            if owner == service and name in tokens:
                current = self.lookup(tokens[name])
                if current != Caller(name, role):
                    self.add(name, role, tokens[name])

    def lookup(self, token: str, connection: Connection | None = None) -> Caller | None:
        """Who holds `token`. Every authenticated call asks, so on PostgreSQL the one SELECT runs in
        autocommit: no BEGIN and no ROLLBACK round trips around it (3 of a lookup's 10 before).
        A hot route passes the autocommit `connection` it uses for its own statements (no second
        pool checkout)."""
        if connection is not None:
            return self._select(connection, token)
        with reader(self.engine) as connection:
            if connection.dialect.name == "postgresql":
                connection.execution_options(isolation_level="AUTOCOMMIT")
            return self._select(connection, token)

    def _select(self, connection: Connection, token: str) -> Caller | None:
        row = connection.execute(
            select(self.table.c.name, self.table.c.role).where(self.table.c.digest == digest(token))
        ).first()
        return Caller(row.name, row.role) if row else None


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def require_role(store: Callable[[], TokenStore], *roles: str) -> Callable[[Request], Caller]:
    """A FastAPI dependency admitting callers whose token has one of `roles`.

    `store` is called per request, so an app can build its store after the dependency is declared.
    """
    allowed = frozenset(roles)

    def dependency(request: Request) -> Caller:
        token = bearer_token(request)
        if token is None:
            raise ApiError(401, "unauthenticated", "This call needs an API token (Authorization: Bearer <token>).",
                           {"WWW-Authenticate": "Bearer"})
        caller = store().lookup(token)
        if caller is None:
            raise ApiError(401, "unauthenticated", "The API token is not known to this service.",
                           {"WWW-Authenticate": "Bearer"})
        if caller.role not in allowed:
            raise ApiError(403, "forbidden",
                           f"Role '{caller.role}' may not make this call (needs one of: {_names(allowed)}).")
        return caller

    return dependency


def _names(roles: Iterable[str]) -> str:
    return ", ".join(sorted(roles))
