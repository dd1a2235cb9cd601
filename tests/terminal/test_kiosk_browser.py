"""Journeys a resident makes at the kiosk, in a real browser (Debian's chromium driven by
Playwright), against the emulated card in a virtual reader through pcscd and the REAL centre:
the CA service, the register and the issuance centre as `mynacard serve` mounts them. The card
in the reader is one the register issued to the resident (見本 花子), so the centre maps its auth
certificate to her record; the moved-out resident's move-out is a register event. One browser
serves every journey; each journey gets a fresh page.

After every journey the kiosk's data directory (journal and voice cache) is scanned for the
PIN, the My Number, the name and the address. Screenshots of each journey are kept as artefacts
in out/kiosk-journeys/<test>/ (gitignored; pytest's tmp dirs are pruned by concurrent runs).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import httpx

from centre_double import Resident
from kiosk_harness import FAST, LoopThread, ResidentCard, copy_card, pdf_text
from real_centre import Services, register_resident
from register_server import event
from mynacard.host.card import MyNumberCard
from mynacard.host.errors import ReaderBusy
from mynacard.host.jpki import Key
from mynacard.host.pcsc import PcscTransport
from mynacard.host.transport import open_transport
from mynacard.terminal.centre_client import HttpCentre
from mynacard.terminal.config import KioskConfig
from mynacard.terminal.payment import SimulatedAcceptor
from mynacard.terminal.printer import SimulatedPrinter
from mynacard.terminal.reader import PcscReader
from mynacard.terminal.runtime import Devices, Kiosk, journal
from mynacard.terminal.server import KioskServer
from mynacard.terminal.voice import EspeakVoice

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def kiosk_card(request: pytest.FixtureRequest, registered_demo: ResidentCard, services: Services,
               tmp_path_factory: pytest.TempPathFactory) -> ResidentCard:
    """The resident at the kiosk: the demo resident, or (param "moved_out") a resident who filed
    a move-out (転出届) — recorded as a register event after their card was issued."""
    if getattr(request, "param", "demo") == "demo":
        return registered_demo
    card = register_resident(services, tmp_path_factory.mktemp("moving") / "card", "見本", "次郎",
                             "MIHON JIRO", "東京都千代田区見本町1-2-3", "1990-06-01", "1")
    with services.register("clerk") as clerk:
        event(clerk, str(card.resident_code), "move-out", planned_date="2026-12-20",
              destination="大阪府大阪市北区梅田1-1")
    return card


@pytest.fixture
def card_dir(kiosk_card: ResidentCard, tmp_path: Path) -> Path:
    """The card in the virtual reader (the emulator plugin's `reader_card` uses this)."""
    return copy_card(kiosk_card, tmp_path / "card")


@dataclass
class Served:
    kiosk: Kiosk
    url: str
    printer: SimulatedPrinter
    payment: SimulatedAcceptor
    data_dir: Path
    shots: Path
    page: Any
    services: Services
    kiosk_messages: list[dict[str, object]]

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def h1(self) -> Any:
        return self.page.locator("h1#title")


ARTEFACTS = Path(__file__).resolve().parents[2] / "out" / "kiosk-journeys"


@pytest.fixture
def serve(browser: Any, reader_card: Any, real_centre: HttpCentre, services: Services, tmp_path: Path,
          kiosk_card: ResidentCard,
          request: pytest.FixtureRequest) -> Iterator[Callable[[KioskConfig], Served]]:
    """Start a kiosk on the test's virtual reader, served on a free port, with a page open."""
    loop = LoopThread()
    running: list[tuple[Kiosk, KioskServer, Any, Any]] = []
    data_dir = tmp_path / "kiosk-data"
    data_dir.mkdir()
    handler = logging.FileHandler(data_dir / "kiosk.log")
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    journal.addHandler(handler)
    journal.setLevel(logging.INFO)
    prefix = secrets.token_hex(6)  # one centre serves the whole session: ids are never reused
    ids = iter(f"kiosk-test-{prefix}-{n:04d}" for n in range(1, 1000))

    def start(config: KioskConfig) -> Served:
        printer, payment = SimulatedPrinter(seconds_per_copy=0.1), SimulatedAcceptor()
        devices = Devices(PcscReader(reader_card.reader), printer, payment,
                          EspeakVoice(data_dir / "voice"))
        kiosk = Kiosk(config, devices, real_centre, new_transaction_id=lambda: next(ids),
                      tick_interval=0.05, print_poll=0.02)
        messages: list[dict[str, object]] = []
        kiosk.subscribe(messages.append)
        server = KioskServer(kiosk, "127.0.0.1", 0)
        asyncio.run_coroutine_threadsafe(server.start(), loop.loop).result(10)
        task = asyncio.run_coroutine_threadsafe(kiosk.run(), loop.loop)
        page = browser.new_page(viewport={"width": 1024, "height": 900})
        running.append((kiosk, server, task, page))
        shots = ARTEFACTS / request.node.name
        shots.mkdir(parents=True, exist_ok=True)
        page.goto(server.url)
        return Served(kiosk, server.url, printer, payment, data_dir, shots, page, services, messages)

    yield start
    for kiosk, server, task, page in running:
        page.close()
        loop.loop.call_soon_threadsafe(kiosk.stop)
        task.result(15)
        asyncio.run_coroutine_threadsafe(server.close(), loop.loop).result(10)
    loop.close()
    journal.removeHandler(handler)
    handler.close()
    assert_nothing_personal(data_dir, kiosk_card.resident, ["1234", "9999"])


def assert_nothing_personal(data_dir: Path, resident: Resident, pins: list[str]) -> None:
    """No PIN, My Number, name (kanji or roman) or address in any file the kiosk wrote."""
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.name == "kiosk.log" for p in files) and any(p.suffix == ".wav" for p in files)
    secrets = [*pins, resident.my_number, *resident.name.split("\u3000"), resident.name_roman,
               *resident.name_roman.split(), resident.address, resident.address[3:9]]
    for path in files:
        content = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in content, f"{secret!r} found in {path.name}"
    log = (data_dir / "kiosk.log").read_text()
    assert "transaction" in log or "state" in log  # the journal did record the journey


