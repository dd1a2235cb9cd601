"""The window test stack: the real CA service, register and centre (tests/register/register_server.py
mounts them as `mynacard serve` does), a `mynacard window` app served by uvicorn on a free port
against them and the session's virtual reader (pcscd + vpcd), and a named clerk token."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

sys.path.append(str(Path(__file__).resolve().parents[1] / "register"))

from register_server import Services, birth, free_port, issue_card, write_card

from mynacard.window.app import create_app
from mynacard.window.config import WindowConfig

__all__ = ["CLERK_NAME", "RegisteredCard", "Services", "WindowServer", "axe_serious", "free_port", "register_resident"]

#: The clerk the shared `clerk_token` fixture logs in as.
CLERK_NAME = "窓口 花子"


@dataclass(frozen=True)
class RegisteredCard:
    """A resident on the register and the card image it issued them (copy before use)."""

    card_dir: Path
    resident_code: str
    my_number: str
    card: dict[str, Any]  # the register's answer: serials, expiry, security_code


def register_resident(services: Services, target: Path, family: str, given: str, address: str,
                      born: str, sex: str) -> RegisteredCard:
    with services.register("clerk") as clerk:
        created = birth(clerk, family=family, given=given, born=born, sex=sex, address=address)
        card = issue_card(clerk, created["resident_code"])
    write_card(card, target)
    return RegisteredCard(target, created["resident_code"], created["my_number"], card)


@dataclass
class WindowServer:
    """A running window app (its FastAPI app at `.app`: `.app.state.sessions` for expiry tests)."""

    config: WindowConfig
    app: Any = None
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.config.port}"

    def start(self) -> WindowServer:
        self.app = create_app(self.config)
        self._server = uvicorn.Server(uvicorn.Config(self.app, host=self.config.host, port=self.config.port,
                                                     log_level="warning", access_log=False))
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the window did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)


def axe_serious(page: Any) -> list[str]:
    """axe-core violations of impact serious or critical on the page (ids and first target)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']}: {v['nodes'][0]['target']}" for v in results.response["violations"]
            if v.get("impact") in ("serious", "critical")]


def tab_to(page: Any, element_id: str, presses: int = 6) -> None:
    """Reach `element_id` from the keyboard alone: where autofocus put the caret, or by Tab.

    A browser may not apply autofocus to a page that is not in front (a second window, a loaded
    machine), and a person would press Tab there too; what must hold is that the keyboard gets there.
    """
    for _ in range(presses):
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement && document.activeElement.id") == element_id
