"""Device adapters and simulators, the centre client's refusals, the card check, configuration."""

from __future__ import annotations

import wave
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from centre_double import TOKEN, CentreDouble
from kiosk_harness import ResidentCard, copy_card
from mynacard.host import aids
from mynacard.host.card import MyNumberCard
from mynacard.host.errors import PinBlocked, PinWrong
from mynacard.host.transport import Transport, open_transport
from mynacard.terminal.card_session import CardRefusal, check_card
from mynacard.terminal.centre_client import CentreError, HttpCentre
from mynacard.terminal.config import ALWAYS_OPEN, ConfigError, load_config
from mynacard.terminal.documents import Selection
from mynacard.terminal.payment import PaymentError, SimulatedAcceptor
from mynacard.terminal.printer import JobState, PrinterError, SimulatedPrinter
from mynacard.terminal.voice import PROMPTS, EspeakVoice

# --- voice ----------------------------------------------------------------------------------------


def test_espeak_renders_every_prompt_once_in_both_languages(tmp_path: Path) -> None:
    voice = EspeakVoice(tmp_path)
    for language in ("ja", "en"):
        path = voice.render("take_card", language)
        with wave.open(str(path)) as wav:
            assert wav.getnframes() / wav.getframerate() > 0.3  # real speech, not an empty file
        stamp = path.stat().st_mtime_ns
        assert voice.render("take_card", language).stat().st_mtime_ns == stamp  # cached
    assert set(PROMPTS) >= {"take_card", "take_document", "last_try", "go_to_window"}
    assert all(set(texts) == {"ja", "en"} for texts in PROMPTS.values())


# --- payment --------------------------------------------------------------------------------------


def test_the_acceptor_holds_cash_in_escrow_and_gives_change_or_refunds() -> None:
    acceptor = SimulatedAcceptor()
    totals: list[int] = []
    assert acceptor.insert(100) is False  # slot closed
    acceptor.accept(300, totals.append)
    assert acceptor.insert(7) is False  # not a coin
    assert acceptor.insert(500) and acceptor.insert(100)
    assert totals == [500, 600] and acceptor.escrow == 600 and acceptor.cash_box == 0
    with pytest.raises(PaymentError):
        acceptor.capture("t1", 700)
    assert acceptor.capture("t1", 300) == 300 and acceptor.cash_box == 300
    acceptor.insert(1000)
    assert acceptor.refund("jam") == 1000 and acceptor.escrow == 0
    assert [(e.kind, e.amount) for e in acceptor.ledger] == [("capture", 300), ("refund", 1000)]


# --- printer simulator ---------------------------------------------------------------------------


def test_the_simulated_printer_runs_out_of_paper_jams_and_hangs() -> None:
    printer = SimulatedPrinter(seconds_per_copy=0.0, paper=2)
    done = printer.submit("a" * 16, b"%PDF-a", 1)
    assert printer.status(done) == (JobState.DONE, None) and printer.paper == 1
    short = printer.submit("b" * 16, b"%PDF-b", 2)
    assert printer.status(short) == (JobState.FAILED, "media_empty")
    with pytest.raises(PrinterError) as empty:
        printer.submit("c" * 16, b"%PDF-c", 1)
    assert empty.value.reason == "media_empty"
    printer.paper, printer.jam_next, printer.hang_next = 10, 1, 1
    assert printer.status(printer.submit("d" * 16, b"%PDF-d", 1)) == (JobState.FAILED, "media_jam")
    hung = printer.submit("e" * 16, b"%PDF-e", 1)
    assert printer.status(hung) == (JobState.PENDING, None)
    assert printer.cancel(hung) is True and printer.status(hung)[0] is JobState.CANCELLED
    assert printer.cancel(done) is False  # already on paper
    assert [s.transaction_id for s in printer.tray] == ["a" * 16]


# --- centre client -------------------------------------------------------------------------------


def test_the_centre_refuses_an_unknown_kiosk(centre: CentreDouble) -> None:
    with pytest.raises(CentreError) as refused:
        HttpCentre(centre.url, "wrong-token").challenge("k")
    assert refused.value.code == "unknown_kiosk" and refused.value.refused


def test_an_unreachable_centre_is_a_failure_not_a_refusal() -> None:
    with pytest.raises(CentreError) as failed:
        HttpCentre("http://127.0.0.1:9", TOKEN, timeout=2).challenge("k")
    assert failed.value.code == "unreachable" and not failed.value.refused


@pytest.mark.parametrize("tamper, code", [("transaction_id", "wrong_transaction"),
                                          ("sha256", "bad_answer")])
