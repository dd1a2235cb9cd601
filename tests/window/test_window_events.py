"""Screen 3 (異動届) in the browser against the real register and CA service: each event previewed
with the certificates jpki-system.md §5 revokes, recorded only on an explicit confirmation, and
followed to its delivery to the CA — which `openssl ocsp` then confirms.

- 転居: the preview names the signing certificate (its serial) and keeps the auth one; after the
  confirmation the outbox shows it delivered and OCSP says signing revoked, auth good;
- 転出 then 転入: the §2.1 deadlines (転入届, then 継続利用 90 days after it) shown, 継続利用 recorded;
- 死亡: the preview names both certificates (not recorded); a 転入 without a 転出 is refused in one
  sentence and nothing is recorded;
- 出生 makes a new record, and its 世帯変更 revokes nothing.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from register_server import PURPOSE, ocsp_status
from window_stack import CLERK_NAME, axe_serious, register_resident
from mynacard.window.events import JST

pytestmark = pytest.mark.e2e


@pytest.fixture
def resident(services, tmp_path):
    return register_resident(services, tmp_path / "card", "異動", "太郎", "東京都千代田区見本町2-3-4", "1975-06-01", "1")


def open_record(page, window, code: str) -> None:
    page.goto(f"{window.url}/events")
    page.get_by_label("住民票コード（11桁）").fill(code)
    page.get_by_role("button", name="住民票を開く").click()
    page.locator("#record").wait_for()


def start(page, kind_ja: str) -> None:
    page.get_by_role("link", name=kind_ja, exact=False).first.click()
    page.locator("#kind-h").wait_for()


def show_preview(page) -> None:
    page.get_by_role("button", name="失効する電子証明書を確認する").click()
    page.wait_for_load_state("load")


def effect(page, ca: str) -> str:
    return page.locator(f'#revocations tr[data-ca="{ca}"]').inner_text()


def events_of(admin, code: str) -> list[dict]:
    return admin.get(f"/v1/residents/{code}/events", params=PURPOSE).json()


def wait_delivered(page) -> None:
    deadline = time.monotonic() + 20
    while page.locator('[data-delivery="pending"]').count() and time.monotonic() < deadline:
        time.sleep(0.3)
        page.get_by_role("link", name="送信状況を更新").click()
        page.wait_for_load_state("load")


def test_a_move_within_revokes_the_signing_certificate_and_ocsp_agrees(page, window, services, admin, resident, shot,
                                                                        tmp_path):
    open_record(page, window, resident.resident_code)
    shot(page, "events-1-record")
    assert axe_serious(page) == []
    start(page, "転居")
    page.get_by_label("新しい住所").fill("東京都千代田区見本町9-8-7")
    shot(page, "events-2-form")
    before = events_of(admin, resident.resident_code)
    show_preview(page)
    assert "REVOKED" in effect(page, "sign") and resident.card["sign_serial"] in effect(page, "sign")
    assert "kept" in effect(page, "auth")
    assert "まだ登録していません" in page.get_by_role("status").inner_text()
    assert events_of(admin, resident.resident_code) == before  # the preview recorded nothing
    assert ocsp_status(services, "sign", resident.card["sign_serial"], tmp_path) == "good"
    shot(page, "events-3-preview")
    assert axe_serious(page) == []
    page.get_by_role("button", name="この内容で登録する").click()
    assert "届出を登録しました" in page.get_by_role("status").inner_text()
    assert page.locator("#recorded-by").inner_text() == CLERK_NAME
    wait_delivered(page)
    assert page.locator('#revocations tr[data-ca="sign"] [data-delivery="delivered"]').count() == 1
    shot(page, "events-4-recorded")
    assert axe_serious(page) == []
    assert ocsp_status(services, "sign", resident.card["sign_serial"], tmp_path) == "revoked"
    assert ocsp_status(services, "auth", resident.card["auth_serial"], tmp_path) == "good"
    recorded = events_of(admin, resident.resident_code)[-1]
    assert recorded["kind"] == "move-within" and recorded["recorded_by"] == CLERK_NAME
    rows = admin.get(f"/v1/residents/{resident.resident_code}/access-records", params=PURPOSE).json()
    mine = {r["action"] for r in rows if r["actor"] == CLERK_NAME}
    assert {"preview:move-within", "event:move-within"} <= mine


def test_move_out_then_move_in_shows_the_deadlines_and_continuation(page, window, admin, resident, shot):
    today = __import__("datetime").datetime.now(JST).date()
    open_record(page, window, resident.resident_code)
    start(page, "転出")
    page.get_by_label("転出予定日").fill(today.isoformat())
    page.get_by_label("転出先").fill("東京都中央区銀座1-1-1")
    show_preview(page)
    assert "REVOKED" in effect(page, "sign") and "kept" in effect(page, "auth")
    assert (today + timedelta(days=30)).isoformat() in page.locator("#move-in-due").inner_text()
    page.get_by_role("button", name="この内容で登録する").click()
    open_record(page, window, resident.resident_code)
    assert "転入届の期限" in page.locator("#deadline").inner_text()
    start(page, "転入")
    page.get_by_label("転入した日").fill(today.isoformat())
    page.get_by_label("市区町村コード（5桁）").fill("13102")
    page.get_by_label("新しい住所").fill("東京都中央区銀座1-1-1")
    show_preview(page)
    due = (today + timedelta(days=90)).isoformat()
    assert due in page.locator("#continuation-due").inner_text()
    assert "kept" in effect(page, "auth")  # filed in time: the auth certificate stays
    shot(page, "events-move-in-preview")
    page.get_by_role("button", name="この内容で登録する").click()
    assert due in page.locator("#continuation-due").inner_text()
    open_record(page, window, resident.resident_code)
    assert "継続利用の期限" in page.locator("#deadline").inner_text() and due in page.locator("#deadline").inner_text()
    shot(page, "events-continuation-due")
    start(page, "継続利用")
    show_preview(page)
    assert "kept" in effect(page, "sign") and "kept" in effect(page, "auth")
    page.get_by_role("button", name="この内容で登録する").click()
    assert "届出を登録しました" in page.get_by_role("status").inner_text()
    assert admin.get(f"/v1/residents/{resident.resident_code}", params=PURPOSE).json()["continuation_due"] is None


def test_death_previews_both_and_a_refused_event_changes_nothing(page, window, admin, resident, shot):
    open_record(page, window, resident.resident_code)
    start(page, "死亡")
    show_preview(page)
    assert "REVOKED" in effect(page, "sign") and "REVOKED" in effect(page, "auth")
    assert resident.card["auth_serial"] in effect(page, "auth")
    shot(page, "events-death-preview")
    before = events_of(admin, resident.resident_code)
    page.goto(f"{window.url}/events/new/move-in")  # no 転出 was filed: the register refuses
    page.get_by_label("転入した日").fill(__import__("datetime").datetime.now(JST).date().isoformat())
    page.get_by_label("新しい住所").fill("東京都千代田区見本町5-5-5")
    show_preview(page)
    alert = page.get_by_role("alert").inner_text()
    assert "登録できません" in alert and "move-out" in alert
    assert page.locator("#revocations").count() == 0
    shot(page, "events-refused")
    assert axe_serious(page) == []
    page.goto(f"{window.url}/events")  # the death preview was never confirmed; nothing to confirm now
    assert page.evaluate("fetch('/events/commit', {method: 'POST', body: 'token=x', headers: "
                         "{'Content-Type': 'application/x-www-form-urlencoded'}}).then(r => r.status)") == 409
    assert events_of(admin, resident.resident_code) == before
    assert admin.get(f"/v1/residents/{resident.resident_code}", params=PURPOSE).json()["status"] == "active"


def test_a_birth_makes_a_record_and_a_household_change_revokes_nothing(page, window, admin, shot):
    page.goto(f"{window.url}/events")
    page.get_by_role("link", name="出生届").click()
    page.get_by_label("氏 Family name").fill("誕生")
    page.get_by_label("名 Given name").fill("一郎")
    page.get_by_label("生年月日").fill("2024-01-02")
    page.get_by_label("性別").select_option("1")
    page.get_by_label("住所 Address").fill("大阪府大阪市北区梅田1-1")  # not in 13101's prefecture
    show_preview(page)
    assert "prefecture" in page.get_by_role("alert").inner_text()  # refused by the register's preview
    assert page.get_by_role("button", name="この内容で登録する").count() == 0
    page.get_by_label("住所 Address").fill("東京都千代田区見本町3-3-3")
    show_preview(page)
    assert "nothing is revoked" in page.locator("main").inner_text()
    page.get_by_role("button", name="この内容で登録する").click()
    assert "届出を登録しました" in page.get_by_role("status").inner_text()
    code = page.locator("#event td").nth(2).inner_text()
    shot(page, "events-birth-recorded")
    assert admin.get(f"/v1/residents/{code}", params=PURPOSE).json()["current"]["given_name"] == "一郎"
    open_record(page, window, code)
    start(page, "世帯変更")
    page.get_by_label("続柄").fill("世帯主")
    page.get_by_label("世帯番号（新しい世帯なら空欄）").fill(str(
        admin.get(f"/v1/residents/{code}", params=PURPOSE).json()["current"]["household_id"]))
    show_preview(page)  # joining one's own household as its head again: refused in one sentence
    assert "登録できません" in page.get_by_role("alert").inner_text()
    page.get_by_label("世帯番号（新しい世帯なら空欄）").fill("")
    page.get_by_label("続柄").fill("世帯主")
    show_preview(page)  # a new household, headed by the resident: no certificate is touched
    assert "kept" in effect(page, "sign") and "kept" in effect(page, "auth")