def axe_serious(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]

    results = Axe().run(page)
    return [f"{v['id']}: {v['help']}" for v in results.response["violations"]
            if v.get("impact") in ("serious", "critical")]


def begin(s: Served, before_accept: Callable[[], None] | None = None) -> None:
    expect(s.h1()).to_have_text("証明書の交付")
    s.shot("01-idle")
    button = s.page.get_by_role("button", name="証明書交付（マイナンバーカード）")
    button.focus()
    s.page.keyboard.press("Enter")  # keyboard operable
    expect(s.h1()).to_have_text("ご利用にあたって")
    if before_accept is not None:
        # Armed as late as possible: other programs on a shared pcscd may probe the reader.
        before_accept()
    s.page.get_by_role("button", name="同意して進む").click()


def enter_pin(s: Served, pin: str) -> None:
    s.page.get_by_label("暗証番号（数字4桁）", exact=True).fill(pin)
    s.page.keyboard.press("Enter")


def centre_record(s: Served, transaction_id: str) -> dict[str, Any]:
    """The centre's ledger entry (the operator's view, register-admin token)."""
    answer = httpx.get(f"{s.services.base}/centre/v1/transactions/{transaction_id}",
                       headers={"Authorization": f"Bearer {s.services.tokens['register-admin']}"})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_complete_issuance_in_the_browser(serve: Callable[[KioskConfig], Served], reader_card: Any,
                                          tmp_path: Path, kiosk_card: ResidentCard) -> None:
    s = serve(FAST)
    assert axe_serious(s.page) == []
    begin(s)
    expect(s.h1()).to_have_text("暗証番号を入力してください")
    expect(s.page.locator("#tries")).to_have_text("残り 3 回（全 3 回）")
    assert axe_serious(s.page) == []
    s.shot("02-pin")
    with pytest.raises(ReaderBusy):  # the kiosk holds the card: no other program gets in
        PcscTransport(reader_card.reader)
    enter_pin(s, "1234")
    expect(s.h1()).to_have_text("カードをお取りください", timeout=10000)
    s.shot("03-remove-card")
    reader_card.remove()
    expect(s.h1()).to_have_text("証明書を選んでください", timeout=10000)
    s.page.get_by_label("世帯主・続柄").check()
    s.page.get_by_role("button", name="1通増やす").click()
    assert axe_serious(s.page) == []
    s.shot("04-choose")
    s.page.get_by_role("button", name="次へ").click()
    expect(s.h1()).to_have_text("料金の確認")
    expect(s.page.locator(".amount")).to_have_text("400 円")
    s.page.get_by_role("button", name="支払う").click()
    expect(s.h1()).to_have_text("料金を入れてください")
    s.page.get_by_role("button", name="¥500").click()
    expect(s.h1()).to_have_text("証明書をお取りください", timeout=10000)
    s.shot("05-collect")
    s.page.get_by_role("button", name="受け取りました").click()
    expect(s.h1()).to_have_text("ご利用ありがとうございました")
    s.shot("06-complete")
    [sheet] = s.printer.tray
    text = pdf_text(sheet.pdf, tmp_path)
    assert "住民票の写し" in text and "氏名見本花子" in text and sheet.transaction_id in text
    assert "世帯主見本花子" in text and "続柄世帯主" in text and sheet.copies == 2  # the option asked
    assert str(kiosk_card.resident_code) not in text and kiosk_card.resident.my_number not in text
    record = centre_record(s, sheet.transaction_id)
    assert (record["status"], record["fee"], record["copies"]) == ("settled", 400, 2)
    code = re.search(r"検証コード([A-Z0-9]{4}(?:-[A-Z0-9]{4}){3})", text)
    assert code is not None and code.group(1) == record["verification_code"]
    verified = httpx.get(f"{s.services.base}/centre/v1/verify/{code.group(1)}").json()  # public
    assert verified["sha256"] == hashlib.sha256(sheet.pdf).hexdigest() and verified["status"] == "valid"
    assert [(e.kind, e.transaction_id, e.amount, e.change) for e in s.payment.ledger] == \
        [("capture", sheet.transaction_id, 400, 100)]
    expect(s.h1()).to_have_text("証明書の交付", timeout=5000)  # back to idle


