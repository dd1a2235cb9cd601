"""The register (and centre) over HTTP, with the logged-in clerk's own token.

Every call carries the clerk's token, so the register's access records name the clerk who made
it. Errors become `RegisterError` with the register's own sentence (never a value the clerk typed).
"""

from __future__ import annotations

from typing import Any, TypeAlias

import httpx

from mynacard.errors import UserError

#: A decoded JSON answer (the register's schemas are in its OpenAPI document, /register/openapi.json).
Json: TypeAlias = Any
#: Query parameters.
Param: TypeAlias = str | int | None


class RegisterError(UserError):
    """The register refused or could not be reached; `sentence` is for the screen."""

    def __init__(self, sentence: str, status: int = 0, code: str = "") -> None:
        super().__init__(sentence)
        self.status = status
        self.code = code


class RegisterClient:
    """One clerk's view of the register: `get`/`post` JSON under `/v1`, `get_bytes` for PDFs."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport,
                                    headers={"Authorization": f"Bearer {token}"})

    def __repr__(self) -> str:  # the token stays out of every repr and log line
        return f"RegisterClient({self.base_url!r})"

    def close(self) -> None:
        self._client.close()

    def _request(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        try:
            response = self._client.request(method, path, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            raise RegisterError(f"The register at {self.base_url} cannot be reached ({type(exc).__name__}); "
                                "check that `mynacard serve` is running.") from None
        if response.status_code >= 400:
            code, sentence = "", f"The register answered HTTP {response.status_code}."
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict):  # the services' one error shape: {"error": code, "detail": sentence}
                code = str(body.get("error") or "")
                if isinstance(body.get("detail"), str):
                    sentence = body["detail"]
            raise RegisterError(sentence, response.status_code, code)
        return response

    def get(self, path: str, **params: Param) -> Json:
        return self._request("GET", f"/v1{path}", params=params or None).json()

    def post(self, path: str, body: object = None) -> Json:
        return self._request("POST", f"/v1{path}", json=body).json()

    def get_bytes(self, path: str, **params: Param) -> tuple[bytes, str]:
        """Raw body and content type (the 住民票の写し PDF)."""
        response = self._request("GET", f"/v1{path}", params=params or None)
        return response.content, response.headers.get("content-type", "application/octet-stream")

    # --- calls every screen uses ----------------------------------------------------------------

    def whoami(self) -> dict[str, str]:
        """The token's name and role: how a login is checked."""
        result: dict[str, str] = self.get("/whoami")
        return result

    def audit(self, action: str, *, purpose: str, items: str, outcome: str = "ok",
              resident_code: str | None = None) -> None:
        """Write one access record for a window action (never values, only item names)."""
        self.post("/window/audit", {"action": action, "purpose": purpose, "items": items,
                                    "outcome": outcome, "resident_code": resident_code})
