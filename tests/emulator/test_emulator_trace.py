"""The emulator's APDU traces never hold a secret: a full session that spends every secret of the
demo card leaves none in the trace (issue 3; CI §2, §7.1, §8). The policy itself is tested in
tests/codec/test_codec_redaction.py and fuzzed through both tracers in
tests/codec/test_codec_trace_fuzz.py."""

from __future__ import annotations

JPKI = "00A4040C0AD392F000260100000001"
TEXT = "00A4040C0AD3921000310001010408"
VISUAL = "00A4040C0AD3921000310001010402"
COMMON = "00A4040C0AD3921000310001010100"


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

