"""Secure messaging of the 券面事項入力補助AP, command by command (CI §11), against the synthetic image.

The host half here is written with `cryptography` directly from the words of CI §11 — not with
`codec.secure_messaging`, which the card uses — so that a slip in the shared format shows up here.
"""

from __future__ import annotations

import os

import pytest
from conftest import run
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from mynacard.applet_model.card import Card
from mynacard.applet_model.errors import PowerLost
from mynacard.applet_model.store import MemoryStore
from mynacard.applet_model.profiles import DEFAULT_PROFILE, apply_behaviours

JPKI = "00A4040C0AD392F000260100000001"
TEXT = "00A4040C0AD3921000310001010408"
VISUAL = "00A4040C0AD3921000310001010402"
COMMON = "00A4040C0AD3921000310001010100"
JUKI = "00A4040C0AD3921000310001010401"
#: SELECT the text AP, SELECT its PIN, VERIFY it in clear (1234).
OPEN_TEXT = (TEXT, "00A4020C020011", "002000800431323334")
OAEP = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)


def sw(card: Card, apdu: bytes | str) -> int:
    return run(card, apdu if isinstance(apdu, str) else apdu.hex())[1]


class Host:
    """The terminal's half of CI §11, written out by hand."""

    def __init__(self, card: Card, public_key) -> None:
        self.card = card
        self.seed = os.urandom(32)
        self.key = self.seed[:16]
        self.counter = 1
        self.delivery = public_key.encrypt(bytes.fromhex("A0228020") + self.seed, OAEP)

    def open(self) -> int:
        return sw(self.card, bytes.fromhex("80AE0000000100") + self.delivery)

    def iv(self, n: int) -> bytes:
        ecb = Cipher(algorithms.AES(self.key), modes.ECB()).encryptor()
        return ecb.update(n.to_bytes(16, "big")) + ecb.finalize()

    def cipher(self, plain: bytes, n: int, *, pad: bool = True) -> bytes:
        if pad:
            plain += b"\x80" + b"\x00" * (15 - len(plain) % 16)
        enc = Cipher(algorithms.AES(self.key), modes.CBC(self.iv(n))).encryptor()
        return enc.update(plain) + enc.finalize()

    def do86(self, plain: bytes, n: int | None = None, *, pad: bool = True) -> bytes:
        c = self.cipher(plain, self.counter if n is None else n, pad=pad)
        return bytes((0x86, len(c) + 1, 0x01)) + c

    def send(self, cla: int, ins: int, p1: int, p2: int, data: bytes, le: bytes = b"") -> tuple[bytes, int]:
        """One SM command; the host advances its counter whatever the answer (CI §11).
        `le` of two bytes makes the command extended."""
        lc = b"\x00" + len(data).to_bytes(2, "big") if len(le) == 2 else bytes((len(data),))
        response = self.card.execute(bytes((cla, ins, p1, p2)) + lc + data + le)
        self.counter += 1
        return response[:-2], int.from_bytes(response[-2:], "big")

    def select(self, fid: int, cla: int = 0x08) -> int:
        return self.send(cla, 0xA4, 0x02, 0x0C, self.do86(fid.to_bytes(2, "big")))[1]

    def verify(self, p2: int, value: bytes) -> int:
        return self.send(0x08, 0x20, 0x00, p2, self.do86(value))[1]

    def read(self, length: int = 0, offset: int = 0) -> tuple[bytes, int]:
        """SM READ BINARY with `96 03 00 <length>`; returns the decrypted plaintext."""
        n = self.counter
        data, status = self.send(0x08, 0xB0, offset >> 8, offset & 0xFF,
                                 bytes((0x96, 0x03, 0x00)) + length.to_bytes(2, "big"), b"\x00\x00")
        if status != 0x9000:
            return data, status
        assert data[0] == 0x86
        body = data[2:] if data[1] < 0x80 else data[2 + (data[1] & 0x0F):]
        assert body[0] == 0x01
        dec = Cipher(algorithms.AES(self.key), modes.CBC(self.iv(n))).decryptor()
        plain = (dec.update(body[1:]) + dec.finalize()).rstrip(b"\x00")
        assert plain.endswith(b"\x80")
        return plain[:-1], status


@pytest.fixture
def sm_key(synthetic_keys):
    return synthetic_keys["text/sm"].public_key()


@pytest.fixture
def session(card: Card, sm_key) -> Host:
    for apdu in OPEN_TEXT:
        assert sw(card, apdu) == 0x9000
    host = Host(card, sm_key)
    assert host.open() == 0x9000
    return host


def plain_read(card: Card, fid: int) -> bytes:
    run(card, f"00A4020C02{fid:04X}")
    data, status = run(card, "00B00000000000")
    assert status == 0x9000
    return data


