from __future__ import annotations

from pathlib import Path

import httpx

from register_server import PURPOSE, Services, birth, event, issue_card, ocsp_status, wait_delivered


def test_move_revokes_signing_keeps_auth(services: Services, admin: httpx.Client, tmp_path: Path) -> None:
    created = birth(admin)
    code = created["resident_code"]
    card = issue_card(admin, code)
    assert ocsp_status(services, "sign", card["sign_serial"], tmp_path) == "good"
    moved = event(admin, code, "move-within", address="東京都千代田区見本町2-3-4")
    rows = wait_delivered(admin, moved["id"])
    assert [(r["ca"], r["status"]) for r in rows] == [("sign", "delivered")]
    assert ocsp_status(services, "sign", card["sign_serial"], tmp_path) == "revoked"
    assert ocsp_status(services, "auth", card["auth_serial"], tmp_path) == "good"
    record = admin.get(f"/v1/residents/{code}", params=PURPOSE).json()
    assert record["current"]["address"] == "東京都千代田区見本町2-3-4"
