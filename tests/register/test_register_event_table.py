"""Every row of jpki-system.md §5's event table and its exact effect on the two certificates,
observed with `openssl ocsp` against the CA service (plus the §2.1 move deadlines, a leaked
number, loss/found and reissue). The revocation of each event is linked from the event.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from register_server import PURPOSE, Services, birth, event, issue_card, ocsp_status, wait_delivered

TODAY = date.today()


def days_ago(n: int) -> str:
    return (TODAY - timedelta(days=n)).isoformat()


#: (row of the table, events before the one under test, the event under test, sign, auth)
ROWS: list[tuple[str, list[dict[str, Any]], dict[str, Any], str, str]] = [
    ("move within the municipality", [], {"kind": "move-within", "address": "東京都千代田区見本町9-9-9"},
     "revoked", "good"),
    ("move out", [], {"kind": "move-out", "planned_date": TODAY.isoformat(), "destination": "大阪府大阪市北区1-1"},
     "revoked", "good"),
    ("move in within the deadlines (auth kept)",
     [{"kind": "move-out", "planned_date": days_ago(3), "destination": "大阪府大阪市北区1-1", "event_date": days_ago(5)}],
     {"kind": "move-in", "moved_in_on": days_ago(3), "municipality_code": "27100", "address": "大阪府大阪市北区1-1"},
     "revoked", "good"),
    ("move in after the 14-day notice deadline (card lapses)",
     [{"kind": "move-out", "planned_date": days_ago(20), "destination": "大阪府大阪市北区1-1", "event_date": days_ago(25)}],
     {"kind": "move-in", "moved_in_on": days_ago(20), "municipality_code": "27100", "address": "大阪府大阪市北区1-1"},
     "revoked", "revoked"),
    ("marriage or name change", [], {"kind": "name-change", "family_name": "山田", "old_surname": "見本"},
     "revoked", "good"),
    ("sex correction", [], {"kind": "correction", "sex": "2"}, "revoked", "good"),
    ("birth-date correction", [], {"kind": "correction", "birth_date": "1980-02-18"}, "revoked", "good"),
    ("death", [], {"kind": "death"}, "revoked", "revoked"),
    ("emigration", [], {"kind": "emigration", "destination": "アメリカ合衆国"}, "revoked", "good"),
    ("household change only", [], {"kind": "household-change", "relationship": "世帯主"}, "good", "good"),
]


@pytest.mark.parametrize(("row", "before", "under_test", "sign", "auth"), ROWS, ids=[r[0] for r in ROWS])
def test_event_table_row(services: Services, admin: httpx.Client, tmp_path: Path, row: str,
                         before: list[dict[str, Any]], under_test: dict[str, Any], sign: str, auth: str) -> None:
    code = birth(admin)["resident_code"]
    card = issue_card(admin, code)
    if row == "household change only":  # leave the household the birth created, to head a new one
        other = birth(admin, given="次郎")["resident_code"]
        household = admin.get(f"/v1/residents/{other}", params=PURPOSE).json()["current"]["household_id"]
        event(admin, code, "household-change", household_id=household, relationship="同居人")
    for step in before:
        event(admin, code, **step)
    done = event(admin, code, **under_test)
    rows = wait_delivered(admin, done["id"])
    expected = sorted(ca for ca, status in (("sign", sign), ("auth", auth)) if status == "revoked")
    assert sorted(r["ca"] for r in rows if r["action"] == "revoke") == [
        ca for ca in expected if not (ca == "sign" and before)  # a move-out already revoked the signing cert
    ]
    assert all(r["status"] == "delivered" and r["event_id"] == done["id"] for r in rows)
    assert ocsp_status(services, "sign", card["sign_serial"], tmp_path) == sign
    assert ocsp_status(services, "auth", card["auth_serial"], tmp_path) == auth
    for r in rows:  # the CA recorded the register event as the cause
        revocation = services.ca().get(r["ca"], r["serial"])["revocation"]
        assert isinstance(revocation, dict) and revocation["cause"] == f"register event {done['id']}"


def test_birth_and_entry_create_records_and_touch_no_certificate(admin: httpx.Client) -> None:
    created = birth(admin)
    assert created["event"]["kind"] == "birth" and created["event"]["revocations"] == []
    entry = admin.post("/v1/residents", json={
        "kind": "entry", "event_date": days_ago(1), "cause": "国外からの転入", "municipality_code": "13101",
        "previous_address": "Seoul", "resident": {
            "family_name": "KIM", "given_name": "MINJI", "birth_date": "1995-05-05", "sex": "2",
            "address": "東京都千代田区見本町5-5", "alias_name": "金美智",
            "foreign": {"nationality": "韓国", "category": "中長期在留者", "residence_status": "技術・人文知識・国際業務",
                        "period_of_stay": "5年", "stay_expires_on": "2030-01-01",
                        "residence_card_number": "AB12345678CD", "became_foreign_resident_on": days_ago(1)}}})
    assert entry.status_code == 201, entry.text
    record = admin.get(f"/v1/residents/{entry.json()['resident_code']}", params=PURPOSE).json()
    assert record["kind"] == "foreign" and record["current"]["honseki"] is None
    assert record["current"]["foreign"]["category"] == "中長期在留者"
    assert record["current"]["alias_name"] == "金美智"
    assert record["current"]["previous_address"] == "Seoul"


def test_missed_continuation_lapses_the_card_on_sweep(services: Services, admin: httpx.Client, tmp_path: Path) -> None:
    """§2.1: 継続利用 within 90 days of the 転入届, or the card (both certificates) lapses."""
    code = birth(admin)["resident_code"]
    card = issue_card(admin, code)
    event(admin, code, "move-out", planned_date=days_ago(100), destination="大阪府大阪市北区1-1", event_date=days_ago(100))
    moved_in = event(admin, code, "move-in", moved_in_on=days_ago(95), municipality_code="27100",
                     address="大阪府大阪市北区1-1", event_date=days_ago(93))
    assert moved_in["summary"]["continuation_due_by"] == (TODAY - timedelta(days=3)).isoformat()
    swept = admin.post("/v1/deadlines/sweep").json()["events"]
    mine = [e for e in swept if e["resident_code"] == code]
    assert [e["kind"] for e in mine] == ["lapse"]
    wait_delivered(admin, mine[0]["id"])
    assert ocsp_status(services, "auth", card["auth_serial"], tmp_path) == "revoked"
    late = admin.post(f"/v1/residents/{code}/events", json={"kind": "continuation", "event_date": TODAY.isoformat(),
                                                            "cause": "継続利用"})
    assert late.status_code == 409


def test_continuation_in_time_keeps_the_auth_certificate(services: Services, admin: httpx.Client, tmp_path: Path) -> None:
    code = birth(admin)["resident_code"]
    card = issue_card(admin, code)
    event(admin, code, "move-out", planned_date=days_ago(5), destination="大阪府大阪市北区1-1", event_date=days_ago(6))
    event(admin, code, "move-in", moved_in_on=days_ago(5), municipality_code="27100", address="大阪府大阪市北区1-1")
    done = event(admin, code, "continuation")
    assert done["revocations"] == []
    admin.post("/v1/deadlines/sweep")
    assert ocsp_status(services, "auth", card["auth_serial"], tmp_path) == "good"
    assert admin.get(f"/v1/residents/{code}", params=PURPOSE).json()["continuation_due"] is None


def test_moving_again_before_continuation_lapses_the_card(services: Services, admin: httpx.Client, tmp_path: Path) -> None:
    code = birth(admin)["resident_code"]
    card = issue_card(admin, code)
    event(admin, code, "move-out", planned_date=days_ago(5), destination="大阪府大阪市北区1-1", event_date=days_ago(6))
    event(admin, code, "move-in", moved_in_on=days_ago(5), municipality_code="27100", address="大阪府大阪市北区1-1")
    again = event(admin, code, "move-within", address="大阪府大阪市北区2-2")
    assert again["summary"]["card_lapsed"] == "moved again before continuation"
    wait_delivered(admin, again["id"])
    assert ocsp_status(services, "auth", card["auth_serial"], tmp_path) == "revoked"


def test_leaked_number_is_replaced_and_signing_revoked(services: Services, admin: httpx.Client, tmp_path: Path) -> None:
    created = birth(admin)
    code, old = created["resident_code"], created["my_number"]
    card = issue_card(admin, code)
    replaced = admin.post(f"/v1/residents/{code}/my-number/replace", json={"cause": "漏えい"})
    assert replaced.status_code == 200, replaced.text
    new = replaced.json()["my_number"]
    assert new != old
    wait_delivered(admin, replaced.json()["event"]["id"])
    assert ocsp_status(services, "sign", card["sign_serial"], tmp_path) == "revoked"
    assert admin.post("/v1/lookup", json={"my_number": old, "purpose": "t"}).status_code == 404
    assert admin.post("/v1/lookup", json={"my_number": new, "purpose": "t"}).json()["resident_code"] == code


def test_loss_holds_found_releases_reissue_supersedes(services: Services, admin: httpx.Client, tmp_path: Path) -> None:
    code = birth(admin)["resident_code"]
    card = issue_card(admin, code)
    serial = card["card_serial"]
    lost = admin.post(f"/v1/cards/{serial}/lost", json={"cause": "紛失届 (コールセンター)"}).json()
    assert sorted((r["ca"], r["action"]) for r in wait_delivered(admin, lost["id"])) == [("auth", "hold"), ("sign", "hold")]
    for ca in ("sign", "auth"):
        assert services.ca().get(ca, card[f"{ca}_serial"])["status"] == "hold"
        assert ocsp_status(services, ca, card[f"{ca}_serial"], tmp_path) == "revoked"  # certificateHold
    found = admin.post(f"/v1/cards/{serial}/found", json={"cause": "発見"}).json()
    wait_delivered(admin, found["id"])
    for ca in ("sign", "auth"):
        assert ocsp_status(services, ca, card[f"{ca}_serial"], tmp_path) == "good"
    assert admin.post(f"/v1/cards/{serial}/found", json={"cause": "again"}).status_code == 409
    reissued = admin.post(f"/v1/cards/{serial}/reissue", json={"pins": {"auth_pin": "1111", "sign_password": "XYZ789",
                                                                        "text_pin": "2222", "juki_pin": "3333"}})
    assert reissued.status_code == 201, reissued.text
    new = reissued.json()
    events = admin.get(f"/v1/residents/{code}/events", params=PURPOSE).json()
    wait_delivered(admin, events[-1]["id"])
    for ca in ("sign", "auth"):
        assert ocsp_status(services, ca, card[f"{ca}_serial"], tmp_path) == "revoked"
        assert ocsp_status(services, ca, new[f"{ca}_serial"], tmp_path) == "good"
    cards = admin.get(f"/v1/residents/{code}/cards", params=PURPOSE).json()
    assert [(c["card_serial"], c["status"]) for c in cards] == [(serial, "revoked"), (new["card_serial"], "active")]


def test_death_while_the_card_is_suspended_revokes_both(services: Services, admin: httpx.Client, tmp_path: Path) -> None:
    """A held certificate (loss reported) is revoked for good by a later event."""
    code = birth(admin)["resident_code"]
    card = issue_card(admin, code)
    lost = admin.post(f"/v1/cards/{card['card_serial']}/lost", json={"cause": "紛失"}).json()
    wait_delivered(admin, lost["id"])
    died = event(admin, code, "death")
    rows = wait_delivered(admin, died["id"])
    assert sorted((r["ca"], r["action"], r["status"]) for r in rows) == [
        ("auth", "revoke", "delivered"), ("sign", "revoke", "delivered")]
    for ca in ("sign", "auth"):
        record = services.ca().get(ca, card[f"{ca}_serial"])
        assert record["status"] == "revoked"


def test_a_card_for_a_child_has_no_signing_certificate(services: Services, admin: httpx.Client, tmp_path: Path) -> None:
    """jpki-system.md §1.2: no signing certificate under 15; the auth certificate has no age limit."""
    from mynacard.host.card import MyNumberCard

    from register_server import write_card

    born = (TODAY - timedelta(days=365 * 8)).isoformat()
    code = birth(admin, given="小", born=born)["resident_code"]
    card = issue_card(admin, code)
    assert card["sign_serial"] is None
    assert ocsp_status(services, "auth", card["auth_serial"], tmp_path) == "good"
    reader = MyNumberCard.open(f"emulator:{write_card(card, tmp_path / 'card')}")
    try:
        assert not reader.jpki.has_signing_certificate()
    finally:
        reader.close()
    moved = event(admin, code, "move-within", address="東京都千代田区見本町8-8")
    assert moved["revocations"] == []  # nothing to revoke: the move touches only the signing certificate
