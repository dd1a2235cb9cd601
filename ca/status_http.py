"""The public status endpoints: CRLs and OCSP, over HTTP with caching headers.

- `GET /crl/{ca}.crl`: DER, `application/pkix-crl`, Last-Modified = thisUpdate, ETag per CRL
  number, max-age until the next scheduled regeneration; 304 on If-None-Match.
- `POST /ocsp/{ca}` (body: DER OCSPRequest) and `GET /ocsp/{ca}/{url-encoded base64}`
  (RFC 5019 §5, RFC 9919): `application/ocsp-response`, with Last-Modified = thisUpdate,
  Expires = nextUpdate, `Cache-Control: max-age=…, public, no-transform, must-revalidate`
  and an ETag on cacheable answers; 304 when If-None-Match names the current one.

OCSP is a bare ASGI app (no FastAPI routing or validation per request): it is the hot path.
Errors are OCSP statuses with the reason in an `OCSP-Error-Detail` header; only a body over
`MAX_REQUEST_BYTES` is refused at the HTTP level (413, before it is read).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import unquote

import anyio.to_thread
from fastapi import FastAPI, Request, Response

from mynacard.ca.crl import CrlPublisher
from mynacard.ca.ocsp_responder import MALFORMED_REQUEST, OcspAnswer, OcspResponder, _error
from mynacard.service.errors import ApiError
from mynacard.service.metrics import OCSP_CACHE

#: An OCSP request for one certificate is ~100 bytes (a signed one a few KB); more is abuse.
MAX_REQUEST_BYTES = 64 * 1024
OCSP_CONTENT_TYPE = b"application/ocsp-response"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def install_crl_route(app: FastAPI, publisher: CrlPublisher) -> None:
    @app.get("/crl/{ca}.crl", summary="The CA's current CRL (DER, public)", response_class=Response,
             responses={200: {"content": {"application/pkix-crl": {}}}})
    def crl(ca: str, request: Request) -> Response:
        if ca not in publisher.crl_urls:
            raise ApiError(404, "not-found", f"There is no CA '{ca}' (use sign or auth).")
        published = publisher.current(ca)
        etag = f'"{ca}-{published.number}"'
        remaining = published.this_update + publisher.policy.refresh - datetime.now(UTC)
        headers = {
            "ETag": etag,
            "Last-Modified": http_date(published.this_update),
            "Expires": http_date(min(published.next_update, published.this_update + publisher.policy.refresh)),
            "Cache-Control": f"max-age={max(0, int(remaining.total_seconds()))}, public, no-transform, must-revalidate",
        }
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(published.der, media_type="application/pkix-crl", headers=headers)


class OcspApp:
    """ASGI app for `/ocsp/{ca}` (POST) and `/ocsp/{ca}/{base64}` (GET), mounted at `/ocsp`."""

    def __init__(self, responder: OcspResponder) -> None:
        self.responder = responder
        self.ca_ids = frozenset(responder.service.cas)
        self._counted = {(ca_id, result): OCSP_CACHE.labels(ca_id, result)
                         for ca_id in self.ca_ids for result in ("hit", "miss")}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope.get("path", "")
        root: str = scope.get("root_path", "")
        relative = path[len(root):] if root and path.startswith(root) else path
        ca_id, _, encoded = relative.lstrip("/").partition("/")
        if ca_id not in self.ca_ids:
            await _json(send, 404, "not-found", "There is no OCSP responder here (use /ocsp/sign or /ocsp/auth).")
            return
        method = scope["method"]
        if method == "POST" and not encoded:
            body = await _read_body(scope, receive, send)
            if body is None:
                return
            await self._send_answer(send, await self._answer(ca_id, body), scope, cache=False)
        elif method in ("GET", "HEAD") and encoded:
            # The base64 may hold '/' (escaped or not): take everything after `/{ca}/` in the raw path.
            raw = (scope.get("raw_path") or path.encode()).decode("latin-1")
            raw_relative = raw[len(root):] if root and raw.startswith(root) else raw
            der = _decode_get(raw_relative.lstrip("/").partition("/")[2])
            answer = (await self._answer(ca_id, der) if der is not None
                      else _error(MALFORMED_REQUEST, "the URL does not end in a base64 DER OCSPRequest"))
            await self._send_answer(send, answer, scope, cache=True)
        else:
            await _json(send, 405, "method-not-allowed",
                        "OCSP takes POST /ocsp/{ca} with a DER body, or GET /ocsp/{ca}/{base64 request}.")

    async def _answer(self, ca_id: str, der: bytes) -> OcspAnswer:
        """Errors and pre-signed answers at once; a store read and a signature in a worker thread,
        so one slow database round trip never holds up the answers already cached."""
        question = self.responder.question(ca_id, der)
        if isinstance(question, OcspAnswer):
            return question
        cached = self.responder.cached(question)
        if cached is not None:
            self._counted[question.served.id, "hit"].inc()
            return cached
        self._counted[question.served.id, "miss"].inc()
        return await anyio.to_thread.run_sync(self.responder.answer_question, question)

    async def _send_answer(self, send: Send, answer: OcspAnswer, scope: Scope, *, cache: bool) -> None:
        headers: list[tuple[bytes, bytes]] = [(b"content-type", OCSP_CONTENT_TYPE)]
        if not answer.successful:
            headers.append((b"ocsp-error-detail", answer.detail.encode("ascii", "replace")))
            headers.append((b"cache-control", b"no-store"))
        elif answer.cacheable and answer.this_update and answer.next_update:
            now = datetime.now(UTC)
            policy = self.responder.policy
            fresh_until = min(answer.next_update, answer.this_update + policy.refresh)
            max_age = max(0, math.floor((fresh_until - now).total_seconds()))
            etag = answer.etag.encode()
            headers += [
                (b"last-modified", http_date(answer.this_update).encode()),
                (b"expires", http_date(answer.next_update).encode()),
                (b"cache-control", f"max-age={max_age}, public, no-transform, must-revalidate".encode()),
                (b"etag", etag),
            ]
            if cache and _header(scope, b"if-none-match") == etag:
                await send({"type": "http.response.start", "status": 304, "headers": headers[1:]})
                await send({"type": "http.response.body", "body": b""})
                return
        else:
            headers.append((b"cache-control", b"no-store"))
        headers.append((b"content-length", str(len(answer.der)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else answer.der})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def _decode_get(encoded: str) -> bytes | None:
    """RFC 5019 §5: url-encoding of base64 of the DER (tolerating the URL-safe alphabet)."""
    text = unquote(encoded).replace("-", "+").replace("_", "/")
    if len(text) > 4 * MAX_REQUEST_BYTES // 3:
        return None
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


async def _read_body(scope: Scope, receive: Receive, send: Send) -> bytes | None:
    """The request body, or None after answering 413 when it is over the limit."""
    length = _header(scope, b"content-length")
    if length is not None and length.isdigit() and int(length) > MAX_REQUEST_BYTES:
        await _json(send, 413, "too-large", f"An OCSP request may be at most {MAX_REQUEST_BYTES} bytes.")
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_REQUEST_BYTES:
            await _json(send, 413, "too-large", f"An OCSP request may be at most {MAX_REQUEST_BYTES} bytes.")
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _json(send: Send, status: int, error: str, detail: str) -> None:
    body = json.dumps({"error": error, "detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
