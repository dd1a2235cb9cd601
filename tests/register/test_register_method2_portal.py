"""方法2 queries (match / no-match / which items differ, nothing else disclosed), access records,
and the portal login with the card's auth key through the host middleware (in-process card)."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from register_server import PURPOSE, Services, birth, event, issue_card, portal_login, wait_delivered, write_card


@pytest.fixture(scope="module")
def person(admin: httpx.Client) -> dict[str, str]:
    created = birth(admin, family="髙橋", given="花子", born="1985-04-12", sex="2",
                    address="東京都千代田区見本町一丁目2番地3号")
    return {"code": created["resident_code"], "number": created["my_number"]}


def ask(clerk: httpx.Client, number: str, **facts: str) -> dict[str, object]:
    body = {"my_number": number, "name": "髙橋 花子", "birth_date": "1985-04-12", "sex": "2",
            "address": "東京都千代田区見本町1-2-3", "purpose": "児童手当の申請", **facts}
    response = clerk.post("/v1/method2", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.parametrize("facts", [
    {},
    {"name": "高橋　花子"},  # variant kanji 髙 → 高, ideographic space
    {"birth_date": "昭和60年4月12日"},
    {"birth_date": "S60.4.12"},
    {"sex": "女"},
    {"address": "千代田区見本町1丁目2番3号"},  # no prefecture, 番 for 番地
    {"address": "東京都千代田区見本町１－２－３"},  # full-width
    {"address": "東京都千代田区見本町1の2の3"},
])
def test_method2_matches_after_normalisation(clerk: httpx.Client, person: dict[str, str], facts: dict[str, str]) -> None:
    assert ask(clerk, person["number"], **facts) == {"result": "match", "differs": []}


def test_method2_names_only_the_items_that_differ(clerk: httpx.Client, person: dict[str, str]) -> None:
    assert ask(clerk, person["number"], address="東京都千代田区見本町1-2-4") == {"result": "differs", "differs": ["address"]}
    assert ask(clerk, person["number"], name="高橋 花", sex="1") == {"result": "differs", "differs": ["name", "sex"]}
    assert ask(clerk, person["number"], birth_date="1985-04-13") == {"result": "differs", "differs": ["birth_date"]}


def test_method2_unknown_number_discloses_nothing(clerk: httpx.Client, person: dict[str, str]) -> None:
    other = "123456789018" if person["number"] != "123456789018" else "537686677188"
    assert ask(clerk, other) == {"result": "no-match", "differs": []}
    assert ask(clerk, person["number"][:4] + " " + person["number"][4:8] + "-" + person["number"][8:])["result"] == "match"


def test_every_query_is_an_access_record(admin: httpx.Client, clerk: httpx.Client, person: dict[str, str]) -> None:
    before = admin.get(f"/v1/residents/{person['code']}/access-records", params=PURPOSE).json()
    ask(clerk, person["number"], purpose="国民健康保険の資格確認")
    after = admin.get(f"/v1/residents/{person['code']}/access-records", params=PURPOSE).json()
    assert len(after) == len(before) + 2  # the query, and the administrator's own read before it
    assert after[1]["action"] == "read-access-records" and after[1]["role"] == "register-admin"
    newest = after[0]
    assert (newest["actor"], newest["role"], newest["action"], newest["purpose"], newest["outcome"]) == (
        "clerk", "clerk", "method2-query", "国民健康保険の資格確認", "match")
    assert person["number"] not in str(after)  # what was compared, never the values


def test_portal_login_shows_own_record_and_the_clerks_queries(services: Services, admin: httpx.Client,
                                                             clerk: httpx.Client, person: dict[str, str],
                                                             tmp_path: Path) -> None:
    card = issue_card(admin, person["code"])
    card_dir = write_card(card, tmp_path / "card")
    ask(clerk, person["number"], purpose="portal test query")
    me = portal_login(services, f"emulator:{card_dir}")
    record = me.get("/v1/portal/me").json()
    assert record["resident_code"] == person["code"] and record["my_number"] == person["number"]
    records = me.get("/v1/portal/me/access-records").json()
    assert any(r["action"] == "method2-query" and r["purpose"] == "portal test query" and r["actor"] == "clerk"
               for r in records)
    assert any(r["action"] == "portal-login" for r in records)
    # nothing else: no staff endpoint answers a resident session
    for path in (f"/v1/residents/{person['code']}", "/v1/outbox"):
        assert me.get(path, params=PURPOSE).status_code == 401


def test_portal_login_refused_after_loss_and_with_a_forged_signature(services: Services, admin: httpx.Client,
                                                                    tmp_path: Path) -> None:
    code = birth(admin, given="失くし")["resident_code"]
    card = issue_card(admin, code)
    card_dir = write_card(card, tmp_path / "card")
    public = services.register(None)
    challenge = public.post("/v1/portal/challenge").json()["challenge"]
    certificate = (card_dir / "files" / "jpki-000A.bin").read_bytes()
    forged = public.post("/v1/portal/login", json={"challenge": challenge, "signature": base64.b64encode(b"\0" * 256).decode(),
                                                   "certificate": base64.b64encode(certificate).decode()})
    assert forged.status_code == 401 and "does not verify" in forged.json()["detail"]
    replay = public.post("/v1/portal/login", json={"challenge": challenge, "signature": "AAAA", "certificate": "AAAA"})
    assert replay.status_code == 401 and "already used" in replay.json()["detail"]
    lost = admin.post(f"/v1/cards/{card['card_serial']}/lost", json={"cause": "紛失"}).json()
    wait_delivered(admin, lost["id"])
    with pytest.raises(AssertionError, match="revoked or suspended|suspended"):
        portal_login(services, f"emulator:{card_dir}")


def test_portal_login_refused_after_death(services: Services, admin: httpx.Client, tmp_path: Path) -> None:
    code = birth(admin, given="故")["resident_code"]
    card_dir = write_card(issue_card(admin, code), tmp_path / "card")
    done = event(admin, code, "death")
    wait_delivered(admin, done["id"])
    with pytest.raises(AssertionError, match="revoked"):
        portal_login(services, f"emulator:{card_dir}")
