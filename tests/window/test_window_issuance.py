"""Screen 4 (カード交付) in the browser: the resident sets the PINs on the PIN pad (/pinpad, a second
page of the same browser, paired by the code on the clerk's screen), the register and the CA
service issue the card, the window's card writer puts it in the virtual reader through the
emulator's control channel, and then:

- pyscard through pcscd finds the PINs typed on the PIN pad on the new card (VERIFY of the auth
  PIN 9000, a wrong one 63C2; the signing password and the card-info PIN 9000 too);
- the clerk's pages never contained a PIN (asserted on their HTML), nor did the log;
- the issued card passes screen 1's full check against the register's application form.
A PIN-pad format error (3 digits) and a confirmation that differs are one sentence each, and
nothing is issued. A resident who holds a card gets a reissue: said before, and the old card's
certificates revoked (superseded; `openssl ocsp`).
"""

from __future__ import annotations

import logging
import re
import time

import pytest

from register_server import PURPOSE, birth, ocsp_status
from window_stack import CLERK_NAME, axe_serious, register_resident, tab_to

pytestmark = pytest.mark.e2e
PINS = {"auth_pin": "5791", "sign_password": "MYNA2468", "text_pin": "8024"}
JPKI_AP = "D392F000260100000001"
TEXT_AP = "D3921000310001010408"


@pytest.fixture
def applicant(services) -> dict:
    with services.register("clerk") as clerk:
        return birth(clerk, family="交付", given="花子", born="1990-03-03", sex="2", address="東京都千代田区見本町4-4-4")


def contains_pin(html: str) -> list[str]:
    """The PINs that appear in `html` as a value of their own (not inside a longer serial)."""
    return [name for name, pin in PINS.items() if re.search(rf"(?<![0-9A-Za-z]){re.escape(pin)}(?![0-9A-Za-z])", html)]


def start_pin_entry(page, window, code: str) -> str:
    page.goto(f"{window.url}/issue")
    page.get_by_label("住民票コード（11桁）").fill(code)
    page.get_by_role("button", name="住民票を開く").click()
    page.get_by_role("button", name="暗証番号の設定を始める").click()
    return page.locator("#pairing-code").inner_text()


def open_pin_pad(page, window, pairing: str, shot=None):
    pad = page.context.new_page()  # the screen facing the resident: a second window of the browser
    pad.goto(f"{window.url}/pinpad")
    if shot is not None:
        shot(pad, "pinpad-0-pair")
        assert axe_serious(pad) == []
    tab_to(pad, "pairing_code")  # from the keyboard alone
    pad.keyboard.type(pairing)
    pad.keyboard.press("Enter")
    pad.locator("#auth_pin").wait_for()
    pad.keyboard.press("Tab")  # from the status line (focused so it is read out) to the first PIN
    assert pad.evaluate("document.activeElement.id") == "auth_pin"
    return pad


def type_pins(pad, pins: dict[str, str], again: dict[str, str] | None = None) -> None:
    for name, value in pins.items():
        pad.locator(f"#{name}").fill(value)
        pad.locator(f"#{name}_again").fill((again or pins)[name])
    pad.get_by_role("button", name="設定する").click()
    pad.wait_for_load_state("load")


def transmit(connection, apdu: str) -> int:
    _, sw1, sw2 = connection.transmit(list(bytes.fromhex(apdu)))
    return sw1 << 8 | sw2


def verify(connection, aid: str, ef: str, secret: str) -> int:
    assert transmit(connection, f"00A4040C0A{aid}") == 0x9000
    assert transmit(connection, f"00A4020C02{ef}") == 0x9000
    data = secret.encode().hex()
    return transmit(connection, f"00200080{len(secret):02X}{data}")


def test_pins_set_on_the_pin_pad_work_on_the_issued_card(page, window, encoder, applicant, admin, shot, caplog):
    caplog.set_level(logging.DEBUG)
    clerk_pages = []
    pairing = start_pin_entry(page, window, applicant["resident_code"])
    assert re.fullmatch(r"[0-9]{6}", pairing)
    shot(page, "issue-1-pairing")
    assert axe_serious(page) == []
    pad = open_pin_pad(page, window, pairing, shot)
    assert CLERK_NAME not in pad.content() and applicant["resident_code"] not in pad.content()
    shot(pad, "pinpad-1-entry")
    assert axe_serious(pad) == []
    type_pins(pad, PINS)
    assert "暗証番号を受け付けました" in pad.locator("#pins-set").inner_text()
    assert not contains_pin(pad.content())  # the PIN pad does not show them back either
    shot(pad, "pinpad-2-set")
    assert pad.evaluate("localStorage.length + sessionStorage.length") == 0
    page.get_by_role("link", name="状況を更新").click()
    assert page.locator("#stage").get_attribute("data-stage") == "pins-set"
    clerk_pages.append(page.content())
    shot(page, "issue-2-pins-set")
    page.get_by_role("button", name="カードを発行する").click()
    assert "カードを発行して読み取り機に置きました" in page.get_by_role("status").inner_text()
    clerk_pages.append(page.content())
    shot(page, "issue-3-issued")
    assert axe_serious(page) == []
    pad.goto(f"{window.url}/pinpad")
    assert "カードを発行しました" in pad.content()

    from smartcard.System import readers

    reader = next(r for r in readers() if str(r) == encoder.reader)
    connection = reader.createConnection()
    connection.connect()
    try:
        assert verify(connection, JPKI_AP, "0018", "0000") == 0x63C2  # a wrong auth PIN costs one try
        assert verify(connection, JPKI_AP, "0018", PINS["auth_pin"]) == 0x9000
        assert verify(connection, JPKI_AP, "001B", PINS["sign_password"]) == 0x9000
        assert verify(connection, TEXT_AP, "0011", PINS["text_pin"]) == 0x9000
    finally:
        connection.disconnect()

    page.get_by_role("button", name="このカードを確認する（方法1）").click()
    assert page.locator("#verdict").inner_text().startswith("合格"), page.locator("#checks").inner_text()
    clerk_pages.append(page.content())
    shot(page, "issue-4-checked")
    assert [contains_pin(html) for html in clerk_pages] == [[] for _ in clerk_pages]
    assert not contains_pin(caplog.text)
    cards = admin.get(f"/v1/residents/{applicant['resident_code']}/cards", params=PURPOSE).json()
    assert len(cards) == 1 and cards[0]["status"] == "active"
    rows = admin.get(f"/v1/residents/{applicant['resident_code']}/access-records", params=PURPOSE).json()
    assert {"event:card-issue", "window-card-check"} <= {r["action"] for r in rows if r["actor"] == CLERK_NAME}


