"""The one page layout every screen renders into: header with the clerk and the screens, a main
region, one status line; Japanese first, English beside it (`bi("氏名", "Name")`).

Pages are rendered on the server (plain HTML forms, no build step, no script needed to operate
them), so every control is a labelled form element reachable by Tab and Enter. `esc` every value
that came from a person or the card. Responses carry no-store: pages hold personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from fastapi import Request
from fastapi.responses import HTMLResponse

from mynacard.window.sessions import ClerkSession

#: Headers on every window response: nothing cached, nothing from elsewhere, no framing.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def bi(ja: str, en: str) -> str:
    """Japanese first, English after it, marked as English for screen readers (both escaped)."""
    return f'{esc(ja)} <span class="en" lang="en">{esc(en)}</span>'


@dataclass(frozen=True)
class NavEntry:
    """A screen's place in the header: its path and its name in both languages."""

    path: str
    ja: str
    en: str


def page(title_ja: str, title_en: str, body: str, *, clerk: str | None = None,
         nav: list[NavEntry] | None = None, current: str | None = None,
         status: str = "", status_kind: str = "info", http_status: int = 200) -> HTMLResponse:
    """A whole page. `body` is trusted HTML built with `esc`/`bi`; `status` is one sentence shown
    (and announced) in the status line: kind "error" for a refusal, "ok" for a success."""
    links = ""
    if nav:
        items = []
        for entry in nav:
            here = ' aria-current="page"' if entry.path == current else ""
            items.append(f'<li><a href="{esc(entry.path)}"{here}>{bi(entry.ja, entry.en)}</a></li>')
        links = f'<nav aria-label="画面 Screens"><ul class="nav">{"".join(items)}</ul></nav>'
    who = ""
    if clerk:
        who = (f'<form method="post" action="/logout" class="who"><span>{bi("担当", "Clerk")}: '
               f'<strong>{esc(clerk)}</strong></span> <button type="submit" class="secondary">'
               f'{bi("ログアウト", "Log out")}</button></form>')
    role = "alert" if status_kind == "error" else "status"
    status_html = (f'<p id="status" class="status {esc(status_kind)}" role="{role}">{esc(status)}</p>'
                   if status else '<p id="status" class="status" role="status"></p>')
    html = f"""<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title_ja)} {esc(title_en)} — mynacard 窓口</title>
<link rel="stylesheet" href="/static/window.css">
<script src="/static/window.js" defer></script>
</head>
<body>
<a class="skip" href="#main">{bi("本文へ", "Skip to content")}</a>
<header class="bar">
<p class="brand">{bi("市町村窓口", "Municipal window")}</p>
{who}
</header>
{links}
<main id="main" tabindex="-1">
<h1>{bi(title_ja, title_en)}</h1>
{status_html}
{body}
</main>
</body>
</html>
"""
    return HTMLResponse(html, status_code=http_status, headers=SECURITY_HEADERS)


def screen_page(request: Request, session: ClerkSession, title_ja: str, title_en: str, body: str, *,
                status: str = "", status_kind: str = "info", http_status: int = 200) -> HTMLResponse:
    """`page` for a logged-in screen: the clerk's name and the nav of every registered screen."""
    return page(title_ja, title_en, body, clerk=session.clerk, nav=request.app.state.nav,
                current=request.url.path, status=status, status_kind=status_kind, http_status=http_status)
