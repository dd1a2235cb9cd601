"""The CA HTTP API: roles, bad input, idempotent revocation; a refused call changes nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.ca.client import CaClient, CaServiceError

from ca_server import CaServer
from ca_service_helpers import issue_sign, public_pem


def snapshot(admin: CaClient) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    return admin.list("sign", limit=1000), admin.list("auth", limit=1000)


def test_openapi_document_lists_the_calls(server: CaServer) -> None:
    paths = httpx.get(f"{server.url}/openapi.json").json()["paths"]
    for path in ("/v1/cas", "/v1/sign/certificates", "/v1/{ca}/certificates/{serial}/revoke",
                 "/v1/{ca}/certificates/{serial}/hold", "/v1/{ca}/certificates/{serial}/release",
                 "/crl/{ca}.crl", "/v1/backup"):
        assert path in paths


def test_unauthenticated_and_unknown_tokens_are_401(server: CaServer, admin: CaClient,
                                                     pool_keys: list[rsa.RSAPrivateKey]) -> None:
    before = snapshot(admin)
    for token in (None, "not-a-token"):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.post(f"{server.url}/v1/sign/certificates", headers=headers,
                              json={"public_key_pem": public_pem(pool_keys[0])})
        assert response.status_code == 401
        assert response.json()["error"] == "unauthenticated" and response.json()["detail"].endswith(".")
        assert response.headers["www-authenticate"] == "Bearer"
    assert snapshot(admin) == before


def test_issuer_role_may_issue_and_revoke_but_not_back_up(server: CaServer, admin: CaClient,
                                                         pool_keys: list[rsa.RSAPrivateKey]) -> None:
    with server.client("register->ca") as issuer:
        record = issue_sign(issuer, pool_keys[0], resident_id="R-1", card_serial="900000000000001")
        assert issuer.revoke("sign", str(record["serial"]), "superseded")["status"] == "revoked"
        with pytest.raises(CaServiceError) as refused:
            issuer.backup()
        assert refused.value.status == 403 and "ca-admin" in refused.value.detail
    assert admin.list("sign", resident_id="R-1")[0]["card_serial"] == "900000000000001"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "JSON"),
        (b'{"public_key_pem": 5}', "public_key_pem"),
        (b'{"unknown_field": 1}', "unknown_field"),
        (b"[]", "body"),
    ],
)
def test_bad_json_is_422_with_a_reason(server: CaServer, admin: CaClient, body: bytes, fragment: str) -> None:
    before = snapshot(admin)
    response = httpx.post(f"{server.url}/v1/sign/certificates", content=body,
                          headers={"Authorization": f"Bearer {server.tokens['ca-admin']}",
                                   "Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"] == "invalid-request"
    assert fragment in response.json()["detail"]
    assert snapshot(admin) == before


def test_refused_issuance_says_why(admin: CaClient, pool_keys: list[rsa.RSAPrivateKey]) -> None:
    before = snapshot(admin)
    with pytest.raises(CaServiceError) as bad_key:
        admin.issue_auth(public_key_pem="-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
                         birth_date=date(1985, 4, 12),
                         locality={"prefecture": "Tokyo", "city": "Kiyose-shi"}, municipality_code="13221",
                         card_expiry=date(2034, 4, 12))
    assert bad_key.value.status == 422 and "PEM" in bad_key.value.detail
    with pytest.raises(CaServiceError) as bad_name:
        admin.issue_sign(public_key_pem=public_pem(pool_keys[0]),
                         person={"name": "NoSpace", "sex": "2", "birth_date": "1985-04-12", "address": "東京都"},
                         locality={"prefecture": "Tokyo", "city": "Kiyose-shi"}, municipality_code="13221",
                         card_expiry=date(2034, 4, 12))
    assert bad_name.value.status == 422 and "U+3000" in bad_name.value.detail
    assert snapshot(admin) == before


def test_revocation_is_idempotent_and_final(admin: CaClient, pool_keys: list[rsa.RSAPrivateKey]) -> None:
    serial = str(issue_sign(admin, pool_keys[1])["serial"])
    first = admin.revoke("sign", serial, "keyCompromise", cause="first")
    second = admin.revoke("sign", serial, "superseded", cause="second")
    assert second["revocation"] == first["revocation"]
    for call in (admin.hold, admin.release):
        with pytest.raises(CaServiceError) as conflict:
            call("sign", serial)
        assert conflict.value.status == 409
    with pytest.raises(CaServiceError) as bad_reason:
        admin.revoke("auth", serial, "certificateHold")
    assert bad_reason.value.status in (404, 422)
    with pytest.raises(CaServiceError) as bad_reason:
        admin.revoke("sign", serial, "notAReason")
    assert bad_reason.value.status == 422 and "reason must be one of" in bad_reason.value.detail
    assert [e["action"] for e in admin.events("sign", serial)] == ["issue", "revoke"]


def test_unknown_serial_and_ca(admin: CaClient) -> None:
    for ca, serial in (("sign", "ABCDEF"), ("sign", "zz"), ("nope", "01")):
        with pytest.raises(CaServiceError) as missing:
            admin.get(ca, serial)
        assert missing.value.status in (400, 404, 422)
        assert missing.value.detail


def _sign_body(pool_keys: list[rsa.RSAPrivateKey], **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "public_key_pem": public_pem(pool_keys[0]),
        "person": {"name": "見本\u3000花子", "sex": "2", "birth_date": "1985-04-12", "address": "東京都"},
        "locality": {"prefecture": "Tokyo", "city": "Kiyose-shi"},
        "municipality_code": "13221",
        "card_expiry": "2034-04-12",
    }
    return body | changes


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"auth_not_after": "2030-01-01T00:00:00"}, 422),  # no time zone: ambiguous
        ({"card_expiry": "2001-01-01"}, 422),  # before the certificate would start
        ({"municipality_code": "1322"}, 422),
        ({"person": {"name": "見本\u3000花子", "sex": "9", "birth_date": "1985-04-12", "address": "x"}}, 422),
        ({"person": {"name": "見本\u3000花子", "sex": "2", "birth_date": "1985-02-30", "address": "x"}}, 422),
        ({"csr_pem": "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"}, 422),
        ({"public_key_pem": None}, 422),  # neither key nor CSR
        ({"locality": {"prefecture": "", "city": "x"}}, 422),
        ({"resident_id": "r" * 101}, 422),
        ({"person": "not an object"}, 422),
    ],
)
def test_edge_case_bodies_are_refused_with_a_reason(server: CaServer, admin: CaClient,
                                                   pool_keys: list[rsa.RSAPrivateKey],
                                                   changes: dict[str, object], status: int) -> None:
    before = snapshot(admin)
    response = httpx.post(f"{server.url}/v1/sign/certificates", json=_sign_body(pool_keys, **changes),
                          headers={"Authorization": f"Bearer {server.tokens['ca-admin']}"})
    assert response.status_code == status, response.text
    assert response.json()["detail"].endswith(".") or response.json()["detail"]
    assert snapshot(admin) == before


def test_revoke_with_naive_invalidity_date_is_refused(server: CaServer, admin: CaClient,
                                                      pool_keys: list[rsa.RSAPrivateKey]) -> None:
    serial = str(issue_sign(admin, pool_keys[1])["serial"])
    response = httpx.post(f"{server.url}/v1/sign/certificates/{serial}/revoke",
                          json={"reason": "keyCompromise", "invalidity_date": "2026-01-01T00:00:00"},
                          headers={"Authorization": f"Bearer {server.tokens['ca-admin']}"})
    assert response.status_code == 422 and "invalidity_date" in response.json()["detail"]
    assert admin.get("sign", serial)["status"] == "good"
    japan = timezone(timedelta(hours=9))
    dated = admin.revoke("sign", serial, "keyCompromise", invalidity_date=datetime(2026, 1, 1, tzinfo=japan))
    revocation = dated["revocation"]
    assert isinstance(revocation, dict) and str(revocation["invalidity_date"]).startswith("2025-12-31T15:00:00")
