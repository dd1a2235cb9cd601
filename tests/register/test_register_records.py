"""The 住民票 as records with history (jpki-system.md §5): a correction adds a version and never
overwrites; households list their members with 続柄; 旧氏 and 通称 are recorded and 方法2 accepts them."""

from __future__ import annotations

import httpx

from register_server import PURPOSE, birth, event


def test_a_correction_is_a_new_version_and_the_old_one_stays(admin: httpx.Client) -> None:
    code = birth(admin, family="旧姓", given="花子", sex="2")["resident_code"]
    event(admin, code, "name-change", family_name="新姓", old_surname="旧姓", cause="婚姻届")
    event(admin, code, "correction", birth_date="1980-02-18", cause="職権訂正")
    versions = admin.get(f"/v1/residents/{code}/versions", params=PURPOSE).json()
    assert [(v["version"], v["family_name"], v["birth_date"], v["old_surname"]) for v in versions] == [
        (1, "旧姓", "1980-02-17", None), (2, "新姓", "1980-02-17", "旧姓"), (3, "新姓", "1980-02-18", "旧姓")]
    events = admin.get(f"/v1/residents/{code}/events", params=PURPOSE).json()
    assert [e["version"] for e in events] == [1, 2, 3]  # each event points at the version it made
    assert events[1]["summary"]["items"] == ["family_name", "old_surname"]  # item names, never values


def test_households_list_members_with_their_relationship(admin: httpx.Client) -> None:
    head = birth(admin, family="世帯", given="主")["resident_code"]
    household = admin.get(f"/v1/residents/{head}", params=PURPOSE).json()["current"]["household_id"]
    child = birth(admin, family="世帯", given="子", born="2015-05-05", household_id=household, relationship="子")
    listed = admin.get(f"/v1/households/{household}", params=PURPOSE).json()
    assert sorted((m["resident_code"], m["relationship"]) for m in listed["members"]) == sorted(
        [(head, "世帯主"), (child["resident_code"], "子")])


def test_method2_accepts_the_recorded_old_surname_and_alias(admin: httpx.Client, clerk: httpx.Client) -> None:
    created = birth(admin, family="鈴木", given="一子", sex="2")
    event(admin, created["resident_code"], "name-change", family_name="佐藤", old_surname="鈴木")
    for name in ("佐藤 一子", "鈴木 一子"):
        answer = clerk.post("/v1/method2", json={"my_number": created["my_number"], "name": name,
                                                 "birth_date": "1980-02-17", "sex": "2",
                                                 "address": "東京都千代田区見本町1-2-3", "purpose": "旧氏併記"})
        assert answer.json() == {"result": "match", "differs": []}


def test_items_update_changes_other_items_without_touching_certificates(admin: httpx.Client) -> None:
    """在留期間更新 and welfare registrations: a new version, no revocation."""
    entry = admin.post("/v1/residents", json={
        "kind": "entry", "event_date": "2024-04-01", "cause": "転入届", "municipality_code": "13101",
        "resident": {"family_name": "LEE", "given_name": "ANNA", "birth_date": "1990-09-09", "sex": "2",
                     "address": "東京都千代田区見本町4-4", "welfare": {"national_health_insurance": True},
                     "foreign": {"nationality": "カナダ", "category": "中長期在留者", "residence_status": "留学",
                                 "period_of_stay": "1年", "stay_expires_on": "2025-04-01",
                                 "became_foreign_resident_on": "2024-04-01"}}})
    assert entry.status_code == 201, entry.text
    code = entry.json()["resident_code"]
    done = event(admin, code, "items-update", residence_status="技術・人文知識・国際業務", period_of_stay="3年",
                 stay_expires_on="2028-04-01", welfare={"national_pension": True}, cause="在留期間更新（法務大臣通知）")
    assert done["revocations"] == [] and done["summary"]["items"] == [
        "period_of_stay", "residence_status", "stay_expires_on", "welfare"]
    current = admin.get(f"/v1/residents/{code}", params=PURPOSE).json()["current"]
    assert current["foreign"]["residence_status"] == "技術・人文知識・国際業務"
    assert current["welfare"] == {"national_health_insurance": True, "national_pension": True}
    versions = admin.get(f"/v1/residents/{code}/versions", params=PURPOSE).json()
    assert versions[0]["foreign"]["residence_status"] == "留学"  # the old version stays
    japanese = birth(admin)["resident_code"]
    refused = admin.post(f"/v1/residents/{japanese}/events", json={
        "kind": "items-update", "event_date": "2024-04-01", "cause": "x", "residence_status": "留学"})
    assert refused.status_code == 422 and "foreign residents only" in refused.json()["detail"]
    empty = admin.post(f"/v1/residents/{japanese}/events", json={"kind": "items-update", "event_date": "2024-04-01",
                                                               "cause": "x"})
    assert empty.status_code == 422 and "at least one item" in empty.json()["detail"]
