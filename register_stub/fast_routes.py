"""The register's two hottest calls — lookup by My Number and 方法2 — answered by `mynacard serve`
without the framework (service/fast_paths.py `declare_route`).

Why: profiled under wrk, a lookup spent most of its time outside the database — Starlette's
mounts and exception middleware, FastAPI's dependency solving, two trips through the thread pool
(the sync token dependency, then the sync endpoint), response-model validation and serialisation.
Here one trip through the thread pool does the token check, the read and the access record, on
PostgreSQL over one pooled connection in autocommit (`RegisterStore.hot`). On PostgreSQL without a
standby both routes go further and never leave the event loop (register_stub/loop_routes.py).

The work itself is the routes' own (`lookup.lookup`, `method2.query`), so answers and access
records cannot differ. Only the common case is answered here: a request whose token is missing,
unknown or of the wrong role, or whose body is not a JSON object that validates, is passed on to
the framework's route with the body already read, and the framework refuses it with its usual
sentence. Refusals decided by the work (a wrong check digit, an unreadable date, no record) are
the same `ApiError`s the framework would turn into answers; they are answered the same way here.
Tokens are not cached: every request looks its digest up, so a revoked token stops at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from mynacard.register_stub import lookup, method2
from mynacard.register_stub.errors_api import database_error_response
from mynacard.register_stub.lookup import LookupIn
from mynacard.register_stub.loop_routes import LoopRoutes
from mynacard.register_stub.store import RegisterStore
from mynacard.service.auth import Caller
from mynacard.service.errors import ApiError, error_response
from mynacard.service.fast_paths import Answerer, Asgi, Receive, Scope, Send, declare_closer, declare_route, parsed, read_body, replay

#: What a route does once its caller and body are known; returns the answer's JSON.
Work = Callable[[RegisterStore, Caller, Any, Connection | None], bytes]


def _lookup(store: RegisterStore, caller: Caller, body: LookupIn, connection: Connection | None) -> bytes:
    return lookup.lookup(store, caller, body, connection).model_dump_json().encode()


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
        if not self.store.sqlite and self.store.standby is None:
            on_loop = LoopRoutes(self.store.engine.url.render_as_string(hide_password=False), self.roles)
            answerers = {path: on_loop.answerer(path) for path in ROUTES}
            declare_closer(app, on_loop.close)
        else:
            answerers = {path: self._threaded(path) for path in ROUTES}
        for path, answerer in answerers.items():
            declare_route(app, "POST", path, partial(_handle, answerer))

    def _threaded(self, path: str) -> Answerer:
        model, work = ROUTES[path]
        roles = self.roles[path]

        async def answer(scope: Scope, body: bytes) -> Response | None:
            return await run_in_threadpool(self._answer, scope, body, model, roles, work)

        return answer

    def _answer(self, scope: Scope, body: bytes, model: type[BaseModel], roles: frozenset[str],
                work: Work) -> Response | None:
        """The answer to the request, or None for the framework to answer it."""
        request = parsed(scope, body, model)
        if request is None:
            return None
        token, query = request
        try:
            with self.store.hot() as connection:  # PostgreSQL: one connection for every statement
                caller = self.store.token_reader.lookup(token, connection)
                if caller is None or caller.role not in roles:
                    return None
                return Response(work(self.store, caller, query, connection), media_type="application/json")
        except ApiError as exc:  # as service/errors.py answers it
            return error_response(exc.status, exc.error, exc.detail, exc.headers)
        except SQLAlchemyError as exc:
            return database_error_response(exc)


async def _handle(answerer: Answerer, scope: Scope, receive: Receive, send: Send, framework: Asgi) -> None:
    body = await read_body(receive)
    if body is None:  # the client went away
        return
    answer = await answerer(scope, body)
    if answer is None:
        await framework(scope, replay(body, receive), send)
    else:
        await answer(scope, receive, send)
