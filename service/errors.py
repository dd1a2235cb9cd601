"""The one error shape of every mynacard service: `{"error": "<code>", "detail": "<one sentence>"}`.

FastAPI answers validation failures with its own list-of-dicts shape and `HTTPException` with
`{"detail": …}`; `install_error_handlers` maps both onto ours, so clients parse one shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mynacard.dates import parse_date

#: Validation problems named in one error answer.
MAX_PROBLEMS = 5


class ApiError(Exception):
    """An answer other than success: HTTP status, a short code and a sentence a person can act on."""

    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers


def error_response(status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


def _describe_validation(exc: RequestValidationError) -> str:
    """The problems, naming each field as the caller sent it (never echoing a value: it may be
    secret; dates, which are not, excepted), in one sentence."""
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return "The body is not valid JSON."
    problems = []
    for error in errors[:MAX_PROBLEMS]:
        location = ".".join(_sent_location(error.get("loc", ()), exc.body)) or "body"
        problems.append(f"'{location}': {_problem(error)}")
    more = f" (and {len(errors) - MAX_PROBLEMS} more)" if len(errors) > MAX_PROBLEMS else ""
    return ("Invalid field " + "; ".join(problems) + more + ".") if problems else "The request is not valid."


def _problem(error: dict[str, Any]) -> str:
    """What is wrong, in the project's words where pydantic's would confuse: a validator's own
    sentence without pydantic's "Value error, " before it; a date off the calendar said so."""
    kind = error.get("type")
    if kind == "extra_forbidden":
        return "is not a field of this call"
    if kind in ("value_error", "assertion_error") and "error" in error.get("ctx", {}):
        return str(error["ctx"]["error"])
    if kind in ("date_from_datetime_parsing", "date_parsing") and isinstance(error.get("input"), str):
        try:
            parse_date(error["input"])
        except ValueError as wrong:
            return str(wrong)
    return str(error.get("msg", "is not valid"))


def _sent_location(loc: Sequence[Any], body: object) -> list[str]:
    """`loc` without the parts the caller never wrote: where it was ("body", "query", "path"), and
    the tag pydantic puts in for the member of a tagged union (`birth.resident.birth_date` is
    `resident.birth_date` in the JSON sent). Walks the body: a part that is not a key (or index)
    of it is not the caller's, unless it is the last part and not a value of its object (a
    missing field is named, though absent; a member's model validator reports at its tag)."""
    parts = list(loc[1:] if loc and loc[0] == "body" else loc)
    sent: list[str] = []
    node = body
    for n, part in enumerate(parts):
        if _holds(node, part):
            node = node[part]  # type: ignore[index]
        elif n < len(parts) - 1 or (isinstance(node, dict) and part in node.values()):
            continue  # a union member's tag (last when a model validator of the member refused)
        sent.append(str(part))
    return sent


def _holds(node: object, part: object) -> bool:
    """Whether `part` is a key of the JSON object `node` or an index of the JSON array `node`."""
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def install_error_handlers(app: FastAPI) -> None:
    """Make every error answer of `app` use the shared shape."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.error, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid-request", _describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return error_response(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))
