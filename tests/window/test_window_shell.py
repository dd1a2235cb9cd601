"""The window's shell in a real browser: login with a named clerk token, the header naming the
clerk, an unknown token refused in one sentence, an expired session ended in one sentence with
nothing changed, and the privacy rules (HttpOnly SameSite=Strict opaque cookie, no browser
storage, no-store on every page)."""

from __future__ import annotations

from conftest import CLERK_NAME, axe_serious

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


def test_expired_session_says_so_and_changes_nothing(page, window, shot) -> None:
    window.app.state.sessions.expire_all()
    page.goto(f"{window.url}/method2")
    alert = page.get_by_role("alert").inner_text()
    assert "セッションの有効期限が切れました" in alert and "nothing was changed" in alert
    assert page.get_by_label("担当者トークン").is_visible()
    shot(page, "session-expired")
