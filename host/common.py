"""共通AP and 住基AP (CI §9): card serial, municipality code and expiry from a record EF, and
the two 4-digit `001C` PINs, changed with CHANGE KEY `80 32`.

The two PINs are separate key references, but card UIs present them as one "個人番号カード用"
PIN, so a holder who changes one usually wants to change both.
"""

from __future__ import annotations

from dataclasses import dataclass

from mynacard.codec import tlv
from mynacard.host import aids
from mynacard.host.channel import CardChannel
from mynacard.host.errors import CardDataError
from mynacard.host.pins import COMMON_PIN, JUKI_PIN, PinGuard


@dataclass(frozen=True)
class CardIdentity:
    """Record 1 of 共通AP EF 0001: `01 1C` + 28 ASCII digits (CI §9)."""

    #: 15 digits.
    serial: str
    #: 5 digits, 全国地方公共団体コード.
    municipality_code: str
    #: "YYYYMMDD".
    expiry: str
    raw: bytes

    def as_dict(self) -> dict[str, str]:
        return {"serial": self.serial, "municipality_code": self.municipality_code,
                "expiry": self.expiry}


class CommonAp:
    """The common AP of one card; reached as `MyNumberCard.common`."""

    AID = aids.COMMON

    def __init__(self, channel: CardChannel, pins: PinGuard) -> None:
        self.channel = channel
        self.pins = pins

    def card_identity(self) -> CardIdentity:
        where = "the card identity record (共通AP EF 0001)"
        raw = self.channel.read_record(self.AID, 0x0001, 1, f"reading {where}")
        try:
            element = tlv.parse(raw)
        except tlv.TlvError as exc:
            raise CardDataError(f"{where} is not a simple TLV ({exc})") from exc
        digits = element.value.decode("ascii", "replace")
        if element.tag != 0x01 or len(digits) != 28 or not digits.isdigit():
            raise CardDataError(f"{where} does not hold 01 1C and 28 digits")
        return CardIdentity(digits[:15], digits[15:20], digits[20:], raw)

    def key_reference(self) -> bytes:
        """Record of EF 0002: a 16-byte key reference (content not understood, CI §9)."""
        return self.channel.read_record(self.AID, 0x0002, 1,
                                        "reading the key reference (共通AP EF 0002)")

    def pin_tries(self) -> int | None:
        return self.pins.tries_left(COMMON_PIN)

    def verify_pin(self, pin: str) -> None:
        self.pins.verify(COMMON_PIN, pin)

    def change_pin(self, old: str, new: str) -> None:
        self.pins.change(COMMON_PIN, old, new)


class JukiAp:
    """The resident-registry AP of one card; reached as `MyNumberCard.juki`."""

    AID = aids.JUKI

    def __init__(self, channel: CardChannel, pins: PinGuard) -> None:
        self.channel = channel
        self.pins = pins

    def key_reference(self) -> bytes:
        return self.channel.read_record(self.AID, 0x0002, 1,
                                        "reading the key reference (住基AP EF 0002)")

    def pin_tries(self) -> int | None:
        return self.pins.tries_left(JUKI_PIN)

    def verify_pin(self, pin: str) -> None:
        self.pins.verify(JUKI_PIN, pin)

    def change_pin(self, old: str, new: str) -> None:
        self.pins.change(JUKI_PIN, old, new)