def test_a_document_that_is_not_the_one_asked_for_is_discarded(
        centre: CentreDouble, centre_client: HttpCentre, monkeypatch: pytest.MonkeyPatch,
        tamper: str, code: str) -> None:
    original = centre._request_document

    def tampered(body: dict[str, object]) -> tuple[int, dict[str, object]]:
        status, answer = original(body)
        answer[tamper] = "someone-elses-transaction" if tamper == "transaction_id" else "00"
        return status, answer

    monkeypatch.setattr(centre, "_request_document", tampered)
    centre.ledger.sessions["s" * 24] = next(iter(centre.residents))
    with pytest.raises(CentreError) as refused:
        centre_client.request_document("k", "s" * 24, "t" * 32, Selection("juminhyo", "self", (), 1))
    assert refused.value.code == code


# --- the card check ------------------------------------------------------------------------------


def test_an_expired_auth_certificate_is_refused(tmp_path: Path,
                                                resident_cards: list[ResidentCard]) -> None:
    card = copy_card(resident_cards[12], tmp_path / "card")
    transport = open_transport(f"emulator:{card}")
    try:
        assert check_card(transport, datetime.now(UTC)).tries_left == 3
        with pytest.raises(CardRefusal) as refused:
            check_card(transport, datetime(2045, 1, 1, tzinfo=UTC))
        assert refused.value.reason == "certificate_expired"
    finally:
        transport.close()


@dataclass
class OtherCard:
    """A card that is not a My Number Card: it knows no JPKI AID (a Suica, a bank card)."""

    name: str = "other"
    atr: bytes = bytes.fromhex("3B8F8001")
    extended_length: bool = False

    def transmit(self, apdu: bytes) -> bytes:
        return bytes.fromhex("6A82")

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_card_that_is_not_a_my_number_card_is_refused() -> None:
    with pytest.raises(CardRefusal) as refused:
        check_card(OtherCard(), datetime.now(UTC))
    assert refused.value.reason == "not_my_number_card"


# --- configuration -------------------------------------------------------------------------------


def test_configuration_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text('kiosk_id = "store-42"\nreminder = 5\n[hours]\nopens = "07:00"\n'
                    'closes = "22:00"\nmaintenance_days = ["2026-12-10"]\n[timeouts]\npin_entry = 45\n')
    config = load_config(path)
    assert config.kiosk_id == "store-42" and config.reminder == 5
    assert config.timeouts["pin_entry"] == 45 and config.timeouts["payment"] == 120
    assert config.hours.opens.hour == 7 and len(config.hours.maintenance_days) == 1
    path.write_text('[hours]\nopens = "00:00"\ncloses = "24:00"\nyear_end_closure = false\n')
    assert load_config(path).hours == ALWAYS_OPEN


@pytest.mark.parametrize("text, words", [
    ("[hours]\nopens = 7\n", "hours.opens must be a time"),
    ("[hours]\nclosed_from = \"13-40\"\n", "hours.closed_from must be a month and day"),
    ("[timeouts]\npin_entry = -1\n", "positive numbers"),
    ("[timeouts]\nlunch = 5\n", "unknown timeout(s) lunch"),
    ("kiosk_id = \n", "not valid TOML"),
    ("[hours]\nmaintenance_days = [\"2026-02-30\"]\n", "2026-02-30 is not a real date (February has no 30th)"),
])
def test_a_bad_configuration_is_one_sentence_naming_the_key(tmp_path: Path, text: str,
                                                            words: str) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as bad:
        load_config(path)
    assert words in str(bad.value) and "\n" not in str(bad.value)


class WithoutCardInfoAp:
    """A JPKI token without the card-info AP, as a 住基カード is: the SELECT of the 券面事項入力補助AP
    (CI §5) answers 6A82; everything else is the emulated card's."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.name, self.atr, self.extended_length = inner.name, inner.atr, inner.extended_length

    def transmit(self, apdu: bytes) -> bytes:
        if apdu[:4] == bytes.fromhex("00A4040C") and apdu[5:5 + apdu[4]] == aids.TEXT:
            return bytes.fromhex("6A82")
        return self.inner.transmit(apdu)

    def reset(self) -> None:
        self.inner.reset()

    def close(self) -> None:
        self.inner.close()


def test_a_juki_card_is_refused(tmp_path: Path, resident_cards: list[ResidentCard]) -> None:
    transport = WithoutCardInfoAp(open_transport(f"emulator:{copy_card(resident_cards[14], tmp_path / 'c')}"))
    with pytest.raises(CardRefusal) as refused:
        check_card(transport, datetime.now(UTC))
    assert refused.value.reason == "juki_card"


def test_a_card_whose_pin_is_blocked_is_refused_before_the_pin_pad(
        tmp_path: Path, resident_cards: list[ResidentCard]) -> None:
    card = copy_card(resident_cards[15], tmp_path / "card")
    with MyNumberCard(open_transport(f"emulator:{card}"), on_last_try=lambda secret: True) as opened:
        for _ in range(3):
            with pytest.raises((PinWrong, PinBlocked)):
                opened.jpki.verify_auth_pin("0000")
    transport = open_transport(f"emulator:{card}")
    try:
        with pytest.raises(CardRefusal) as refused:
            check_card(transport, datetime.now(UTC))
        assert refused.value.reason == "pin_blocked"
    finally:
        transport.close()
