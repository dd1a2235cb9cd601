"""The one error shape of every mynacard service: `{"error": "<code>", "detail": "<one sentence>"}`.

FastAPI answers validation failures with its own list-of-dicts shape and `HTTPException` with
`{"detail": …}`; `install_error_handlers` maps both onto ours, so clients parse one shape.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

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
    """The problems, naming each field (never echoing a value: it may be secret), in one sentence."""
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return "The body is not valid JSON."
    problems = []
    for error in errors[:MAX_PROBLEMS]:
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
        message = str(error.get("msg", "is not valid"))
        if error.get("type") == "extra_forbidden":
            message = "is not a field of this call"
        problems.append(f"'{location}': {message}")
    more = f" (and {len(errors) - MAX_PROBLEMS} more)" if len(errors) > MAX_PROBLEMS else ""
    return ("Invalid field " + "; ".join(problems) + more + ".") if problems else "The request is not valid."


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
