"""What the end-to-end tests share: a pyscard client, the demo card's secrets, a BER-TLV reader.

Everything here is a client's view: APDUs through pcscd, and the demo values the README
documents. Nothing reaches into the emulator except through the plugin's fixtures.
"""

from __future__ import annotations

from dataclasses import dataclass

from smartcard.CardConnection import CardConnection
from smartcard.System import readers

JPKI = "00A4040C0AD392F000260100000001"
TEXT = "00A4040C0AD3921000310001010408"
VISUAL = "00A4040C0AD3921000310001010402"
COMMON = "00A4040C0AD3921000310001010100"
SHA256_DIGEST_INFO = bytes.fromhex("3031300D060960864801650304020105000420")


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
        size = der_size(head)
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


def der_size(head: bytes) -> int:
    """Total size of the TLV starting at head (tag of one or two bytes, BER length)."""
    i = 2 if head[0] & 0x1F == 0x1F else 1
    first = head[i]
    if first < 0x80:
        return i + 1 + first
    n = first & 0x7F
    return i + 1 + n + int.from_bytes(head[i + 1 : i + 1 + n], "big")


def tlv_children(value: bytes) -> dict[int, bytes]:
    """The children of a constructed BER-TLV value (two-byte tags like DF21 included)."""
    out: dict[int, bytes] = {}
    i = 0
    while i < len(value) and value[i] not in (0x00, 0xFF):
        tag = value[i]
        i += 1
        if tag & 0x1F == 0x1F:
            tag = (tag << 8) | value[i]
            i += 1
        length = value[i]
        i += 1
        if length & 0x80:
            n = length & 0x7F
            length = int.from_bytes(value[i : i + n], "big")
            i += n
        out[tag] = value[i : i + length]
        i += length
    return out


def outer_value(tlv: bytes) -> bytes:
    """The value of the outer TLV (`FF 20 …`, `FF 10 …`)."""
    size = der_size(tlv)
    header = size - _length_of_value(tlv)
    return tlv[header:size]


def _length_of_value(tlv: bytes) -> int:
    i = 2 if tlv[0] & 0x1F == 0x1F else 1
    first = tlv[i]
    if first < 0x80:
        return first
    n = first & 0x7F
    return int.from_bytes(tlv[i + 1 : i + 1 + n], "big")
