"""Hot paths that skip the framework: a service declares a bare ASGI app for a path prefix, and
`mynacard serve` dispatches requests under it before Starlette's routing and middleware.

Used for OCSP, where the answer is a pre-signed byte string and the framework's per-request work
(two levels of mounts, exception middleware, routing) would cost more than the answer itself.
The same app stays mounted normally too, so a service app used on its own behaves the same.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


def declare(app: FastAPI, prefix: str, handler: Asgi) -> None:
    """Let `handler` answer every request under `prefix` (relative to where `app` is mounted)."""
    app.state.fast_paths = {**declared(app), prefix.rstrip("/"): handler}


def declared(app: FastAPI) -> dict[str, Asgi]:
    try:
        paths: dict[str, Asgi] = app.state.fast_paths
    except AttributeError:
        return {}
    return paths


class FastPathDispatcher:
    """The root ASGI app: fast paths first, everything else to `app`."""

    def __init__(self, app: Asgi, paths: dict[str, Asgi]) -> None:
        self.app = app
        self.paths = sorted(paths.items(), key=lambda item: -len(item[0]))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            for prefix, handler in self.paths:
                if path.startswith(prefix + "/"):
                    await handler({**scope, "root_path": scope.get("root_path", "") + prefix}, receive, send)
                    return
        await self.app(scope, receive, send)
