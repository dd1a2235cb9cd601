"""`GET /metrics` of a one-process `mynacard serve`: its token, route templates and never a raw path."""

from __future__ import annotations

import httpx

from ca_server import CaServer


def test_metrics_count_by_route_template_and_need_their_token(server: CaServer) -> None:
    base = f"http://127.0.0.1:{server.port}"
    assert httpx.get(f"{base}/metrics").status_code == 401
    wrong = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {server.tokens['ca-admin']}"})
    assert wrong.status_code == 401 and "metrics token" in wrong.json()["detail"]
    headers = {"Authorization": f"Bearer {server.tokens['ca-admin']}"}
    for serial in ("7A1B2C3D4E5F", "1234ABCD"):
        assert httpx.get(f"{server.url}/v1/sign/certificates/{serial}", headers=headers).status_code == 404
    httpx.get(f"{base}/no/such/page/123456789012")
    text = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {server.tokens['metrics']}"}).text
    assert ('mynacard_http_requests_total{method="GET",route="/ca/v1/{ca}/certificates/{serial}",status="404"} 2.0'
            in text)
    assert 'route="unmatched"' in text
    assert "7A1B2C3D4E5F" not in text and "123456789012" not in text
    assert 'mynacard_http_request_duration_seconds_count{method="GET",route="/ca/v1/{ca}/certificates/{serial}"} 2.0' \
        in text


def test_the_register_fast_routes_count_under_their_route_templates(server: CaServer) -> None:
    """Lookup and 方法2 are answered ahead of the framework (register_stub/fast_routes.py), or passed
    on to it for a refusal: either way under the route's template, never the number."""
    base = f"http://127.0.0.1:{server.port}"
    centre = {"Authorization": f"Bearer {server.tokens['centre']}"}
    free = {"my_number": "123456789018", "purpose": "metrics test"}
    assert httpx.post(f"{base}/register/v1/lookup", json=free, headers=centre).status_code == 404  # answered fast
    assert httpx.post(f"{base}/register/v1/lookup", json=free).status_code == 401  # passed on
    assert httpx.post(f"{base}/register/v1/method2", json=free, headers=centre).status_code == 403  # passed on
    text = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {server.tokens['metrics']}"}).text
    assert 'mynacard_http_requests_total{method="POST",route="/register/v1/lookup",status="404"} 1.0' in text
    assert 'mynacard_http_requests_total{method="POST",route="/register/v1/lookup",status="401"} 1.0' in text
    assert 'mynacard_http_requests_total{method="POST",route="/register/v1/method2",status="403"} 1.0' in text
    assert "123456789018" not in text
