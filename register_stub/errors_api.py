"""The register service's refusals, each an HTTP answer with one sentence (service/errors.py).

Raised by the domain modules so that an API call, a CLI call and a test all see the same reason.
Messages name the item that is wrong, never its value (My Numbers and names stay out of logs).
"""

from __future__ import annotations

from mynacard.service.errors import ApiError


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
