"""The served lookup and 方法2 (register_stub/fast_routes.py, ahead of the framework) against the
framework's own routes: the same requests, sent to `mynacard serve`'s dispatch and to the register
app's routes alone, get the same answers and leave the same access records; and the fast routes
answer the common case themselves, passing only what the framework must refuse. On SQLite and on
PostgreSQL, where the lookup is one statement on the event loop (`lookup.ONE_STATEMENT`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import select

from mynacard.register_stub.models import AccessRecord
from mynacard.service.fast_paths import Receive, Scope, Send, dispatch

from register_server import Services, birth

GIVEN = "花子"
FACTS = {"name": "速路 花子", "birth_date": "1985-04-12", "sex": "2", "address": "東京都千代田区見本町1-2-3"}
#: A My Number with a valid check digit that no record holds (derived numbers are keyed, so any
#: valid one is almost certainly free; the test checks it is).
FREE_NUMBER = "123456789018"
#: An answer no register route gives: the framework app behind the fast routes in the last test.
PASSED_ON = 599


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def services(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             register_keys: list[rsa.RSAPrivateKey]) -> Iterator[Services]:
    database = request.getfixturevalue("postgres_server").create_database() if request.param == "postgresql" else None
    running = Services(tmp_path_factory.mktemp(f"fast-{request.param}") / "data", register_keys,
                       register_db=database).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def person(admin: httpx.Client) -> dict[str, Any]:
    return birth(admin, family="速路", given=GIVEN, born="1985-04-12", sex="2", address=FACTS["address"])


def cases(number: str) -> list[tuple[str, str, str, dict[str, str], bytes]]:
    """(name, token, path, headers, body): answered, refused by the work, and passed on."""
    def body(**fields: object) -> bytes:
        return json.dumps(fields, ensure_ascii=False).encode()

    as_json = {"content-type": "application/json"}
    m2 = {"my_number": number, **FACTS, "purpose": "fast route test"}
    return [
        ("lookup found", "centre", "/v1/lookup", as_json, body(my_number=number, purpose="p")),
        ("lookup by a clerk", "clerk", "/v1/lookup", as_json, body(my_number=number, purpose="p")),
        ("lookup of a free number", "centre", "/v1/lookup", as_json, body(my_number=FREE_NUMBER, purpose="p")),
        ("lookup, wrong check digit", "centre", "/v1/lookup", as_json, body(my_number="123456789019", purpose="p")),
        ("lookup, 11 digits", "centre", "/v1/lookup", as_json, body(my_number="12345678901", purpose="p")),
        ("lookup, no purpose", "centre", "/v1/lookup", as_json, body(my_number=number)),
        ("lookup, extra field", "centre", "/v1/lookup", as_json, body(my_number=number, purpose="p", name="x")),
        ("lookup, padded purpose", "centre", "/v1/lookup", as_json, body(my_number=number, purpose="  p  ")),
        ("lookup, not JSON", "centre", "/v1/lookup", as_json, b"{my_number"),
        ("lookup, an array", "centre", "/v1/lookup", as_json, b"[1]"),
        ("lookup, empty body", "centre", "/v1/lookup", as_json, b""),
        ("lookup, text/plain", "centre", "/v1/lookup", {"content-type": "text/plain"}, body(my_number=number, purpose="p")),
        ("lookup, no content type", "centre", "/v1/lookup", {}, body(my_number=number, purpose="p")),
        ("lookup, JSON with charset", "centre", "/v1/lookup", {"content-type": "application/json; charset=utf-8"},
         body(my_number=number, purpose="p")),
        ("lookup without a token", "", "/v1/lookup", as_json, body(my_number=number, purpose="p")),
        ("lookup, unknown token", "unknown", "/v1/lookup", as_json, body(my_number=number, purpose="p")),
        ("method2 match", "clerk", "/v1/method2", as_json, body(**m2)),
        ("method2 with its record", "clerk", "/v1/method2", as_json, body(**m2, show_access_record=True)),
        ("method2 differs", "clerk", "/v1/method2", as_json, body(**{**m2, "name": "速路 太郎", "sex": "男"})),
        ("method2 no-match", "register-admin", "/v1/method2", as_json, body(**{**m2, "my_number": FREE_NUMBER})),
        ("method2 hyphenated number", "clerk", "/v1/method2", as_json,
         body(**{**m2, "my_number": f"{number[:4]}-{number[4:8]}-{number[8:]}"})),
        ("method2 wrong check digit", "clerk", "/v1/method2", as_json, body(**{**m2, "my_number": "123456789019"})),
        ("method2 unreadable date", "clerk", "/v1/method2", as_json, body(**{**m2, "birth_date": "昭和99年13月1日"})),
        ("method2 missing name", "clerk", "/v1/method2", as_json, body(**{k: v for k, v in m2.items() if k != "name"})),
        ("method2 by the centre", "centre", "/v1/method2", as_json, body(**m2)),
    ]


@pytest.fixture(scope="module")
def framework(services: Services) -> TestClient:
    """The mounted apps without the fast routes (the register app as it answers on its own)."""
    assert services.root is not None
    return TestClient(services.root, base_url="http://testserver")


def send(client: httpx.Client | TestClient, services: Services, token: str, path: str, headers: dict[str, str],
         body: bytes) -> httpx.Response:
    headers = dict(headers)
    if token:
        headers["authorization"] = f"Bearer {services.tokens.get(token, 'not-a-token')}"
    return client.post(f"/register{path}", content=body, headers=headers)


def records_between(services: Services, after: int, upto: int) -> list[tuple[object, ...]]:
    """The access records written after record `after`, up to record `upto`, without id and time."""
    assert services.runtime is not None
    with services.runtime.store.reader() as session:
        rows = session.execute(select(AccessRecord).where(AccessRecord.id > after, AccessRecord.id <= upto)
                               .order_by(AccessRecord.id)).scalars()
        return [(r.resident_code, r.actor, r.role, r.action, r.purpose, r.items, r.outcome) for r in rows]


def last_record(services: Services) -> int:
    assert services.runtime is not None
    with services.runtime.store.reader() as session:
        return int(session.execute(select(AccessRecord.id).order_by(AccessRecord.id.desc()).limit(1)).scalar() or 0)


def comparable(response: httpx.Response) -> tuple[int, object, str]:
    """Status, JSON (an access record's own id and time left out) and content type."""
    answer = response.json()
    if isinstance(answer, dict) and isinstance(answer.get("access_record"), dict):
        answer["access_record"] = {k: v for k, v in answer["access_record"].items() if k not in ("id", "at")}
    return response.status_code, answer, response.headers["content-type"]


def test_served_fast_routes_answer_and_record_as_the_framework_does(
        services: Services, person: dict[str, Any], framework: TestClient) -> None:
    number = person["my_number"]
    assert number != FREE_NUMBER
    with httpx.Client(base_url=services.base, timeout=60) as served:
        for name, token, path, headers, body in cases(number):
            before = last_record(services)
            fast = send(served, services, token, path, headers, body)
            middle = last_record(services)
            slow = send(framework, services, token, path, headers, body)
            assert comparable(fast) == comparable(slow), name
            fast_records = records_between(services, before, middle)
            slow_records = records_between(services, middle, last_record(services))
            assert fast_records == slow_records, name
            if fast.status_code < 300 or fast.status_code == 404:
                assert len(fast_records) == 1, name  # every answered query is recorded, once


async def _passed_on(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": PASSED_ON, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def test_the_fast_routes_answer_the_common_case_themselves(services: Services, person: dict[str, Any]) -> None:
    """Behind them, an app that answers nothing the register would: what comes back from it was
    passed on (only requests the framework must refuse), the rest the fast routes answered."""
    only_fast = dispatch(_passed_on, {"/register": services.apps["/register"]})
    expected = {
        "lookup found": 200, "lookup by a clerk": 200, "lookup of a free number": 404,
        "lookup, wrong check digit": 422, "lookup, padded purpose": 200, "lookup, JSON with charset": 200,
        "method2 match": 200, "method2 with its record": 200, "method2 differs": 200, "method2 no-match": 200,
        "method2 hyphenated number": 200, "method2 wrong check digit": 422, "method2 unreadable date": 422,
    }
    if services.register_db is not None:  # PostgreSQL, on the event loop: these refusals are the framework's
        for name in ("lookup, wrong check digit", "method2 wrong check digit", "method2 unreadable date"):
            expected[name] = PASSED_ON
    client = TestClient(only_fast, base_url="http://testserver")
    for name, token, path, headers, body in cases(person["my_number"]):
        assert send(client, services, token, path, headers, body).status_code == expected.get(name, PASSED_ON), name
