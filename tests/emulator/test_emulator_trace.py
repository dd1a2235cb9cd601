"""APDU traces never hold a secret: VERIFY / CHANGE REFERENCE DATA / CHANGE KEY data and the My
Number EF (text AP EF 0001, visual AP EF 0005) are redacted (issue 3; CI §2, §7.1, §8)."""

from __future__ import annotations

import pytest

from mynacard.emulator.redaction import SecretTracker, redact_command, redact_response

JPKI = "00A4040C0AD392F000260100000001"
TEXT = "00A4040C0AD3921000310001010408"
VISUAL = "00A4040C0AD3921000310001010402"
COMMON = "00A4040C0AD3921000310001010100"
MY_NUMBER_EF = bytes.fromhex("FF100C") + b"123456789018" + b"\xff\xff"


@pytest.mark.parametrize(
    ("apdu", "shown"),
    [
        ("002000800431323334", "0020008004 <4 bytes redacted>"),  # VERIFY (CI §13 B)
        ("00200098 06 414243313233", "0020009806 <6 bytes redacted>"),  # VERIFY, SFI form
        ("002401800435363738", "0024018004 <4 bytes redacted>"),  # CHANGE REFERENCE DATA
        ("803200800435363738", "8032008004 <4 bytes redacted>"),  # CHANGE KEY
        ("0C20008010 00112233445566778899AABBCCDDEEFF", "0C20008010 <16 bytes redacted>"),  # SM
        ("00200080000004 31323334", "00200080000004 <4 bytes redacted>"),  # extended Lc
        ("0020008004313233", "00200080 <4 bytes redacted>"),  # malformed: still no PIN shown
        ("00200080", "00200080"),  # the query carries nothing secret
        ("00A4020C020018", "00A4020C020018"),
    ],
)
def test_pin_bearing_commands_lose_their_data(apdu, shown):
    assert redact_command(bytes.fromhex(apdu.replace(" ", ""))) == shown


def _read(tracker: SecretTracker, apdu: str, response: bytes) -> bool:
    return tracker.response_is_secret(bytes.fromhex(apdu), response)


def test_text_ap_ef_0001_is_redacted_after_select_by_fid():
    tracker = SecretTracker()
    ok = b"\x90\x00"
    assert not _read(tracker, TEXT, ok)
    assert not _read(tracker, "00A4020C020001", ok)
    assert _read(tracker, "00B0000011", MY_NUMBER_EF + ok)
    assert _read(tracker, "00B0000302", b"\x33\x34" + ok)  # any part of it, at any offset
    assert not _read(tracker, "00A4020C020002", ok)
    assert not _read(tracker, "00B0000007", bytes.fromhex("FF2065DF210800") + ok)


def test_sfi_reads_and_the_visual_my_number_image_are_redacted():
    tracker = SecretTracker()
    ok = b"\x90\x00"
    _read(tracker, TEXT, ok)
    assert _read(tracker, "00B08100000000", MY_NUMBER_EF + ok)  # CI §13 C, JSA variant
    _read(tracker, VISUAL, ok)
    assert not _read(tracker, "00B08200000000", b"\xff\x20" + ok)  # card face: not the My Number
    assert _read(tracker, "00B08500000000", b"\xff\x40\x82\x01\x00\x89PNG" + ok)
    _read(tracker, "00A4020C020005", ok)
    assert _read(tracker, "00B0010000", b"\x00" * 256 + ok)


def test_ef_0001_of_other_aps_is_not_redacted_and_a_failed_select_changes_nothing():
    tracker = SecretTracker()
    ok = b"\x90\x00"
    _read(tracker, JPKI, ok)
    _read(tracker, "00A4020C020001", ok)
    assert not _read(tracker, "00B0000004", bytes.fromhex("30820500") + ok)  # signing cert header
    _read(tracker, TEXT, ok)
    _read(tracker, "00A4020C020001", ok)
    _read(tracker, "00A4040C07A0000000031010", b"\x6a\x82")  # unknown AID: still in the text AP
    assert _read(tracker, "00B0000002", b"\xff\x10" + ok)


def test_a_failed_sfi_read_may_have_selected_its_ef_so_both_stay_suspect():
    tracker = SecretTracker()
    ok = b"\x90\x00"
    _read(tracker, TEXT, ok)
    _read(tracker, "00A4020C020001", ok)
    _read(tracker, "00B0820000", b"\x69\x82")
    assert _read(tracker, "00B0000003", b"\x31\x32\x33" + ok)


def test_partial_aid_selection_is_treated_as_every_ap_it_could_name():
    """CI §2: JICSAP allows selection by AID prefix."""
    tracker = SecretTracker()
    ok = b"\x90\x00"
    _read(tracker, "00A4040C07D3921000310001", ok)
    _read(tracker, "00A4020C020005", ok)
    assert _read(tracker, "00B0000010", bytes(16) + ok)


