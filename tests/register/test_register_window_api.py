"""What the register and the centre offer the clerk's window (register_stub/window_api.py,
register_stub/centre/window_documents.py), over HTTP: named clerk tokens that the access records
name, `whoami`, window audit records, a resident's access records for a clerk, 方法2 answers with
the access record written, and 住民票の写し for the window from the centre's generator."""

from __future__ import annotations

import base64

import httpx
import pytest

from register_server import PURPOSE, birth


@pytest.fixture(scope="module")
def named_clerk(services, admin) -> httpx.Client:
    made = admin.post("/v1/clerks", json={"name": "窓口 一郎"})
    assert made.status_code == 201, made.text
    assert made.json()["role"] == "clerk"
    client = httpx.Client(base_url=f"{services.base}/register", timeout=60,
                          headers={"Authorization": f"Bearer {made.json()['token']}"})
    yield client
    client.close()


def test_whoami_names_the_token(named_clerk, services) -> None:
    assert named_clerk.get("/v1/whoami").json() == {"name": "窓口 一郎", "role": "clerk"}
    assert httpx.get(f"{services.base}/register/v1/whoami").status_code == 401


def test_only_an_administrator_makes_clerk_tokens(named_clerk, admin) -> None:
    assert named_clerk.post("/v1/clerks", json={"name": "誰か"}).status_code == 403
    refused = admin.post("/v1/clerks", json={"name": "register-admin"})
    assert refused.status_code == 422 and "service token" in refused.json()["detail"]
    assert admin.get("/v1/whoami").json()["name"] == "register-admin"  # the admin token still works


def test_audit_records_the_clerk_and_refuses_bad_input(named_clerk, admin, clerk) -> None:
    code = birth(clerk, family="監査", given="花子")["resident_code"]
    done = named_clerk.post("/v1/window/audit", json={"action": "window-photo-check", "purpose": "方法1",
                                                      "items": "photo matches the person: yes",
                                                      "outcome": "photo-matches", "resident_code": code})
    assert done.status_code == 200, done.text
    for bad in ({"action": "delete-everything", "purpose": "x", "items": "x"},
                {"action": "window-x", "purpose": "x", "items": "x", "resident_code": code[:-1] + str((int(code[-1]) + 1) % 10)}):
        assert named_clerk.post("/v1/window/audit", json=bad).status_code == 422
    rows = admin.get(f"/v1/residents/{code}/access-records", params=PURPOSE).json()
    window_rows = [r for r in rows if r["action"].startswith("window-")]
    assert [(r["actor"], r["action"], r["outcome"]) for r in window_rows] == [("窓口 一郎", "window-photo-check", "photo-matches")]


def test_a_clerk_reads_a_residents_access_records_and_that_is_recorded(named_clerk, clerk) -> None:
    code = birth(clerk, family="開示", given="太郎")["resident_code"]
    first = named_clerk.get(f"/v1/window/residents/{code}/access-records", params=PURPOSE).json()
    assert [r["action"] for r in first] == ["event:birth"]
    second = named_clerk.get(f"/v1/window/residents/{code}/access-records", params=PURPOSE).json()
    assert second[0]["action"] == "read-access-records" and second[0]["actor"] == "窓口 一郎"
    assert named_clerk.get("/v1/window/residents/00000000000/access-records", params=PURPOSE).status_code in (404, 422)


def test_method2_shows_the_record_it_wrote_when_asked(named_clerk, clerk) -> None:
    created = birth(clerk, family="照会", given="花子", born="1990-01-02", sex="2")
    body = {"my_number": created["my_number"], "name": "照会花子", "birth_date": "1990-01-02", "sex": "女",
            "address": "東京都千代田区見本町1-2-3", "purpose": "方法2"}
    plain = named_clerk.post("/v1/method2", json=body).json()
    assert plain == {"result": "match", "differs": []}
    shown = named_clerk.post("/v1/method2", json={**body, "show_access_record": True}).json()
    record = shown["access_record"]
    assert (record["actor"], record["action"], record["outcome"]) == ("窓口 一郎", "method2-query", "match")
    assert created["my_number"] not in str(record)


def test_the_window_gets_a_residence_certificate_from_the_centre(services, named_clerk, admin, clerk) -> None:
    code = birth(clerk, family="窓口", given="次郎")["resident_code"]
    token = named_clerk.headers["authorization"]
    centre = httpx.Client(base_url=f"{services.base}/centre", headers={"Authorization": token}, timeout=60)
    with centre:
        issued = centre.post("/v1/window/documents", json={"resident_code": code})
        assert issued.status_code == 200, issued.text
        assert base64.b64decode(issued.json()["pdf"]).startswith(b"%PDF")
        verified = centre.get(f"/v1/verify/{issued.json()['verification_code']}").json()
        assert verified["status"] == "valid"
        kiosk = httpx.post(f"{services.base}/centre/v1/window/documents", json={"resident_code": code},
                           headers={"Authorization": f"Bearer {services.tokens['kiosk']}"})
        assert kiosk.status_code == 403  # a kiosk token is not a clerk's
    rows = admin.get(f"/v1/residents/{code}/access-records", params=PURPOSE).json()
    assert any(r["action"] == "centre-issue-juminhyo" and r["actor"] == "窓口 一郎" and r["purpose"] == "窓口交付"
               for r in rows)


def test_register_clerk_add_prints_the_token_once(services, capsys, monkeypatch) -> None:
    from mynacard.main import main

    monkeypatch.setenv("MYNACARD_REGISTER_TOKEN", services.tokens["register-admin"])
    assert main(["register", "clerk", "add", "--url", f"{services.base}/register", "窓口 三郎"]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert "shown only now" in err and token not in err
    who = httpx.get(f"{services.base}/register/v1/whoami", headers={"Authorization": f"Bearer {token}"}).json()
    assert who == {"name": "窓口 三郎", "role": "clerk"}
