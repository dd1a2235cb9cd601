"""What the end-to-end tests share: a pyscard client, the demo card's secrets, a BER-TLV reader.

Everything here is a client's view: APDUs through pcscd, and the demo values the README
documents. Nothing reaches into the emulator except through the plugin's fixtures.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

from smartcard.CardConnection import CardConnection
from smartcard.System import readers
from mynacard.codec.digest_info import PREFIXES
from mynacard.codec import tlv

JPKI = "00A4040C0AD392F000260100000001"
TEXT = "00A4040C0AD3921000310001010408"
VISUAL = "00A4040C0AD3921000310001010402"
COMMON = "00A4040C0AD3921000310001010100"
SHA256_DIGEST_INFO = PREFIXES["sha256"]
MYNACARD = [sys.executable, "-m", "mynacard"]


@dataclass(frozen=True)
class Demo:
    """The demo card's secrets and facts (README; register_stub.person)."""

    auth_pin: str
    sign_password: str
    text_pin: str
    juki_pin: str
    my_number: str
    code_b: str
    birth_key: str
    name: str
    address: str
    birth_date: str
    sex: str


def demo() -> Demo:
    from mynacard.ca.era import era_yymmdd
    from mynacard.register_stub.person import (
        DEMO_CARD_EXPIRY,
        DEMO_PERSON,
        DEMO_PINS,
        DEMO_SECURITY_CODE,
        verification_code_b,
    )

    p = DEMO_PERSON
    return Demo(
        auth_pin=DEMO_PINS.auth_pin,
        sign_password=DEMO_PINS.sign_password,
        text_pin=DEMO_PINS.text_pin,
        juki_pin=DEMO_PINS.juki_pin,
        my_number=p.my_number,
        code_b=verification_code_b(p.birth_date, DEMO_CARD_EXPIRY, DEMO_SECURITY_CODE),
        birth_key=era_yymmdd(p.birth_date),
        name=p.name,
        address=p.card_address,
        birth_date=p.birth_date.strftime("%Y%m%d"),
        sex=str(p.sex),
    )


class Client:
    """A pyscard connection to one reader, with hex-in / (data, SW)-out helpers."""

    def __init__(self, reader_name: str) -> None:
        (reader,) = [r for r in readers() if str(r) == reader_name]
        self.connection: CardConnection = reader.createConnection()
        self.connection.connect()

    def send(self, apdu: str | bytes, data: bytes = b"") -> tuple[bytes, int]:
        raw = bytes.fromhex(apdu.replace(" ", "")) if isinstance(apdu, str) else apdu
        if data:
            raw += bytes([len(data)]) + data
        response, sw1, sw2 = self.connection.transmit(list(raw))
        return bytes(response), (sw1 << 8) | sw2

    def ok(self, apdu: str | bytes, data: bytes = b"") -> bytes:
        response, sw = self.send(apdu, data)
        assert sw == 0x9000, f"{apdu if isinstance(apdu, str) else apdu.hex()}: {sw:04X}"
        return response

    def select_ef(self, fid: int) -> None:
        self.ok(f"00A4020C02{fid:04X}")

    def read_sized(self, header_len: int = 4) -> bytes:
        """Read the current EF the way OpenSC/MYNA do: header first, then 256-byte chunks (CI §13 A)."""
        head = self.ok(f"00B00000{header_len:02X}")
        size = tlv.total_size(head)
        out = head
        while len(out) < size:
            chunk = min(256, size - len(out))
            out += self.ok(f"00B0{len(out):04X}{chunk & 0xFF:02X}")
        return out

    def close(self) -> None:
        try:
            self.connection.disconnect()
        finally:
            self.connection.release()


def tlv_children(value: bytes) -> dict[int, bytes]:
    """The children of a constructed BER-TLV value (codec), by tag."""
    return {element.tag: element.value for element in tlv.iter_tlvs(value)}


def outer_value(data: bytes) -> bytes:
    """The value of the outer TLV (`FF 20 …`, `FF 10 …`); filler after it ignored."""
    return tlv.parse(data).value


def start_emulate(*args: str) -> tuple[subprocess.Popen[str], list[str]]:
    """`mynacard emulate ARGS` running, and what it printed up to "Ctrl-C …" (start-up done)."""
    process = subprocess.Popen([*MYNACARD, "emulate", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if line.startswith("Ctrl-C"):
            break
    return process, lines
