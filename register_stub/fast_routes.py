"""The register's two hottest calls — lookup by My Number and 方法2 — answered by `mynacard serve`
without the framework (service/fast_paths.py `declare_route`).

Why: profiled under wrk, a lookup spent most of its time outside the database — Starlette's
mounts and exception middleware, FastAPI's dependency solving, two trips through the thread pool
(the sync token dependency, then the sync endpoint), response-model validation and serialisation.
Here one trip through the thread pool does the token check, the read and the access record, on
PostgreSQL over one pooled connection in autocommit (`RegisterStore.hot`).

The work itself is the routes' own (`lookup.lookup`, `method2.query`), so answers and access
records cannot differ. Only the common case is answered here: a request whose token is missing,
unknown or of the wrong role, or whose body is not a JSON object that validates, is passed on to
the framework's route with the body already read, and the framework refuses it with its usual
sentence. Refusals decided by the work (a wrong check digit, an unreadable date, no record) are
the same `ApiError`s the framework would turn into answers; they are answered the same way here.
Tokens are not cached: every request looks its digest up, so a revoked token stops at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from mynacard.register_stub import method2
from mynacard.register_stub.errors_api import database_error_response
from mynacard.register_stub.lookup import LookupIn
from mynacard.register_stub.lookup import lookup as lookup_by_number
from mynacard.register_stub.store import RegisterStore
from mynacard.service.auth import Caller
from mynacard.service.errors import ApiError, error_response
from mynacard.service.fast_paths import Asgi, Receive, Scope, Send, declare_route, read_body, replay

#: What a route does once its caller and body are known; returns the answer's JSON.
Work = Callable[[RegisterStore, Caller, Any, Connection | None], bytes]


def _lookup(store: RegisterStore, caller: Caller, body: LookupIn, connection: Connection | None) -> bytes:
    return lookup_by_number(store, caller, body, connection).model_dump_json().encode()


def _method2(store: RegisterStore, caller: Caller, body: method2.Method2Query, connection: Connection | None) -> bytes:
    return method2.query(store, caller, body, connection).model_dump_json(exclude_none=True).encode()


#: path -> (the body's model, the work), for the routes `FastRoutes` answers.
ROUTES: dict[str, tuple[type[BaseModel], Work]] = {
    "/v1/lookup": (LookupIn, _lookup),
    "/v1/method2": (method2.Method2Query, _method2),
}


class FastRoutes:
    """The fast POST handlers of the register's `ROUTES`, given the roles each admits (those of
    its FastAPI route)."""

    def __init__(self, store: RegisterStore, roles: dict[str, Iterable[str]]) -> None:
        self.store = store
        self.roles = {path: frozenset(admitted) for path, admitted in roles.items()}

    def declare(self, app: FastAPI) -> None:
        for path in ROUTES:
            declare_route(app, "POST", path, self._handler(path))

    def _handler(self, path: str) -> Callable[[Scope, Receive, Send, Asgi], Any]:
        model, work = ROUTES[path]
        roles = self.roles[path]

        async def handle(scope: Scope, receive: Receive, send: Send, framework: Asgi) -> None:
            body = await read_body(receive)
            if body is None:  # the client went away
                return
            answer = await run_in_threadpool(self._answer, scope, body, model, roles, work)
            if answer is None:
                await framework(scope, replay(body, receive), send)
            else:
                await answer(scope, receive, send)

        return handle

    def _answer(self, scope: Scope, body: bytes, model: type[BaseModel], roles: frozenset[str],
                work: Work) -> Response | None:
        """The answer to the request, or None for the framework to answer it."""
        token = _bearer(scope)
        if token is None or not _json_content(scope):
            return None
        try:
            with self.store.hot() as connection:  # PostgreSQL: one connection for every statement
                caller = self.store.token_reader.lookup(token, connection)
                if caller is None or caller.role not in roles:
                    return None
                try:
                    request = model.model_validate(json.loads(body))  # as FastAPI does: json, then the model
                except (ValueError, ValidationError):  # json's JSONDecodeError and UnicodeDecodeError too
                    return None
                return Response(work(self.store, caller, request, connection), media_type="application/json")
        except ApiError as exc:  # as service/errors.py answers it
            return error_response(exc.status, exc.error, exc.detail, exc.headers)
        except SQLAlchemyError as exc:
            return database_error_response(exc)


def _bearer(scope: Scope) -> str | None:
    """The bearer token, parsed as `service.auth.bearer_token` does."""
    for key, value in scope["headers"]:
        if key == b"authorization":
            scheme, _, token = bytes(value).decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def _json_content(scope: Scope) -> bool:
    """A body FastAPI reads as JSON for certain (anything else goes to the framework)."""
    for key, value in scope["headers"]:
        if key == b"content-type":
            return bytes(value).split(b";")[0].strip().lower() == b"application/json"
    return False
