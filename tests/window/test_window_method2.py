"""Screen 2 (方法2) in the browser against the real register: a match, a no-match and a
differing item, each with the access record the register wrote under the clerk's name."""

from __future__ import annotations

import pytest

from register_server import access_record_count
from window_stack import CLERK_NAME, axe_serious
from mynacard.register_stub import demo_values as demo

pytestmark = pytest.mark.e2e


def fill(page, window, my_number: str, name: str, address: str = demo.DEMO_ADDRESS) -> None:
    page.goto(f"{window.url}/method2")
    page.get_by_label("個人番号").fill(my_number)
    page.get_by_label("氏名").fill(name)
    page.get_by_label("生年月日").fill("昭和55年2月17日" if demo.DEMO_BIRTH_DATE.isoformat() == "1980-02-17"
                                     else demo.DEMO_BIRTH_DATE.isoformat())
    page.get_by_label("性別").fill("女" if demo.DEMO_SEX in ("2", "female") else "男")
    page.get_by_label("住所").fill(address)
    page.get_by_role("button", name="照会する").click()


def test_match_shows_the_access_record_written(page, window, registered_demo, admin, shot) -> None:
    spaced = f"{registered_demo.my_number[:4]} {registered_demo.my_number[4:8]} {registered_demo.my_number[8:]}"
    fill(page, window, spaced, f"{demo.DEMO_FAMILY_NAME}　{demo.DEMO_GIVEN_NAME}")
    assert "一致しました" in page.get_by_role("status").inner_text()
    record = page.locator("#m2-access").inner_text()
    assert CLERK_NAME in record and "method2-query" in record and "match" in record
    assert registered_demo.my_number not in page.content()  # never echoed back
    shot(page, "method2-match")
    assert axe_serious(page) == []
    rows = admin.get(f"/v1/residents/{registered_demo.resident_code}/access-records", params={"purpose": "test"}).json()
    assert any(r["action"] == "method2-query" and r["actor"] == CLERK_NAME and r["outcome"] == "match" for r in rows)


def test_a_differing_address_is_named(page, window, registered_demo, shot) -> None:
    fill(page, window, registered_demo.my_number, f"{demo.DEMO_FAMILY_NAME}{demo.DEMO_GIVEN_NAME}",
         address="大阪府大阪市北区梅田1-1")
    alert = page.get_by_role("alert").inner_text()
    assert "住所が住民票と異なります" in alert and "address" in alert
    assert page.locator("td.fail").count() == 1
    shot(page, "method2-differs")


def test_an_unknown_number_is_no_match(page, window, shot) -> None:
    from mynacard.codec.my_number import check_digit

    base = "12345678901"
    fill(page, window, base + str(check_digit(base)), f"{demo.DEMO_FAMILY_NAME}{demo.DEMO_GIVEN_NAME}")
    assert "該当なし" in page.get_by_role("alert").inner_text()
    assert CLERK_NAME in page.locator("#m2-access").inner_text()
    shot(page, "method2-no-match")


def test_an_empty_item_is_refused_before_the_register_is_asked(page, window) -> None:
    page.goto(f"{window.url}/method2")
    page.evaluate("document.querySelectorAll('input[required]').forEach(i => i.removeAttribute('required'))")
    page.get_by_label("氏名").fill("見本")
    page.get_by_role("button", name="照会する").click()
    assert "個人番号・生年月日・性別・住所を入力してください" in page.get_by_role("alert").inner_text()
    assert page.locator("#m2-access").count() == 0


def test_a_wrong_check_digit_is_refused_before_the_register_is_asked(page, window, services, registered_demo) -> None:
    """A typing mistake the check digit catches is not a no-match: one bilingual sentence, the
    digits not echoed, and no access record claiming a comparison."""
    number = registered_demo.my_number
    wrong = number[:11] + str((int(number[11]) + 1) % 10)
    before = access_record_count(services)
    fill(page, window, wrong, f"{demo.DEMO_FAMILY_NAME}{demo.DEMO_GIVEN_NAME}")
    alert = page.get_by_role("alert").inner_text()
    assert "検査用数字" in alert and "check digit" in alert and "該当なし" not in alert
    assert page.locator("#m2-access").count() == 0 and wrong not in page.content()
    assert access_record_count(services) == before
