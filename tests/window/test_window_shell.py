"""The window's shell in a real browser: login with a named clerk token, the header naming the
clerk, an unknown token refused in one sentence, an expired session ended in one sentence with
nothing changed, and the privacy rules (HttpOnly SameSite=Strict opaque cookie, no browser
storage, no-store on every page)."""

from __future__ import annotations

from window_stack import CLERK_NAME, axe_serious, tab_to

pytestmark = [__import__("pytest").mark.e2e]


def test_login_names_the_clerk_and_keeps_nothing_in_the_browser(page, window, shot) -> None:
    assert page.locator("header").inner_text().count(CLERK_NAME) == 1
    cookies = page.context.cookies()
    assert [c["name"] for c in cookies] == ["window_session"]
    assert cookies[0]["httpOnly"] and cookies[0]["sameSite"] == "Strict"
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    response = page.goto(f"{window.url}/method2")
    assert response.headers["cache-control"] == "no-store"
    shot(page, "shell-after-login")


def test_unknown_token_is_refused_in_one_sentence(browser, window, login, shot) -> None:
    context = browser.new_context()
    page = context.new_page()
    login(page, "not-a-token")
    assert "トークンは登録されていません" in page.get_by_role("alert").inner_text()
    assert page.context.cookies() == []
    assert axe_serious(page) == []
    shot(page, "login-refused")
    context.close()


def test_expired_session_says_so_and_changes_nothing(page, window, registered_demo, admin, shot) -> None:
    page.goto(f"{window.url}/method2")
    page.get_by_label("個人番号").fill(registered_demo.my_number)
    for label, value in (("氏名", "見本花子"), ("生年月日", "1985-04-12"), ("性別", "女"), ("住所", "東京都千代田区見本町1-2-3")):
        page.get_by_label(label).fill(value)
    def records() -> list:
        rows = admin.get(f"/v1/residents/{registered_demo.resident_code}/access-records", params={"purpose": "test"}).json()
        return [r["id"] for r in rows if r["action"] == "method2-query"]

    before = records()
    window.app.state.sessions.expire_all()  # the clerk left the counter; the form is sent afterwards
    page.get_by_role("button", name="照会する").click()
    alert = page.get_by_role("alert").inner_text()
    assert "セッションの有効期限が切れました" in alert and "nothing was changed" in alert
    assert page.get_by_label("担当者トークン").is_visible()
    assert records() == before  # no 方法2 query was made
    assert page.context.cookies() == []  # the dead session id is dropped
    shot(page, "session-expired")
    assert axe_serious(page) == []


def test_the_screens_work_from_the_keyboard(browser, window, clerk_token) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{window.url}/login")
    tab_to(page, "token")  # skip link first, or autofocus already there
    page.keyboard.type(clerk_token)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{window.url}/check")
    seen = []
    for _ in range(12):  # skip link, log out, then the screens
        page.keyboard.press("Tab")
        seen.append(page.evaluate("document.activeElement.textContent").strip())
        if page.evaluate("document.activeElement.textContent").startswith("方法2"):
            break
    assert seen[0].startswith("本文へ")  # the skip link comes first
    page.keyboard.press("Enter")
    page.wait_for_url(f"{window.url}/method2")
    assert page.evaluate("document.activeElement.tagName") in ("BODY", "INPUT")
    context.close()
