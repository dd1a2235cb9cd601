"""Secure messaging of the 券面事項入力補助AP through pcscd and vpcd (CI §11; issue 12 part 1).

`mynacard card read --secure-messaging` as a user runs it against the emulated card, with the
emulator's own APDU trace (what the card saw) as the witness that the My Number and the four facts
crossed the reader only as cryptograms; and a pyscard client sending wrong SM to get §11's status
words.
"""

from __future__ import annotations

import json
import os

import pytest

from e2e_harness import COMMON, JPKI, TEXT, VISUAL, Client, demo, outer_value, tlv_children
from mynacard.codec import secure_messaging as sm
from mynacard.main import main

DEMO = demo()


@pytest.fixture
def client(reader_name):
    c = Client(reader_name)
    yield c
    c.close()


def card_read(capsys, reader: str, *extra: str) -> dict[str, object]:
    code = main(["card", "read", "--reader", reader, *extra])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def trace_lines(reader_card) -> list[str]:
    return [line for line in reader_card.trace_path.read_text(encoding="utf-8").splitlines() if " -> " in line]


def personal_hex() -> dict[str, str]:
    """What must not appear in a trace, as the trace writes bytes (upper-case hex)."""
    return {"my number": DEMO.my_number.encode().hex().upper(), "name": DEMO.name.encode().hex().upper(),
            "address": DEMO.address.encode().hex().upper(), "birth date": DEMO.birth_date.encode().hex().upper()}


def test_sm_read_through_pcscd_shows_only_ciphertext(capsys, monkeypatch, reader_card) -> None:
    """The emulator's trace (what the card received and answered) of a plain read and of an SM read.

    The plain read's answers from EF 0001/0002 had to be redacted: they crossed in clear. In the SM
    read nothing personal is redacted because nothing personal crossed: every line is shown as
    sent except the PIN (VERIFY, in clear by CI §11), the public key of EF 0006 and the session-key
    delivery, and the shown bytes hold neither the My Number nor any of the four facts.
    """
    monkeypatch.setenv("MYNACARD_TEXT_PIN", DEMO.text_pin)
    plain = card_read(capsys, reader_card.reader)
    plain_lines = trace_lines(reader_card)
    plain_reads = [line for line in plain_lines if "] 00B0" in line]
    assert [line.split(" -> ")[1].split(" 9000")[0] for line in plain_reads] == [
        "<17 bytes redacted>", "<1024 bytes redacted>"]

    secure = card_read(capsys, reader_card.reader, "--secure-messaging")
    assert secure == plain
    assert secure["my_number"] == DEMO.my_number and secure["name"] == DEMO.name
    lines = [line.split("] ", 1)[1] for line in trace_lines(reader_card)[len(plain_lines):]]
    text = "\n".join(lines)
    for what, value in personal_hex().items():
        assert value not in text, f"the {what} crossed the reader in clear"
    redacted = [line for line in lines if "redacted" in line]
    assert [line.split(" ")[0][:8] for line in redacted] == ["00200080", "00B00000", "80AE0000"]
    assert redacted[1].startswith("00B00000") and "<272 bytes redacted>" in redacted[1]  # EF 0006
    sm_reads = [line for line in lines if line.startswith("08B0")]
    assert len(sm_reads) == 2 and all(line.split(" -> ")[1].startswith("86") for line in sm_reads)


def open_session(client: Client) -> bytes:
    """VERIFY the PIN in clear, read EF 0006, SET SESSION KEY (extended Lc); the session key."""
    client.ok(TEXT)
    client.select_ef(0x0011)
    client.ok("00200080", DEMO.text_pin.encode())
    client.select_ef(0x0006)
    children = tlv_children(outer_value(client.read_sized()))
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers

    key = RSAPublicNumbers(int.from_bytes(children[0x90], "big"), int.from_bytes(children[0x91], "big")).public_key()
    seed = os.urandom(32)
    delivery = key.encrypt(sm.key_delivery(seed), sm.OAEP)
    client.ok(bytes.fromhex("80AE0000000100") + delivery)
    return seed[:16]


def sm_select(key: bytes, counter: int, fid: int, cla: int = 0x08) -> bytes:
    obj = sm.cryptogram_object(sm.encrypt(key, counter, fid.to_bytes(2, "big")))
    return bytes((cla, 0xA4, 0x02, 0x0C, len(obj))) + obj


def test_wrong_sm_gives_the_status_words_of_ci_11(client) -> None:
    key = open_session(client)
    assert client.send(sm_select(key, 1, 0x0005, cla=0x0C))[1] == 0x6987          # MAC asked for
    # Bad padding: one block of zeros encrypted as it is, without 80 00….
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    enc = Cipher(algorithms.AES(key), modes.CBC(sm.iv(key, 2))).encryptor()
    bad = sm.cryptogram_object(enc.update(bytes(16)) + enc.finalize())
    assert client.send(bytes((0x08, 0xA4, 0x02, 0x0C, len(bad))) + bad)[1] == 0x6988
    assert client.send(sm_select(key, 3, 0x0005))[1] == 0x69FC                     # the session is gone

    key = open_session(client)                                                     # replayed counter
    command = sm_select(key, 1, 0x0005)
    assert client.send(command)[1] == 0x9000
    assert client.send(command)[1] == 0x6988
    assert client.send(sm_select(key, 3, 0x0005))[1] == 0x69FC


@pytest.mark.parametrize("ap, set_key", [(JPKI, 0x6982), (VISUAL, 0x66F1), (COMMON, 0x66F1)])
def test_sm_on_another_ap(client, ap, set_key) -> None:
    """CI §11: SET SESSION KEY 6982/66F1; SM CLA on SELECT 6882, on READ and VERIFY 69FC."""
    client.ok(ap)
    assert client.send(bytes.fromhex("80AE0000000100") + bytes(256))[1] == set_key
    assert client.send(sm_select(bytes(16), 1, 0x0001))[1] == 0x6882
    assert client.send("08B0000005960300000000")[1] == 0x69FC
    assert client.send("0820008013861101" + "00" * 16)[1] == 0x69FC
