"""The event preview (POST /v1/residents/{code}/events/preview): jpki-system.md §5's revocations of
an event, computed by the code that records it, listed before it is recorded — and exactly the
ones recording it then queues; the preview itself changes nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import httpx

from register_server import PURPOSE, Services, birth, event, issue_card, ocsp_status, wait_delivered


def preview(admin: httpx.Client, code: str, **body: object) -> dict[str, object]:
    body = {"event_date": date.today().isoformat(), "cause": f"preview {body['kind']}", **body}
    answer = admin.post(f"/v1/residents/{code}/events/preview", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_preview_lists_exactly_what_the_move_then_revokes(services: Services, admin: httpx.Client,
                                                           tmp_path: Path) -> None:
    code = birth(admin)["resident_code"]
    card = issue_card(admin, code)
    move = {"kind": "move-within", "address": "東京都千代田区見本町9-9-9"}
    before = admin.get(f"/v1/residents/{code}/events", params=PURPOSE).json()
    planned = preview(admin, code, **move)
    assert planned["kind"] == "move-within"
    assert [(r["ca"], r["serial"], r["reason"]) for r in planned["revocations"]] == [
        ("sign", card["sign_serial"], "affiliationChanged")]
    # nothing changed: no event, the old address, the certificate still good
    assert admin.get(f"/v1/residents/{code}/events", params=PURPOSE).json() == before
    assert admin.get(f"/v1/residents/{code}", params=PURPOSE).json()["current"]["address"] != move["address"]
    assert ocsp_status(services, "sign", card["sign_serial"], tmp_path) == "good"
    done = event(admin, code, move.pop("kind"), **move)
    rows = wait_delivered(admin, done["id"])
    assert [(r["ca"], r["serial"], r["reason"]) for r in rows] == [
        (r["ca"], r["serial"], r["reason"]) for r in planned["revocations"]]
    assert ocsp_status(services, "sign", card["sign_serial"], tmp_path) == "revoked"


def test_preview_of_death_lists_both_and_household_change_none(admin: httpx.Client) -> None:
    code = birth(admin)["resident_code"]
    issue_card(admin, code)
    assert sorted(r["ca"] for r in preview(admin, code, kind="death")["revocations"]) == ["auth", "sign"]
    assert preview(admin, code, kind="household-change", relationship="世帯主")["revocations"] == []


def test_a_refused_preview_is_one_sentence(admin: httpx.Client) -> None:
    code = birth(admin)["resident_code"]
    event(admin, code, "death")
    again = {"kind": "death", "event_date": date.today().isoformat(), "cause": "again"}
    answer = admin.post(f"/v1/residents/{code}/events/preview", json=again)
    assert answer.status_code == 409 and "deleted" in answer.text


def test_a_birth_preview_records_nothing_and_refuses_as_recording_would(services: Services, admin: httpx.Client) -> None:
    from sqlalchemy import func, select

    from mynacard.register_stub.models import MyNumber, Resident

    def counts() -> tuple[int, int]:
        with services.runtime.store.reader() as session:
            return (session.execute(select(func.count()).select_from(Resident)).scalar_one(),
                    session.execute(select(func.count()).select_from(MyNumber)).scalar_one())

    born = date.today().isoformat()
    body = {"kind": "birth", "event_date": born, "cause": "出生届", "municipality_code": "13101",
            "resident": {"family_name": "予定", "given_name": "一郎", "birth_date": born, "sex": "1",
                         "address": "東京都千代田区見本町1-1-1"}}
    before = counts()
    answer = admin.post("/v1/residents/preview", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["kind"] == "birth" and answer.json()["revocations"] == []
    assert counts() == before
    wrong = {**body, "resident": {**body["resident"], "address": "大阪府大阪市北区梅田1-1"}}
    refused = admin.post("/v1/residents/preview", json=wrong)
    assert refused.status_code == 422 and "prefecture" in refused.json()["detail"]
    assert counts() == before