def test_an_sm_session_reads_the_my_number_and_the_four_facts_encrypted(session, synthetic_image):
    """CI §11: SM SELECT (86) + SM READ (96 03 00 0000): the answer is 86 01 <cipher> under IV(N)."""
    text = synthetic_image.applications["text"]
    assert session.select(0x0001) == 0x9000
    assert session.counter == 2
    plain, status = session.read()
    assert status == 0x9000
    assert plain == text.files[1].ljust(17, b"\xff")         # the whole 17-byte EF (CI §7.1)
    assert session.select(0x0002) == 0x9000
    head, _ = session.read(8)                                   # 96 names the plaintext length
    assert head == text.files[2][:8]
    rest, _ = session.read(0, offset=8)
    assert head + rest == text.files[2].ljust(0x400, b"\xff")
    assert session.counter == 6


def test_response_data_never_travels_in_clear(session, synthetic_image):
    session.select(0x0002)
    raw = session.card.execute(bytes.fromhex("08B0000005960300000800"))
    assert raw[:3] == bytes.fromhex("861101") and raw[-2:] == b"\x90\x00"
    assert synthetic_image.applications["text"].files[2][:8] not in raw


def test_set_session_key_needs_the_pin_in_clear(card, sm_key):
    """CI §11 / MC: nothing verified → 6982; 照合番号A verified (it opens EF 0001) → still 6982."""
    run(card, TEXT)
    host = Host(card, sm_key)
    assert host.open() == 0x6982
    assert sw(card, "00A4020C020014") == 0x9000
    assert sw(card, "002000800C" + b"123456789018".hex()) == 0x9000
    assert host.open() == 0x6982


@pytest.mark.parametrize("delivery, expected", [
    ("A0228120" + "11" * 32, 0x6A80),                     # A0 {81 …}: a CCS key (MC: 6A80)
    ("A0248020" + "11" * 32 + "8100", 0x6A80),            # A0 {80, 81}
    ("A0208020" + "11" * 30, 0x6A80),                     # a short seed
])
def test_set_session_key_takes_one_encryption_key_only(card, sm_key, delivery, expected):
    for apdu in OPEN_TEXT:
        assert sw(card, apdu) == 0x9000
    data = sm_key.encrypt(bytes.fromhex(delivery), OAEP)
    assert sw(card, bytes.fromhex("80AE0000000100") + data) == expected


def test_set_session_key_rejects_what_does_not_decrypt(card, sm_key):
    for apdu in OPEN_TEXT:
        assert sw(card, apdu) == 0x9000
    assert sw(card, bytes.fromhex("80AE0000000100") + bytes(255) + b"\x01") == 0x6A80
    assert sw(card, "80AE0000020102") == 0x6700            # not an RSA-2048 block
    assert sw(card, bytes.fromhex("80AE0100000100") + bytes(256)) == 0x6A86


def test_cla_0c_is_refused_with_6987(session):
    """CI §11: confidentiality only; CLA 0C (header authenticated) → 6987. The counter advances."""
    assert session.select(0x0005, cla=0x0C) == 0x6987
    assert session.select(0x0005) == 0x9000


def test_a_replayed_counter_answers_6988_and_destroys_the_session(session):
    """CI §11: a command encrypted under an old counter does not unpad → 6988, then 69FC."""
    command = session.do86(b"\x00\x05")
    assert session.send(0x08, 0xA4, 0x02, 0x0C, command)[1] == 0x9000
    assert session.send(0x08, 0xA4, 0x02, 0x0C, command)[1] == 0x6988   # the same bytes again
    assert session.select(0x0005) == 0x69FC
    assert session.read()[1] == 0x69FC


def test_bad_padding_answers_6988(session):
    assert session.send(0x08, 0xA4, 0x02, 0x0C, session.do86(bytes(16), pad=False))[1] == 0x6988
    assert session.select(0x0005) == 0x69FC


@pytest.mark.parametrize("build", [
    lambda h: h.send(0x08, 0xB0, 0, 0, h.do86(b"\x00\x08"), b"\x00"),                 # 86 on READ
    lambda h: h.send(0x08, 0x20, 0, 0x91, bytes.fromhex("9603000004")),              # 96 on VERIFY
    lambda h: h.send(0x08, 0xA4, 2, 0x0C, h.do86(b"\x00\x05") + bytes.fromhex("8000")),  # two DOs
    lambda h: h.send(0x08, 0xA4, 2, 0x0C, b"\x86\x11\x02" + h.do86(b"\x00\x05")[3:]),  # indicator 02
    lambda h: h.send(0x08, 0xB0, 0, 0, bytes.fromhex("96020008"), b"\x00"),            # 96 02 …
])
def test_wrong_data_objects_answer_6988(session, build):
    assert build(session)[1] == 0x6988
    assert session.select(0x0005) == 0x69FC


def test_the_long_length_form_is_accepted(session):
    c = session.cipher(b"\x00\x05", session.counter)
    assert session.send(0x08, 0xA4, 0x02, 0x0C, bytes((0x86, 0x81, len(c) + 1, 0x01)) + c)[1] == 0x9000


