"""`CaClient`: the CA service's HTTP API from Python (used by the register and `mynacard ca …`).

Every method returns the service's JSON as a dict (certificate records as `CertificateOut` in
`ca/http.py` describes them) and raises `CaServiceError` for any error answer, with the
service's own one-sentence reason.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path
from typing import cast

import httpx

from mynacard.errors import UserError

JsonObject = dict[str, object]


class CaServiceError(UserError):
    """An error answer (or no answer) from the CA service: a sentence for the person at the CLI."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(f"CA service: {detail} ({status} {error})" if status else f"CA service: {detail}")
        self.status = status
        self.error = error
        self.detail = detail


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class CaClient:
    """A caller of one CA service (`base_url` ends in `/ca`, e.g. `http://127.0.0.1:8470/ca`)."""

    def __init__(self, base_url: str, token: str, *, http: httpx.Client | None = None, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._http = http or httpx.Client(timeout=timeout)

    def __repr__(self) -> str:  # never show the token
        return f"CaClient({self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CaClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _send(self, method: str, path: str, *, json: object = None, params: dict[str, str] | None = None,
              authenticated: bool = True) -> httpx.Response:
        url = f"{self.base_url}{path}"
        headers = {"Authorization": f"Bearer {self._token}"} if authenticated else {}
        try:
            response = self._http.request(method, url, json=json, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise CaServiceError(0, "unreachable", f"cannot reach {self.base_url} ({type(exc).__name__})") from None
        if response.status_code >= 400:
            try:
                body = response.json()
                error, detail = str(body["error"]), str(body["detail"])
            except (ValueError, KeyError, TypeError):
                error, detail = "http-error", f"HTTP {response.status_code} from {url}"
            raise CaServiceError(response.status_code, error, detail)
        return response

    def _request(self, method: str, path: str, *, json: object = None, params: dict[str, str] | None = None) -> object:
        return self._send(method, path, json=json, params=params).json()

    def cas(self) -> list[JsonObject]:
        """The served CAs: id, certificate_pem, ocsp_url, crl_url, origin (public call)."""
        return cast(list[JsonObject], self._request("GET", "/v1/cas"))

    def issue_sign(
        self,
        *,
        person: dict[str, str],
        locality: dict[str, str],
        municipality_code: str,
        card_expiry: date,
        public_key_pem: str | None = None,
        csr_pem: str | None = None,
        auth_not_after: datetime | None = None,
        resident_id: str | None = None,
        card_serial: str | None = None,
    ) -> JsonObject:
        """A signing certificate; `person` = {"name", "sex", "birth_date" (YYYY-MM-DD), "address"}."""
        return self._issue("sign", locals(), {"person": person, "auth_not_after": _iso(auth_not_after)})

    def issue_auth(
        self,
        *,
        birth_date: date,
        locality: dict[str, str],
        municipality_code: str,
        card_expiry: date,
        public_key_pem: str | None = None,
        csr_pem: str | None = None,
        resident_id: str | None = None,
        card_serial: str | None = None,
    ) -> JsonObject:
        """A user-authentication certificate (no personal data but the birth date, which bounds it)."""
        return self._issue("auth", locals(), {"birth_date": _iso(birth_date)})

    def _issue(self, ca: str, arguments: dict[str, object], specific: dict[str, object]) -> JsonObject:
        """The fields both profiles share, taken from the caller's arguments, plus its own."""
        common = ("public_key_pem", "csr_pem", "locality", "municipality_code", "resident_id", "card_serial")
        body = {name: arguments[name] for name in common} | {"card_expiry": _iso(cast(date, arguments["card_expiry"]))}
        return cast(JsonObject, self._request("POST", f"/v1/{ca}/certificates", json=body | specific))

    def get(self, ca: str, serial: str) -> JsonObject:
        return cast(JsonObject, self._request("GET", f"/v1/{ca}/certificates/{serial}"))

    def events(self, ca: str, serial: str) -> list[JsonObject]:
        return cast(list[JsonObject], self._request("GET", f"/v1/{ca}/certificates/{serial}/events"))

    def list(
        self,
        ca: str,
        *,
        resident_id: str | None = None,
        card_serial: str | None = None,
        status: str | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> list[JsonObject]:
        params = {"resident_id": resident_id, "card_serial": card_serial, "status": status, "after": after}
        query = {k: v for k, v in params.items() if v is not None} | {"limit": str(limit)}
        return cast(list[JsonObject], self._request("GET", f"/v1/{ca}/certificates", params=query))

    def _change(self, ca: str, serial: str, action: str, body: dict[str, str | None]) -> JsonObject:
        return cast(JsonObject, self._request("POST", f"/v1/{ca}/certificates/{serial}/{action}", json=body))

    def revoke(self, ca: str, serial: str, reason: str, cause: str | None = None,
               invalidity_date: datetime | None = None) -> JsonObject:
        """Revoke with an RFC 5280 reason name (e.g. `affiliationChanged`); idempotent.
        `invalidity_date` (timezone-aware): when the key is known or suspected to have been compromised."""
        return self._change(ca, serial, "revoke",
                            {"reason": reason, "cause": cause, "invalidity_date": _iso(invalidity_date)})

    def hold(self, ca: str, serial: str, cause: str | None = None) -> JsonObject:
        return self._change(ca, serial, "hold", {"cause": cause})

    def release(self, ca: str, serial: str, cause: str | None = None) -> JsonObject:
        return self._change(ca, serial, "release", {"cause": cause})

    def new_crl(self, ca: str) -> JsonObject:
        """Have the service make a new CRL now (ca-admin)."""
        return cast(JsonObject, self._request("POST", f"/v1/{ca}/crl"))

    def new_token(self, name: str, role: str) -> JsonObject:
        """A new API token `name` with `role` (ca-admin); the answer holds the token, shown only once.
        Making a token under an existing name replaces the old one."""
        return cast(JsonObject, self._request("POST", "/v1/tokens", json={"name": name, "role": role}))

    def backup(self) -> bytes:
        """A backup archive (tar.gz) of the whole CA service (ca-admin)."""
        return self._raw("GET", "/v1/backup", authenticated=True)

    def crl(self, ca: str) -> bytes:
        """The CA's current CRL (DER)."""
        return self._raw("GET", f"/crl/{ca}.crl", authenticated=False)

    def _raw(self, method: str, path: str, *, authenticated: bool) -> bytes:
        return self._send(method, path, authenticated=authenticated).content


#: Environment variables `mynacard ca …` and `card new --ca-url` read.
TOKEN_ENV = "MYNACARD_CA_TOKEN"
URL_ENV = "MYNACARD_CA_URL"
DEFAULT_URL = "http://127.0.0.1:8470/ca"


def resolve_token(data_dir: Path | None, token_name: str) -> str:
    """The API token: `MYNACARD_CA_TOKEN`, else entry `token_name` of DATA/tokens.json (`mynacard serve`'s)."""
    token = os.environ.get(TOKEN_ENV)
    if token:
        return token
    if data_dir is None:
        from mynacard.service.config import default_data_dir

        data_dir = default_data_dir()
    path = data_dir / "tokens.json"
    try:
        tokens = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CaServiceError(0, "no-token", f"no API token: set {TOKEN_ENV} or give --data DIR of `mynacard serve` "
                                            f"({path} does not exist)") from None
    except (OSError, ValueError):
        raise CaServiceError(0, "no-token", f"cannot read the tokens file {path}") from None
    if token_name not in tokens:
        raise CaServiceError(0, "no-token", f"{path} has no token named '{token_name}'")
    return str(tokens[token_name])
