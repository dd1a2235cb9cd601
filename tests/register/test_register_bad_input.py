"""Bad input on every endpoint: a 4xx with a clear one-sentence reason, and nothing changed
(every register table, the code pools' counters and the CA's certificate count are compared
before and after).

Some refusals come half-way through an event, after rows were written in its transaction: a
birth into an unknown household has already taken a 住民票コード from the pool and issued a My
Number; a name change to the recorded name has already written its event row. They must leave
no trace either.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

import httpx
import pytest

from mynacard.register_stub.schemas import today_in_japan
from register_server import PINS, Services, birth, event, issue_card

#: Tomorrow where the register decides what is "in the future": Japan (UTC+9), not this machine.
TOMORROW = (today_in_japan() + timedelta(days=1)).isoformat()
RESIDENT = {"family_name": "見本", "given_name": "一郎", "birth_date": "1990-01-01", "sex": "1",
            "address": "東京都千代田区見本町1-1"}


def new_record(**changes: Any) -> dict[str, Any]:
    resident = {**RESIDENT, **changes.pop("resident", {})}
    return {"kind": "birth", "event_date": "1990-01-01", "cause": "出生届", "municipality_code": "13101",
            "resident": resident, **changes}


@pytest.fixture(scope="module")
def known(services: Services, admin: httpx.Client) -> dict[str, str]:
    living = birth(admin)["resident_code"]
    card = issue_card(admin, living)
    dead = birth(admin, given="故人")["resident_code"]
    event(admin, dead, "death")
    without_card = birth(admin, given="無札")["resident_code"]
    return {"code": living, "card": card["card_serial"], "dead": dead, "nocard": without_card, "unknown": "24727059608"}


def snapshot(services: Services) -> dict[str, int]:
    with sqlite3.connect(services.data_dir / "register.sqlite3") as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'register_%'")]
        counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
        counts["versions"] = db.execute("SELECT sum(current_version) FROM register_residents").fetchone()[0]
        counts["codes taken"] = db.execute("SELECT sum(issued) FROM register_code_pools").fetchone()[0]
        counts["pool cursor"] = db.execute("SELECT next_base FROM register_pool_cursor").fetchone()[0]
    counts["ca certificates"] = len(services.ca().list("sign", limit=1000)) + len(services.ca().list("auth", limit=1000))
    return counts


# (case id, token name, method, path, json body or query params, status, words the reason contains)
CASES: list[tuple[str, str | None, str, str, Any, int, str]] = [
    ("no token", None, "POST", "/v1/residents", new_record(), 401, "token"),
    ("unknown token", "bogus", "POST", "/v1/residents", new_record(), 401, "not known"),
    ("wrong role", "centre", "POST", "/v1/residents", new_record(), 403, "may not"),
    ("missing body", "clerk", "POST", "/v1/residents", None, 422, "Field"),
    ("not JSON", "clerk", "POST", "/v1/residents", b"{", 422, "JSON"),
    ("unknown kind", "clerk", "POST", "/v1/residents", {**new_record(), "kind": "adoption"}, 422, "kind"),
    ("missing name", "clerk", "POST", "/v1/residents", new_record(resident={"family_name": ""}), 422, "family_name"),
    ("name with a space", "clerk", "POST", "/v1/residents", new_record(resident={"given_name": "一 郎"}), 422, "spaces"),
    ("impossible date", "clerk", "POST", "/v1/residents", new_record(resident={"birth_date": "1990-02-30"}), 422, "birth_date"),
    ("birth in the future", "clerk", "POST", "/v1/residents", new_record(resident={"birth_date": TOMORROW}), 422, "future"),
    ("event in the future", "clerk", "POST", "/v1/residents", new_record(event_date=TOMORROW), 422, "future"),
    ("born after the event", "clerk", "POST", "/v1/residents", new_record(event_date="1989-12-31"), 422, "after the event"),
    ("sex 4", "clerk", "POST", "/v1/residents", new_record(resident={"sex": "4"}), 422, "sex"),
    ("bad municipality", "clerk", "POST", "/v1/residents", new_record(municipality_code="1310"), 422, "municipality_code"),
    ("address outside the prefecture", "clerk", "POST", "/v1/residents",
     new_record(resident={"address": "大阪府大阪市1-1"}), 422, "prefecture"),
    ("unknown household", "clerk", "POST", "/v1/residents",
     new_record(resident={"household_id": 999999, "relationship": "子"}), 404, "household"),
    ("new household without a head", "clerk", "POST", "/v1/residents",
     new_record(resident={"relationship": "子"}), 422, "世帯主"),
    ("foreign resident with 本籍", "clerk", "POST", "/v1/residents", new_record(resident={
        "honseki": "東京都", "foreign": {"nationality": "米国", "category": "中長期在留者",
                                         "became_foreign_resident_on": "2020-01-01"}}), 422, "本籍"),
    ("bad residence card number", "clerk", "POST", "/v1/residents", new_record(resident={
        "foreign": {"nationality": "米国", "category": "中長期在留者", "residence_card_number": "123",
                    "became_foreign_resident_on": "2020-01-01"}}), 422, "residence_card_number"),
    ("extra field", "clerk", "POST", "/v1/residents", new_record(resident={"blood_type": "A"}), 422, "blood_type"),
    ("bad code", "clerk", "GET", "/v1/residents/12345", {"purpose": "t"}, 422, "住民票コード"),
    ("bad check digit", "clerk", "GET", "/v1/residents/24727059607", {"purpose": "t"}, 422, "check digit"),
    ("unknown resident", "clerk", "GET", "/v1/residents/{unknown}", {"purpose": "t"}, 404, "no resident"),
    ("read without purpose", "clerk", "GET", "/v1/residents/{code}", {}, 422, "purpose"),
    ("event for unknown resident", "clerk", "POST", "/v1/residents/{unknown}/events",
     {"kind": "death", "event_date": "2020-01-01", "cause": "死亡届"}, 404, "no resident"),
    ("move-in without move-out", "clerk", "POST", "/v1/residents/{code}/events",
     {"kind": "move-in", "event_date": "2020-01-02", "cause": "転入届", "moved_in_on": "2020-01-01",
      "municipality_code": "27100", "address": "大阪府大阪市1-1"}, 409, "move-out"),
    ("moved in after the notice", "clerk", "POST", "/v1/residents/{code}/events",
     {"kind": "move-in", "event_date": "2020-01-01", "cause": "転入届", "moved_in_on": "2020-01-02",
      "municipality_code": "27100", "address": "大阪府大阪市1-1"}, 422, "after the notice"),
    ("empty correction", "clerk", "POST", "/v1/residents/{code}/events",
     {"kind": "correction", "event_date": "2020-01-01", "cause": "職権"}, 422, "correction"),
    ("same name", "clerk", "POST", "/v1/residents/{code}/events",
     {"kind": "name-change", "event_date": "2020-01-01", "cause": "婚姻", "family_name": "見本"}, 409, "already"),
    ("event after death", "clerk", "POST", "/v1/residents/{dead}/events",
     {"kind": "move-within", "event_date": "2020-01-01", "cause": "転居届", "address": "東京都千代田区1"}, 409, "deleted"),
    ("move to another prefecture as a move within", "clerk", "POST", "/v1/residents/{code}/events",
     {"kind": "move-within", "event_date": "2020-01-01", "cause": "転居届", "address": "大阪府大阪市1"}, 422, "prefecture"),
    ("event without cause", "clerk", "POST", "/v1/residents/{code}/events",
     {"kind": "death", "event_date": "2020-01-01"}, 422, "cause"),
    ("number replacement by a clerk", "clerk", "POST", "/v1/residents/{code}/my-number/replace",
     {"cause": "漏えい"}, 403, "may not"),
    ("lookup with 11 digits", "centre", "POST", "/v1/lookup", {"my_number": "12345678901", "purpose": "t"}, 422, "my_number"),
    ("method2 with a bad number", "clerk", "POST", "/v1/method2", {"my_number": "1234", "name": "a", "birth_date": "1990-01-01",
                                                                   "sex": "1", "address": "x", "purpose": "t"}, 422, "my_number"),
    ("lookup with a wrong check digit", "centre", "POST", "/v1/lookup", {"my_number": "123456789019", "purpose": "t"}, 422,
     "check digit"),
    ("method2 with a wrong check digit", "clerk", "POST", "/v1/method2",
     {"my_number": "1234-5678-9019", "name": "a", "birth_date": "1990-01-01", "sex": "1", "address": "x", "purpose": "t"},
     422, "check digit"),
    ("method2 with an unreadable date", "clerk", "POST", "/v1/method2",
     {"my_number": "123456789018", "name": "a", "birth_date": "someday", "sex": "1", "address": "x", "purpose": "t"},
     422, "birth date"),
    ("method2 by the centre", "centre", "POST", "/v1/method2",
     {"my_number": "123456789018", "name": "a", "birth_date": "1990-01-01", "sex": "1", "address": "x", "purpose": "t"},
     403, "may not"),
    ("card with a bad PIN", "clerk", "POST", "/v1/residents/{code}/cards", {"pins": {**PINS, "auth_pin": "12"}}, 422, "auth_pin"),
    ("second card", "clerk", "POST", "/v1/residents/{code}/cards", {"pins": PINS}, 409, "already holds"),
    ("card for the dead", "clerk", "POST", "/v1/residents/{dead}/cards", {"pins": PINS}, 409, "active residents"),
    ("card expiry in the past", "clerk", "POST", "/v1/residents/{nocard}/cards", {"pins": PINS, "card_expiry": "2000-01-01"},
     422, "expiry"),
    ("card with a photo that is no image", "clerk", "POST", "/v1/residents/{nocard}/cards",
     {"pins": PINS, "photo_base64": "aGVsbG8="}, 422, "photo"),
    ("bad card serial", "clerk", "POST", "/v1/cards/123/lost", {"cause": "紛失"}, 422, "15 digits"),
    ("unknown card", "clerk", "POST", "/v1/cards/999999999999999/lost", {"cause": "紛失"}, 404, "no card"),
    ("found before lost", "clerk", "POST", "/v1/cards/{card}/found", {"cause": "発見"}, 409, "not reported lost"),
    ("outbox for a clerk", "clerk", "GET", "/v1/outbox", {}, 403, "may not"),
    ("retry unknown outbox entry", "register-admin", "POST", "/v1/outbox/999999/retry", None, 404, "does not exist"),
    ("unknown event", "clerk", "GET", "/v1/events/999999", {"purpose": "t"}, 404, "does not exist"),
    ("unknown household read", "clerk", "GET", "/v1/households/999999", {"purpose": "t"}, 404, "does not exist"),
    ("history without purpose", "clerk", "GET", "/v1/residents/{code}/versions", {}, 422, "purpose"),
    ("events of an unknown resident", "clerk", "GET", "/v1/residents/{unknown}/events", {"purpose": "t"}, 404,
     "no resident"),
    ("application form for a bad code", "clerk", "GET", "/v1/residents/123/application-form", {"purpose": "t"}, 422,
     "住民票コード"),
    ("cards without purpose", "clerk", "GET", "/v1/residents/{code}/cards", {}, 422, "purpose"),
    ("reissue of an unknown card", "clerk", "POST", "/v1/cards/999999999999999/reissue", {"pins": PINS}, 404, "no card"),
    ("reissue with a bad password", "clerk", "POST", "/v1/cards/{card}/reissue",
     {"pins": {**PINS, "sign_password": "abc"}}, 422, "sign_password"),
    ("outbox delivery by a clerk", "clerk", "POST", "/v1/outbox/deliver", None, 403, "may not"),
    ("outbox with an unknown status", "register-admin", "GET", "/v1/outbox", {"status": "lost"}, 422, "status"),
    ("sweep by a clerk", "clerk", "POST", "/v1/deadlines/sweep", None, 403, "may not"),
    ("access records by a clerk", "clerk", "GET", "/v1/residents/{code}/access-records", {}, 403, "may not"),
    ("access records, limit 0", "register-admin", "GET", "/v1/residents/{code}/access-records", {"limit": "0", "purpose": "t"}, 422,
     "limit"),
    ("own access records without a session", None, "GET", "/v1/portal/me/access-records", {}, 401, "Log in"),
    ("login with an unknown challenge", None, "POST", "/v1/portal/login",
     {"challenge": "nope", "signature": "AAAA", "certificate": "AAAA"}, 401, "challenge"),
    ("portal without a session", None, "GET", "/v1/portal/me", {}, 401, "Log in"),
    ("portal with a staff token", "clerk", "GET", "/v1/portal/me", {}, 401, "portal session"),
]


@pytest.mark.parametrize(("case", "token", "method", "path", "payload", "status", "words"), CASES,
                         ids=[c[0] for c in CASES])
def test_bad_input_is_refused_and_changes_nothing(services: Services, known: dict[str, str], case: str,
                                                  token: str | None, method: str, path: str, payload: Any,
                                                  status: int, words: str) -> None:
    before = snapshot(services)
    headers = {} if token is None else {
        "Authorization": f"Bearer {services.tokens.get(token, 'not-a-token')}"}
    url = f"{services.base}/register{path.format(**known)}"
    if method == "GET":
        response = httpx.get(url, params=payload, headers=headers)
    elif isinstance(payload, bytes):
        response = httpx.post(url, content=payload, headers={**headers, "Content-Type": "application/json"})
    else:
        response = httpx.post(url, json=payload, headers=headers)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail"} and words in body["detail"], body
    assert body["detail"].count(". ") == 0  # one sentence
    if isinstance(payload, dict) and "my_number" in payload:  # a My Number is never echoed
        assert payload["my_number"] not in response.text
    assert snapshot(services) == before


@pytest.mark.parametrize(("path", "body", "field", "what"), [
    ("/v1/residents", new_record(resident={"birth_date": TOMORROW}), "resident.birth_date", "birth date"),
    ("/v1/residents", new_record(event_date=TOMORROW), "event_date", "event date"),
    ("/v1/residents/{code}/events", {"kind": "correction", "event_date": "2020-01-01", "cause": "職権",
                                     "birth_date": TOMORROW}, "birth_date", "birth date"),
    ("/v1/residents/{code}/events", {"kind": "death", "event_date": TOMORROW, "cause": "死亡届"}, "event_date",
     "event date"),
], ids=["birth date of a birth", "event date of a birth", "birth date of a correction", "event date of a death"])
def test_a_future_date_is_named_by_the_field_the_caller_sent(services: Services, known: dict[str, str], path: str,
                                                             body: dict[str, Any], field: str, what: str) -> None:
    """The sentence names the field as the caller wrote it (no union tag such as `birth.` or a
    bare `correction`), without pydantic's "Value error," and with the dates compared."""
    before = snapshot(services)
    response = httpx.post(f"{services.base}/register{path.format(**known)}", json=body,
                          headers={"Authorization": f"Bearer {services.tokens['clerk']}"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == (f"Invalid field '{field}': the {what} {TOMORROW} is in the future "
                                         f"(today in Japan is {today_in_japan().isoformat()}).")
    assert snapshot(services) == before


def test_a_date_not_on_the_calendar_is_called_so(services: Services) -> None:
    response = httpx.post(f"{services.base}/register/v1/residents", json=new_record(resident={"birth_date": "1990-02-30"}),
                          headers={"Authorization": f"Bearer {services.tokens['clerk']}"})
    assert response.status_code == 422
    assert response.json()["detail"] == ("Invalid field 'resident.birth_date': 1990-02-30 is not a real date "
                                         "(February has no 30th).")
