"""Journeys a resident makes at the kiosk, in a real browser (Debian's chromium driven by
Playwright), against the emulated card in a virtual reader through pcscd and the test centre
stand-in over HTTP. One browser serves every journey; each journey gets a fresh page.

After every journey the kiosk's data directory (journal and voice cache) is scanned for the
PIN, the My Number, the name and the address. Screenshots of each journey are kept as artefacts
in out/kiosk-journeys/<test>/ (gitignored; pytest's tmp dirs are pruned by concurrent runs).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from centre_double import CentreDouble, Resident
from kiosk_harness import FAST, LoopThread
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


@dataclass
class Served:
    kiosk: Kiosk
    url: str
    printer: SimulatedPrinter
    payment: SimulatedAcceptor
    data_dir: Path
    shots: Path
    page: Any

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def h1(self) -> Any:
        return self.page.locator("h1#title")


ARTEFACTS = Path(__file__).resolve().parents[2] / "out" / "kiosk-journeys"


@pytest.fixture
def serve(browser: Any, reader_card: Any, centre_client: HttpCentre, tmp_path: Path,
          demo_resident: tuple[int, Resident],
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
    ids = iter(f"kiosk-test-txn-{n:04d}" for n in range(1, 1000))

    def start(config: KioskConfig) -> Served:
        printer, payment = SimulatedPrinter(seconds_per_copy=0.1), SimulatedAcceptor()
        devices = Devices(PcscReader(reader_card.reader), printer, payment,
                          EspeakVoice(data_dir / "voice"))
        kiosk = Kiosk(config, devices, centre_client, new_transaction_id=lambda: next(ids),
                      tick_interval=0.05, print_poll=0.02)
        server = KioskServer(kiosk, "127.0.0.1", 0)
        asyncio.run_coroutine_threadsafe(server.start(), loop.loop).result(10)
        task = asyncio.run_coroutine_threadsafe(kiosk.run(), loop.loop)
        page = browser.new_page(viewport={"width": 1024, "height": 900})
        running.append((kiosk, server, task, page))
        shots = ARTEFACTS / request.node.name
        shots.mkdir(parents=True, exist_ok=True)
        page.goto(server.url)
        return Served(kiosk, server.url, printer, payment, data_dir, shots, page)

    yield start
    for kiosk, server, task, page in running:
        page.close()
        loop.loop.call_soon_threadsafe(kiosk.stop)
        task.result(15)
        asyncio.run_coroutine_threadsafe(server.close(), loop.loop).result(10)
    loop.close()
    journal.removeHandler(handler)
    handler.close()
    assert_nothing_personal(data_dir, demo_resident[1], ["1234", "9999"])


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


def pdf_text(pdf: bytes) -> str:
    return " ".join(line.decode() for line in re.findall(rb"\((.*?)\) '", pdf))


def test_complete_issuance_in_the_browser(serve: Callable[[KioskConfig], Served], reader_card: Any,
                                          centre: CentreDouble) -> None:
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
    text = pdf_text(sheet.pdf)
    assert "Resident: MIHON HANAKO" in text and f"Transaction: {sheet.transaction_id}" in text
    assert "head_relation" in text and sheet.copies == 2
    assert centre.ledger.transactions[sheet.transaction_id].status == "settled"
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


def test_card_pulled_mid_read(serve: Callable[[KioskConfig], Served], reader_card: Any) -> None:
    s = serve(FAST.with_timeouts(ended=60))
    begin(s, before_accept=lambda: reader_card.remove_during(ins=0xB0))
    expect(s.h1()).to_have_text("終了しました", timeout=10000)
    expect(s.page.locator("#reason")).to_have_text("読み取り中にカードが取り除かれました。")
    s.shot("01-card-pulled")
    s.page.get_by_role("button", name="閉じる").click()
    expect(s.h1()).to_have_text("証明書の交付", timeout=10000)


def test_paper_jam_refunds_in_english(serve: Callable[[KioskConfig], Served], reader_card: Any,
                                      centre: CentreDouble) -> None:
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
    [record] = centre.ledger.transactions.values()
    assert (record.status, record.cancel_reason) == ("cancelled", "media_jam")


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


def test_a_resident_who_moved_out_is_sent_to_the_window(
        serve: Callable[[KioskConfig], Served], reader_card: Any, centre: CentreDouble,
        demo_resident: tuple[int, Resident]) -> None:
    serial, resident = demo_resident
    centre.residents[serial] = dataclasses.replace(resident, refusal="moved_out")
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