def test_power_cycle_forgets_the_selection_but_the_content_check_remains():
    tracker = SecretTracker()
    ok = b"\x90\x00"
    _read(tracker, TEXT, ok)
    _read(tracker, "00A4020C020001", ok)
    tracker.power_cycle()
    assert not _read(tracker, "00B0000002", b"\xff\x10" + ok)
    assert _read(tracker, "00B0000011", MY_NUMBER_EF + ok)  # looks like the My Number EF anyway


def test_redacted_response_keeps_length_and_status_word():
    assert redact_response(MY_NUMBER_EF + b"\x90\x00", True) == "<17 bytes redacted> 9000"
    assert redact_response(b"\x30\x82\x90\x00", False) == "3082 9000"
    assert redact_response(b"\x6a\x82", True) == "6A82"


def test_no_secret_reaches_the_trace_of_a_full_session(inprocess_transport, apdu_trace_path, card_dir):
    """Every secret of the demo card goes through the card (and works), none reaches the trace."""
    from mynacard.ca.era import era_yymmdd
    from mynacard.register_stub.person import (
        DEMO_CARD_EXPIRY,
        DEMO_PERSON,
        DEMO_PINS,
        DEMO_SECURITY_CODE,
        verification_code_b,
    )

    my_number = DEMO_PERSON.my_number.encode()
    code_b = verification_code_b(DEMO_PERSON.birth_date, DEMO_CARD_EXPIRY, DEMO_SECURITY_CODE).encode()
    birth_key = era_yymmdd(DEMO_PERSON.birth_date).encode()
    secrets = {
        "auth PIN": DEMO_PINS.auth_pin.encode(),
        "signing password": DEMO_PINS.sign_password.encode(),
        "new PIN": b"8642",
        "new common PIN": b"9753",
        "My Number": my_number,
        "照合番号B": code_b,
        "birth key": birth_key,
    }

    def send(apdu: str, data: bytes = b"", expect: str = "9000") -> bytes:
        raw = bytes.fromhex(apdu) + (bytes([len(data)]) + data if data else b"")
        response = inprocess_transport.transmit(raw)
        assert response[-2:].hex().upper() == expect, apdu
        return response[:-2]

    send(JPKI)
    send("00A4020C020018")
    send("00200080", DEMO_PINS.auth_pin.encode())
    send("00240180", b"8642")
    send("00200080", b"8642")
    send("00A4020C02001B")
    send("00200080", DEMO_PINS.sign_password.encode())
    send(TEXT)
    send("00A4020C020014")
    send("00200080", my_number)  # 照合番号A is the My Number itself
    send("00A4020C020001")
    assert my_number in send("00B0000011")
    assert my_number in send("00B0810000")  # SFI form, short Le 256
    send("00A4020C020015")
    send("00200080", code_b)
    send(VISUAL)
    send("00A4020C020011")
    send("00200080", birth_key)
    send("00A4020C020013")
    send("00200080", my_number)
    image = send("00B08500000000")
    assert b"PNG" in image
    send("00A4020C020005")
    send("00B0000000")
    send(COMMON)
    send("00A4020C02001C")
    send("00200080", DEMO_PINS.juki_pin.encode())
    send("80320080", b"9753")

    trace = apdu_trace_path.read_text()
    assert trace.count(" -> ") == 27
    for name, secret in secrets.items():
        assert secret.hex().upper() not in trace, name
        assert secret.decode() not in trace, name
    middle = image[len(image) // 2 : len(image) // 2 + 16]
    assert middle.hex().upper() not in trace, "the My Number image"
    assert "<17 bytes redacted> 9000" in trace


def test_secure_messaging_the_session_key_is_never_printed_and_cryptograms_are_shown():
    """CI §11: the 80 AE data (the session key under RSA-OAEP) is redacted; an SM READ's answer is
    a cryptogram and stays; after an SM SELECT (encrypted FID) a plain READ is treated as secret."""
    assert redact_command(bytes.fromhex("80AE0000000100") + bytes(256)) == "80AE0000000100 <256 bytes redacted>"
    tracker = SecretTracker()
    ok = b"\x90\x00"
    _read(tracker, TEXT, ok)
    _read(tracker, "00A4020C020005", ok)
    assert not _read(tracker, "08A4020C13861101" + "AB" * 16, ok)
    cryptogram = bytes.fromhex("861101") + bytes(range(16))
    assert not _read(tracker, "08B00000000005960300000000", cryptogram + ok)
    assert _read(tracker, "00B0000002", b"\x41\x42" + ok)  # plain READ of an EF the trace cannot name
