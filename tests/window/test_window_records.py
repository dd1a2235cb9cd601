"""Screen 5 in the browser against the real register and centre: a resident's access records
(the clerk's own 方法2 query among them, under the clerk's name), and a 住民票の写し made by the
centre's generator — a PDF whose text names the resident and whose verification code the
centre's public verification answers."""

from __future__ import annotations

import httpx
import pytest

from register_server import access_record_count
from window_stack import CLERK_NAME, axe_serious
from mynacard.register_stub import demo_values as demo

pytestmark = pytest.mark.e2e


def test_access_records_for_the_resident(page, window, registered_demo, shot) -> None:
    page.goto(f"{window.url}/method2")  # something this clerk did, to find in the list
    page.get_by_label("個人番号").fill(registered_demo.my_number)
    page.get_by_label("氏名").fill(f"{demo.DEMO_FAMILY_NAME}{demo.DEMO_GIVEN_NAME}")
    page.get_by_label("生年月日").fill(demo.DEMO_BIRTH_DATE.isoformat())
    page.get_by_label("性別").fill("女")
    page.get_by_label("住所").fill(demo.DEMO_ADDRESS)
    page.get_by_role("button", name="照会する").click()
    page.goto(f"{window.url}/records")
    page.get_by_label("個人番号（住民票コードが分からないとき）").fill(registered_demo.my_number)
    page.get_by_role("button", name="アクセス記録を見る").click()
    table = page.locator("#access-records").inner_text()
    assert "方法2による照会" in table and CLERK_NAME in table
    assert registered_demo.my_number not in page.content()
    shot(page, "records-access")
    assert axe_serious(page) == []


def test_a_residence_certificate_is_printed_as_pdf(page, window, services, registered_demo, shot, tmp_path) -> None:
    page.goto(f"{window.url}/records")
    page.get_by_label("住民票コード（11桁）").fill(registered_demo.resident_code)
    page.get_by_role("button", name="住民票の写しを発行").click()
    assert "住民票の写しを作成しました" in page.get_by_role("status").inner_text()
    code = page.locator("#verification-code").inner_text()
    shot(page, "records-certificate")
    href = page.locator("#open-pdf").get_attribute("href")
    response = page.request.get(f"{window.url}{href}")
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    pdf = response.body()
    assert pdf.startswith(b"%PDF")
    (tmp_path / "j.pdf").write_bytes(pdf)
    import subprocess

    text = subprocess.run(["pdftotext", str(tmp_path / "j.pdf"), "-"], capture_output=True, text=True).stdout
    assert "住民票の写し" in text and demo.DEMO_FAMILY_NAME in text
    verified = httpx.get(f"{services.base}/centre/v1/verify/{code}").json()
    assert verified["document"] in ("juminhyo", "住民票の写し") or "juminhyo" in str(verified)
    rows = httpx.get(f"{services.base}/register/v1/residents/{registered_demo.resident_code}/access-records",
                     params={"purpose": "test"}, headers={"Authorization": f"Bearer {services.tokens['register-admin']}"}).json()
    assert any(r["action"] == "centre-issue-juminhyo" and r["actor"] == CLERK_NAME and r["purpose"] == "窓口交付" for r in rows)


def test_an_unknown_number_is_one_sentence(page, window) -> None:
    from mynacard.codec.my_number import check_digit

    page.goto(f"{window.url}/records")
    page.get_by_label("個人番号（住民票コードが分からないとき）").fill("12345678901" + str(check_digit("12345678901")))
    page.get_by_role("button", name="アクセス記録を見る").click()
    assert "この個人番号の住民票はありません" in page.get_by_role("alert").inner_text()


def test_a_my_number_with_a_wrong_check_digit_is_not_looked_up(page, window, services, registered_demo) -> None:
    number = registered_demo.my_number
    before = access_record_count(services)
    page.goto(f"{window.url}/records")
    page.get_by_label("個人番号（住民票コードが分からないとき）").fill(number[:11] + str((int(number[11]) + 1) % 10))
    page.get_by_role("button", name="アクセス記録を見る").click()
    alert = page.get_by_role("alert").inner_text()
    assert "検査用数字" in alert and "check digit" in alert
    assert access_record_count(services) == before