def test_three_wrong_pins_lock_the_card(serve: Callable[[KioskConfig], Served],
                                        reader_card: Any) -> None:
    s = serve(FAST)
    begin(s)
    for left in (2, 1):
        enter_pin(s, "9999")
        expect(s.page.locator("#tries")).to_contain_text(f"残り {left} 回", timeout=10000)
        expect(s.page.locator("#pin-wrong")).to_have_text("暗証番号が違います。")
    expect(s.page.get_by_role("alert")).to_contain_text("あと1回間違えると")
    s.shot("01-last-try-warning")
    enter_pin(s, "9999")
    expect(s.page.locator("#status")).to_have_text("最後の1回です。確認にチェックを入れてください。")
    s.page.get_by_label("理解したうえで入力します").check()
    enter_pin(s, "9999")
    expect(s.h1()).to_have_text("終了しました", timeout=10000)
    expect(s.page.locator("#reason")).to_have_text("暗証番号がロックされています。")
    expect(s.page.locator(".window")).to_be_visible()
    s.shot("02-blocked")
    assert axe_serious(s.page) == []
    with MyNumberCard(open_transport(f"pcsc:{reader_card.reader}")) as card:
        assert card.jpki.tries_left(Key.AUTH) == 0


def test_paper_jam_refunds_in_english(serve: Callable[[KioskConfig], Served], reader_card: Any) -> None:
    s = serve(FAST.with_timeouts(ended=60))
    s.printer.jam_next = 1
    s.page.get_by_role("button", name="English").click()
    expect(s.h1()).to_have_text("Certificates")
    s.page.get_by_role("button", name="Larger text").click()
    s.page.get_by_role("button", name="Get a certificate (My Number Card)").click()
    s.page.get_by_role("button", name="Agree and continue").click()
    s.page.get_by_label("PIN (4 digits)", exact=True).fill("1234")
    s.page.keyboard.press("Enter")
    expect(s.h1()).to_have_text("Take your card", timeout=10000)
    reader_card.remove()
    expect(s.h1()).to_have_text("Choose a certificate", timeout=10000)
    s.shot("01-choose-large-english")
    s.page.get_by_role("button", name="Next").click()
    s.page.get_by_role("button", name="Pay").click()
    s.page.get_by_role("button", name="¥100", exact=True).click()
    s.page.get_by_role("button", name="¥100", exact=True).click()
    expect(s.h1()).to_have_text("Session ended", timeout=10000)
    expect(s.page.locator("#reason")).to_have_text("Paper jam: your money was returned.")
    s.shot("02-jam-refunded")
    assert axe_serious(s.page) == []
    assert s.printer.tray == [] and s.payment.cash_box == 0
    assert [(e.kind, e.amount) for e in s.payment.ledger] == [("refund", 200)]
    [result] = [m for m in s.kiosk_messages if m["msg"] == "RESULT"]
    record = centre_record(s, str(result["transaction_id"]))
    assert (record["status"], record["cancel_reason"]) == ("cancelled", "media_jam")


