"""The register service's refusals, each an HTTP answer with one sentence (service/errors.py).

Raised by the domain modules so that an API call, a CLI call and a test all see the same reason.
Messages name the item that is wrong, never its value (My Numbers and names stay out of logs).
"""

from __future__ import annotations

import logging

from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from mynacard.service.errors import ApiError, error_response

log = logging.getLogger(__name__)


class Invalid(ApiError):
    def __init__(self, detail: str) -> None:
        super().__init__(422, "invalid-request", detail)


class NotFound(ApiError):
    def __init__(self, detail: str) -> None:
        super().__init__(404, "not-found", detail)


class Conflict(ApiError):
    """The request is well-formed but the record's state does not allow it (e.g. a dead resident)."""

    def __init__(self, detail: str) -> None:
        super().__init__(409, "conflict", detail)


class Upstream(ApiError):
    """The CA service refused or could not be reached; nothing was recorded."""

    def __init__(self, detail: str) -> None:
        super().__init__(502, "ca-service-error", detail)


def database_error_response(exc: Exception) -> JSONResponse:
    """A database refusal, logged and answered without its message: PostgreSQL's details quote
    key values (`Key (number)=(…) already exists`), which may be My Numbers."""
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    log.error("register: the database refused a request (%s); the transaction was rolled back", type(cause).__name__)
    return error_response(503, "database-error",
                          "The register's database refused the request and nothing was recorded; try again.")
