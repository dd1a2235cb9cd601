"""`CaClient`: the CA service's HTTP API from Python (used by the register and `mynacard ca …`).

Every method returns the service's JSON as a dict (certificate records as `CertificateOut` in
`ca/http.py` describes them) and raises `CaServiceError` for any error answer, with the
service's own one-sentence reason.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

import httpx

JsonObject = dict[str, object]


class CaServiceError(Exception):
    """An error answer (or no answer) from the CA service."""

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

    def _request(self, method: str, path: str, *, json: object = None, params: dict[str, str] | None = None) -> object:
        url = f"{self.base_url}{path}"
        try:
            response = self._http.request(
                method, url, json=json, params=params, headers={"Authorization": f"Bearer {self._token}"}
            )
        except httpx.HTTPError as exc:
            raise CaServiceError(0, "unreachable", f"cannot reach {self.base_url} ({type(exc).__name__})") from None
        if response.status_code >= 400:
            try:
                body = response.json()
                error, detail = str(body["error"]), str(body["detail"])
            except (ValueError, KeyError, TypeError):
                error, detail = "http-error", f"HTTP {response.status_code} from {url}"
            raise CaServiceError(response.status_code, error, detail)
        return response.json()

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
        body = {
            "public_key_pem": public_key_pem,
            "csr_pem": csr_pem,
            "person": person,
            "locality": locality,
            "municipality_code": municipality_code,
            "card_expiry": _iso(card_expiry),
            "auth_not_after": _iso(auth_not_after),
            "resident_id": resident_id,
            "card_serial": card_serial,
        }
        return cast(JsonObject, self._request("POST", "/v1/sign/certificates", json=body))

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
        body = {
            "public_key_pem": public_key_pem,
            "csr_pem": csr_pem,
            "birth_date": _iso(birth_date),
            "locality": locality,
            "municipality_code": municipality_code,
            "card_expiry": _iso(card_expiry),
            "resident_id": resident_id,
            "card_serial": card_serial,
        }
        return cast(JsonObject, self._request("POST", "/v1/auth/certificates", json=body))

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

    def revoke(self, ca: str, serial: str, reason: str, cause: str | None = None) -> JsonObject:
        """Revoke with an RFC 5280 reason name (e.g. `affiliationChanged`); idempotent."""
        return self._change(ca, serial, "revoke", {"reason": reason, "cause": cause})

    def hold(self, ca: str, serial: str, cause: str | None = None) -> JsonObject:
        return self._change(ca, serial, "hold", {"cause": cause})

    def release(self, ca: str, serial: str, cause: str | None = None) -> JsonObject:
        return self._change(ca, serial, "release", {"cause": cause})

    def crl(self, ca: str) -> bytes:
        """The CA's current CRL (DER)."""
        try:
            response = self._http.get(f"{self.base_url}/crl/{ca}.crl")
        except httpx.HTTPError as exc:
            raise CaServiceError(0, "unreachable", f"cannot reach {self.base_url} ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise CaServiceError(response.status_code, "http-error", f"no CRL for '{ca}'")
        return response.content