def test_a_pin_pad_format_error_is_one_sentence_and_nothing_is_issued(page, window, encoder, applicant, admin, shot):
    pad = open_pin_pad(page, window, start_pin_entry(page, window, applicant["resident_code"]))
    type_pins(pad, {**PINS, "auth_pin": "579"})
    alert = pad.get_by_role("alert").inner_text()
    assert "数字4桁" in alert and "auth PIN is 4 digits" in alert
    assert pad.locator("#auth_pin").input_value() == ""  # nothing typed is kept
    shot(pad, "pinpad-format-error")
    assert axe_serious(pad) == []
    type_pins(pad, PINS, again={**PINS, "sign_password": "MYNA2469"})
    assert "一致しません" in pad.get_by_role("alert").inner_text()
    page.get_by_role("link", name="状況を更新").click()
    assert page.locator("#stage").get_attribute("data-stage") == "waiting-pins"
    assert page.get_by_role("button", name="カードを発行する").count() == 0
    sent = page.evaluate("fetch('/issue/card', {method: 'POST'}).then(r => r.status)")
    assert sent == 409
    assert admin.get(f"/v1/residents/{applicant['resident_code']}/cards", params=PURPOSE).json() == []
    assert pad.evaluate("fetch('/pinpad/pair', {method: 'POST', body: 'pairing_code=000000', headers: "
                        "{'Content-Type': 'application/x-www-form-urlencoded'}}).then(r => r.status)") == 422


def test_a_resident_holding_a_card_gets_a_reissue_that_revokes_the_old_card(page, window, encoder, services, admin,
                                                                             shot, tmp_path):
    held = register_resident(services, tmp_path / "old", "再交付", "次郎", "東京都千代田区見本町6-6-6", "1980-05-05", "1")
    page.goto(f"{window.url}/issue")
    page.get_by_label("住民票コード（11桁）").fill(held.resident_code)
    page.get_by_role("button", name="住民票を開く").click()
    assert held.card["card_serial"] in page.locator("#current-card").inner_text()  # said before anything is done
    shot(page, "issue-0-record-reissue")
    assert axe_serious(page) == []
    page.get_by_role("button", name="暗証番号の設定を始める").click()
    type_pins(open_pin_pad(page, window, page.locator("#pairing-code").inner_text()), PINS)
    page.get_by_role("link", name="状況を更新").click()
    page.get_by_role("button", name="カードを発行する").click()
    assert "カードを発行して読み取り機に置きました" in page.get_by_role("status").inner_text()
    cards = admin.get(f"/v1/residents/{held.resident_code}/cards", params=PURPOSE).json()
    assert [(c["card_serial"] == held.card["card_serial"], c["status"]) for c in cards] == [
        (True, "revoked"), (False, "active")]
    deadline = time.monotonic() + 15
    while ocsp_status(services, "auth", held.card["auth_serial"], tmp_path) != "revoked":
        assert time.monotonic() < deadline, "the old card's auth certificate was not revoked"
        time.sleep(0.3)
    assert ocsp_status(services, "sign", held.card["sign_serial"], tmp_path) == "revoked"


def test_a_card_the_encoder_cannot_write_is_one_sentence(page, window, applicant, shot):
    """No emulator answers on the encoder's control socket (no `encoder` fixture): the register has
    issued the card, the window says in one sentence that it was not written and what to do."""
    pad = open_pin_pad(page, window, start_pin_entry(page, window, applicant["resident_code"]))
    type_pins(pad, PINS)
    page.get_by_role("link", name="状況を更新").click()
    page.get_by_role("button", name="カードを発行する").click()
    alert = page.get_by_role("alert").inner_text()
    assert "カードを書き込めませんでした" in alert and "cannot talk to the emulator" in alert
    assert page.get_by_role("button", name="このカードを確認する（方法1）").count() == 0
    assert page.get_by_role("button", name="暗証番号の設定からやり直す").count() == 1
    assert not contains_pin(page.content())
    shot(page, "issue-encoder-failed")
