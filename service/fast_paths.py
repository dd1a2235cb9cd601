"""Hot paths that skip the framework: a service declares a bare ASGI app for a path prefix, and
`mynacard serve` dispatches requests under it before Starlette's routing and middleware.

Used for OCSP, where the answer is a pre-signed byte string and the framework's per-request work
(two levels of mounts, exception middleware, routing) would cost more than the answer itself.
The same app stays mounted normally too, so a service app used on its own behaves the same.

A service can also declare one method and exact path (`declare_route`: the register's lookup by My
Number and 方法2). Such a handler answers the common case itself and passes anything else (a bad
token, a body to refuse) on to the framework with the body it already read (`replay`), so every
refusal keeps the framework's exact wording and nothing is answered two ways.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeVar

from fastapi import FastAPI
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]
#: A fast route: the request, and the app to pass it on to when the handler does not answer it.
Route = Callable[[Scope, Receive, Send, Asgi], Awaitable[None]]
#: A fast route's answer to a request (its scope and body), or None for the framework to answer it.
Answerer = Callable[[Scope, bytes], Awaitable[Response | None]]
#: What a fast route opened on the event loop, to be closed there at shutdown.
Closer = Callable[[], Awaitable[None]]
M = TypeVar("M", bound=BaseModel)


def declare(app: FastAPI, prefix: str, handler: Asgi) -> None:
    """Let `handler` answer every request under `prefix` (relative to where `app` is mounted)."""
    app.state.fast_paths = {**declared(app), prefix.rstrip("/"): handler}


def declared(app: FastAPI) -> dict[str, Asgi]:
    try:
        paths: dict[str, Asgi] = app.state.fast_paths
    except AttributeError:
        return {}
    return paths


def declare_route(app: FastAPI, method: str, path: str, handler: Route) -> None:
    """Let `handler` answer `method` requests to exactly `path` (relative to where `app` is mounted)."""
    app.state.fast_routes = {**declared_routes(app), (method, path): handler}


def declared_routes(app: FastAPI) -> dict[tuple[str, str], Route]:
    try:
        routes: dict[tuple[str, str], Route] = app.state.fast_routes
    except AttributeError:
        return {}
    return routes


def declare_closer(app: FastAPI, close: Closer) -> None:
    """Have `close` awaited when the server shuts down: what a fast route opened on the event loop
    (a mounted app's own lifespan never runs; `dispatch`'s dispatcher runs these)."""
    app.state.closers = [*closers(app), close]


def closers(app: FastAPI) -> list[Closer]:
    try:
        declared_closers: list[Closer] = app.state.closers
    except AttributeError:
        return []
    return declared_closers


def bearer(scope: Scope) -> str | None:
    """The bearer token of a request, parsed as `service.auth.bearer_token` does."""
    for key, value in scope["headers"]:
        if key == b"authorization":
            scheme, _, token = bytes(value).decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def json_content(scope: Scope) -> bool:
    """Whether FastAPI would read the request's body as JSON for certain (a fast route passes
    anything else to the framework)."""
    for key, value in scope["headers"]:
        if key == b"content-type":
            return bytes(value).split(b";")[0].strip().lower() == b"application/json"
    return False


def parsed(scope: Scope, body: bytes, model: type[M]) -> tuple[str, M] | None:
    """The bearer token and the body as `model`, or None when the framework must answer (no token,
    not JSON, a body that does not validate): read as FastAPI reads it, json, then the model."""
    token = bearer(scope)
    if token is None or not json_content(scope):
        return None
    try:
        return token, model.model_validate(json.loads(body))
    except (ValueError, ValidationError):  # json's JSONDecodeError and UnicodeDecodeError too
        return None


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when the client went away first."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives `body` (already read) once, then waits on the real one (a disconnect)."""
    given = False

    async def again() -> MutableMapping[str, Any]:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return again


class FastPathDispatcher:
    """The root ASGI app: fast routes and fast paths first, everything else to `app`; at shutdown,
    the declared closers before `app`'s own shutdown."""

    def __init__(self, app: Asgi, paths: dict[str, Asgi], routes: dict[tuple[str, str], Route],
                 closers: list[Closer] | None = None) -> None:
        self.app = app
        self.paths = sorted(paths.items(), key=lambda item: -len(item[0]))
        self.routes = routes
        self.closers = closers or []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" and self.closers:
            await self.app(scope, self._closing(receive), send)
            return
        if scope["type"] == "http":
            path: str = scope["path"]
            route = self.routes.get((scope["method"], path))
            if route is not None:
                await route(scope, receive, send, self.app)
                return
            for prefix, handler in self.paths:
                if path.startswith(prefix + "/"):
                    await handler({**scope, "root_path": scope.get("root_path", "") + prefix}, receive, send)
                    return
        await self.app(scope, receive, send)

    def _closing(self, receive: Receive) -> Receive:
        async def receive_then_close() -> MutableMapping[str, Any]:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                for close in self.closers:
                    await close()
            return message

        return receive_then_close


def dispatch(root: Asgi, apps: dict[str, FastAPI]) -> FastPathDispatcher:
    """`root`, in which each of `apps` is mounted at its prefix, behind the fast paths and fast
    routes those apps declare (what `mynacard serve` serves)."""
    paths = {prefix + path: handler for prefix, app in apps.items() for path, handler in declared(app).items()}
    routes = {(method, prefix + path): handler
              for prefix, app in apps.items() for (method, path), handler in declared_routes(app).items()}
    return FastPathDispatcher(root, paths, routes, [close for app in apps.values() for close in closers(app)])
