"""The terminal's local server: the web UI (static files, no build step) and the integrator
WebSocket on one port, bound to 127.0.0.1 by default.

`/health` answers the operator's monitoring with the state, the devices and counters of results
and money (nothing personal). The WebSocket (`/ws`) accepts browsers only from the kiosk's own origin (so no web page the
kiosk browser might show can drive it) and local programs that send no Origin (integrators).
Each connection receives every STATE and RESULT message and may send commands (api.py).
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
from http import HTTPStatus
from pathlib import Path

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from mynacard.terminal.api import handle_command
from mynacard.terminal.runtime import Kiosk

WEB_DIR = Path(__file__).resolve().parent / "web"
#: Content security: the UI loads nothing from elsewhere and runs no inline script.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}


def _static(path: str) -> Response:
    name = "index.html" if path in ("/", "/index.html") else path.lstrip("/")
    target = (WEB_DIR / name).resolve()
    if target.parent != WEB_DIR or not target.is_file():
        return Response(404, "Not Found", Headers({"Content-Type": "text/plain"}),
                        b"not found\n")
    content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type.endswith("javascript"):
        content_type += "; charset=utf-8"
    headers = Headers({"Content-Type": content_type, **SECURITY_HEADERS})
    return Response(200, "OK", headers, target.read_bytes())


class KioskServer:
    def __init__(self, kiosk: Kiosk, host: str = "127.0.0.1", port: int = 8765) -> None:
        self.kiosk = kiosk
        self.host = host
        self.port = port
        self._server: Server | None = None
        self._clients: dict[ServerConnection, asyncio.Queue[str]] = {}

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path == "/ws":
            origin = request.headers.get("Origin")
            allowed = {f"http://{self.host}:{self.port}", f"http://localhost:{self.port}",
                       f"http://127.0.0.1:{self.port}"}
            if origin is not None and origin not in allowed:
                return connection.respond(HTTPStatus.FORBIDDEN, "foreign origin refused\n")
            return None
        if path == "/health":
            body = json.dumps(self.kiosk.health()).encode()
            return Response(200, "OK", Headers({"Content-Type": "application/json",
                                                **SECURITY_HEADERS}), body)
        return _static(path)

    def _broadcast(self, message: dict[str, object]) -> None:
        text = json.dumps(message, ensure_ascii=False)
        for queue in list(self._clients.values()):
            queue.put_nowait(text)

    @staticmethod
    async def _writer(connection: ServerConnection, queue: asyncio.Queue[str]) -> None:
        """One writer per client, so that it receives messages in the order they happened."""
        try:
            while True:
                await connection.send(await queue.get())
        except ConnectionClosed:
            pass

    async def _handler(self, connection: ServerConnection) -> None:
        queue: asyncio.Queue[str] = asyncio.Queue()
        queue.put_nowait(json.dumps(self.kiosk.state_message(), ensure_ascii=False))
        self._clients[connection] = queue
        writer = asyncio.ensure_future(self._writer(connection, queue))
        try:
            async for raw in connection:
                text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
                for reply in handle_command(self.kiosk, text):
                    queue.put_nowait(json.dumps(reply, ensure_ascii=False))
        except ConnectionClosed:
            pass
        finally:
            del self._clients[connection]
            writer.cancel()

    async def start(self) -> None:
        self.kiosk.subscribe(self._broadcast)
        self._server = await serve(self._handler, self.host, self.port,
                                   process_request=self._process_request,
                                   max_size=64 * 1024)
        if self.port == 0:
            sock = next(iter(self._server.sockets))
            self.port = int(sock.getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