def test_timeout_returns_to_idle_with_the_card_released(
        serve: Callable[[KioskConfig], Served], reader_card: Any) -> None:
    s = serve(FAST.with_timeouts(pin_entry=1.5, ended=0.5))
    begin(s)
    expect(s.h1()).to_have_text("暗証番号を入力してください", timeout=10000)
    expect(s.h1()).to_have_text("終了しました", timeout=10000)
    expect(s.page.locator("#reason")).to_have_text("時間切れのため終了しました。")
    expect(s.page.locator(".warning")).to_have_text("カードをお忘れなく。")
    s.shot("01-timeout-take-card")
    # Released: no one holds the card, so an exclusive connection succeeds while it is still in.
    with PcscTransport(reader_card.reader, exclusive=True):
        pass
    reader_card.remove()
    expect(s.h1()).to_have_text("証明書の交付", timeout=10000)
    s.shot("02-idle-again")


@pytest.mark.parametrize("kiosk_card", ["moved_out"], indirect=True)
def test_a_resident_who_moved_out_is_sent_to_the_window(
        serve: Callable[[KioskConfig], Served], reader_card: Any) -> None:
    s = serve(FAST.with_timeouts(ended=60))
    begin(s)
    enter_pin(s, "1234")
    expect(s.h1()).to_have_text("カードをお取りください", timeout=10000)
    reader_card.remove()
    expect(s.h1()).to_have_text("終了しました", timeout=10000)
    expect(s.page.locator("#reason")).to_have_text("転出の届出があるため交付できません。")
    expect(s.page.locator(".window")).to_have_text("市区町村の窓口でお手続きください。")
    s.shot("01-moved-out")
    assert s.printer.tray == [] and s.payment.ledger == []


# Last in the module: after a card is pulled mid-READ BINARY, the next card put into the same
# virtual slot is sometimes (about 1 run in 4 here, with the real services in the test process)
# not reported by pcscd within 5 s — an emulator fault-injection issue, left for the emulator.
def test_card_pulled_mid_read(serve: Callable[[KioskConfig], Served], reader_card: Any) -> None:
    s = serve(FAST.with_timeouts(ended=60))
    begin(s, before_accept=lambda: reader_card.remove_during(ins=0xB0))
    expect(s.h1()).to_have_text("終了しました", timeout=10000)
    expect(s.page.locator("#reason")).to_have_text("読み取り中にカードが取り除かれました。")
    s.shot("01-card-pulled")
    s.page.get_by_role("button", name="閉じる").click()
    expect(s.h1()).to_have_text("証明書の交付", timeout=10000)
