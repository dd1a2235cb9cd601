"""Shared fixtures of the window tests (W1 and W2 screens): ONE stack per session.

- `services`: the real CA service + register + centre (keys from one pool).
- `window`: the window app on a free port, reading the session's virtual reader through pcscd,
  trusting the test authority (the cards here are the test authority's), OCSP at the CA service.
- `clerk_token`: a named clerk token made with the register's `POST /v1/clerks`.
- `browser`: one Debian chromium for the session; `page`: a fresh page per test, logged in as the
  clerk (`login(page)` logs in another page).
- `shot(page, name)`: a full-page screenshot into out/window/ (gitignored).
- `encoder`: the emulator's control channel over the test's reader, for screen 4's card writer.
- `card_dir`: the card in the virtual reader for this test (the emulator plugin's `reader_card`
  inserts it); default the registered demo resident's card, copied per test.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from window_stack import CLERK_NAME, RegisteredCard, Services, WindowServer, free_port, register_resident
from mynacard.window.config import WindowConfig

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTEFACTS = Path(__file__).resolve().parents[2] / "out" / "window"


@pytest.fixture(scope="session")
def window_keys() -> list[rsa.RSAPrivateKey]:
    return [rsa.generate_private_key(65537, 2048) for _ in range(4)]


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory, window_keys: list[rsa.RSAPrivateKey]) -> Iterator[Services]:
    running = Services(tmp_path_factory.mktemp("window-services") / "data", window_keys).start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def admin(services: Services) -> Iterator[httpx.Client]:
    with services.register("register-admin") as client:
        yield client


@pytest.fixture(scope="session")
def clerk_token(admin: httpx.Client) -> str:
    made = admin.post("/v1/clerks", json={"name": CLERK_NAME})
    assert made.status_code == 201, made.text
    return str(made.json()["token"])


@pytest.fixture(scope="session")
def window(services: Services, virtual_reader: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WindowServer]:
    encoder = tmp_path_factory.mktemp("window-encoder")  # screen 4's card writer: `encoder` below
    config = WindowConfig(register_url=f"{services.base}/register", reader=virtual_reader.reader,
                          trust_test_authority=True, port=free_port(), encoder_dir=encoder / "cards",
                          encoder_control=encoder / "control.sock")
    server = WindowServer(config).start()
    yield server
    server.stop()


@pytest.fixture
def encoder(window: WindowServer, reader_card: Any) -> Iterator[Any]:
    """The emulator's control channel over the test's reader, where the window's card writer puts
    an issued card (as `mynacard emulate` serves it to `mynacard window --encoder-dir`)."""
    from mynacard.emulator.control import ControlServer
    from mynacard.emulator.readers import VirtualReaders

    readers = VirtualReaders()
    readers.slots.append(reader_card.slot)
    server = ControlServer(window.config.encoder_control, readers)
    server.start()
    yield reader_card
    server.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    playwright_sync = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    with playwright_sync.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def login(window: WindowServer, clerk_token: str) -> Callable[[Any], Any]:
    def log_in(page: Any, token: str = clerk_token) -> Any:
        page.goto(f"{window.url}/login")
        page.get_by_label("担当者トークン").fill(token)
        page.get_by_role("button", name="ログイン").click()
        return page

    return log_in


@pytest.fixture
def page(browser: Any, login: Callable[[Any], Any]) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="ja-JP")
    new = context.new_page()
    new.set_default_timeout(15000)
    login(new)
    yield new
    context.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = ARTEFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture(scope="session")
def registered_demo(services: Services, tmp_path_factory: pytest.TempPathFactory) -> RegisteredCard:
    """見本 花子 (the demo values) registered, with a card the register issued."""
    from mynacard.register_stub import demo_values as demo

    return register_resident(services, tmp_path_factory.mktemp("window-registered") / "demo",
                             demo.DEMO_FAMILY_NAME, demo.DEMO_GIVEN_NAME, demo.DEMO_ADDRESS,
                             demo.DEMO_BIRTH_DATE.isoformat(), demo.DEMO_SEX)


@pytest.fixture
def card_dir(registered_demo: RegisteredCard, tmp_path: Path) -> Path:
    target = tmp_path / "card"
    shutil.copytree(registered_demo.card_dir, target)
    return target