def test_the_counter_advances_on_rejected_commands(session):
    """CI §11: VERIFY of the blocked key 0012 under SM → 6984, and the next command uses N+1."""
    assert session.verify(0x92, b"1234") == 0x6984
    assert session.select(0x0009) == 0x6A82               # refused by the AP, counted all the same
    assert session.select(0x0001) == 0x9000
    assert session.counter == 4


def test_plain_commands_in_a_session_leave_the_counter_alone(session):
    assert sw(session.card, "00A4020C020005") == 0x9000
    assert sw(session.card, "00B0000004") == 0x9000
    assert session.select(0x0001) == 0x9000              # still N = 1


def test_verify_under_sm_opens_what_it_opens_in_clear(card, sm_key):
    """照合番号A presented encrypted (MC's reason for a session) opens EF 0001 and nothing more."""
    for apdu in OPEN_TEXT:
        assert sw(card, apdu) == 0x9000
    host = Host(card, sm_key)
    assert host.open() == 0x9000
    assert host.verify(0x94, b"000000000000") == 0x63C9   # a wrong 照合番号A spends a try
    assert host.verify(0x94, b"123456789018") == 0x9000


def test_an_answer_longer_than_le_is_refused(session):
    session.select(0x0002)
    assert session.send(0x08, 0xB0, 0, 0, bytes.fromhex("9603000100"), b"\x10")[1] == 0x6700


@pytest.mark.parametrize("leave, expected", [
    (lambda card: card.reset(), 0x6882),                                    # back at the MF
    (lambda card: (card.power_down(), card.power_up()), 0x6882),
    (lambda card: [run(card, apdu) for apdu in (JPKI, *OPEN_TEXT)], 0x69FC),  # DF change and back
])
def test_the_session_is_ram_state(session, leave, expected):
    """Lost on reset, power off and DF change, like the security status (CI §4, §11)."""
    leave(session.card)
    assert session.select(0x0005) == expected
    for apdu in OPEN_TEXT:
        assert sw(session.card, apdu) == 0x9000
    assert session.select(0x0005) == 0x69FC


@pytest.mark.parametrize("reselect, expected", [("clears", 0x69FC), ("keeps", 0x9000)])
def test_a_reselect_of_the_ap_ends_the_session_as_it_ends_the_security_status(synthetic_image, sm_key,
                                                                             reselect, expected):
    """The session goes with the security status: a re-SELECT of the text AP ends both on a card
    that clears it there, and neither on one that keeps it (CI §12 `reselect`)."""
    card = Card.open(MemoryStore(synthetic_image),
                     profile=apply_behaviours(DEFAULT_PROFILE, {"reselect": reselect}))
    card.power_up()
    for apdu in OPEN_TEXT:
        assert sw(card, apdu) == 0x9000
    host = Host(card, sm_key)
    assert host.open() == 0x9000
    run(card, TEXT)
    assert host.select(0x0005) == expected


def test_the_session_is_lost_with_power(synthetic_image, sm_key):
    store = MemoryStore(synthetic_image)
    card = Card.open(store)
    for apdu in OPEN_TEXT:
        assert sw(card, apdu) == 0x9000
    host = Host(card, sm_key)
    assert host.open() == 0x9000
    store.inject_torn_write()
    with pytest.raises(PowerLost):
        host.verify(0x91, b"1234")                           # the try is written: the write tears
    assert host.select(0x0005) == 0x6882                     # the card came back at the MF
    for apdu in OPEN_TEXT:
        assert sw(card, apdu) == 0x9000
    assert host.select(0x0005) == 0x69FC


def test_a_new_session_restarts_the_counter(session, sm_key):
    assert session.select(0x0005) == 0x9000
    again = Host(session.card, sm_key)
    assert again.open() == 0x9000
    assert again.select(0x0001) == 0x9000                  # N = 1 under the new key


@pytest.mark.parametrize("select, set_key", [(JPKI, 0x6982), (JUKI, 0x6982), (COMMON, 0x66F1), (VISUAL, 0x66F1)])
def test_the_other_aps_have_no_secure_messaging(card, select, set_key):
    """CI §11: SET SESSION KEY 66F1 (共通, 券面事項確認) or 6982 (JPKI, 住基); SM SELECT 6882, READ/VERIFY 69FC."""
    assert sw(card, select) == 0x9000
    assert sw(card, bytes.fromhex("80AE0000000100") + bytes(256)) == set_key
    assert sw(card, "08A4020C1386110100112233445566778899AABBCCDDEEFF") == 0x6882
    assert sw(card, "08B0000005960300000000") == 0x69FC
    assert sw(card, "0820008013861101" + "00" * 16) == 0x69FC


def test_sm_in_the_text_ap_without_a_session(card):
    assert sw(card, TEXT) == 0x9000
    assert sw(card, "08A4020C1386110100112233445566778899AABBCCDDEEFF") == 0x69FC
