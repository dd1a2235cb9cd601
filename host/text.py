"""券面事項入力補助AP (the card-info input support AP, CI §7): My Number, the four facts, the
integrity record, the CV certificate, basic info.

Which secret opens what (CI §7.1): the card-info PIN opens everything; 照合番号A (the My Number)
opens the My Number but not the four facts; 照合番号B opens the four facts but not the My Number;
either opens the integrity record. The parsed objects keep the exact bytes a verifier hashes
(`MyNumberRecord.physical`, `FourFacts.signed_part`, `IntegrityRecord.signed_part`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from mynacard.host import aids, tlv
from mynacard.host.apdu import SHORT_LE_MAX, Command
from mynacard.host.channel import CardChannel
from mynacard.host.errors import CardDataError, error_for_sw
from mynacard.host.jpki import digest_info
from mynacard.host.pins import TEXT_CODE_A, TEXT_CODE_B, TEXT_PIN, PinGuard, my_number_is_valid
from mynacard.host.records import (
    CvCertificate,
    RsaPublicKey,
    ascii_field,
    offset_table_elements,
    require,
    tlv_map,
    utf8_field,
)

#: EF 0001 is 17 bytes physically: `FF 10 0C` + 12 digits + `FF FF`; the integrity record
#: hashes all 17 (CI §7.1).
MY_NUMBER_EF_SIZE = 17

SEX_LABELS = {"1": "male", "2": "female", "9": "not applicable", "0": "unknown"}

_OPENS_MY_NUMBER = f"the {TEXT_PIN.label} or 照合番号A"
_OPENS_FOUR_FACTS = f"the {TEXT_PIN.label} or 照合番号B"
_OPENS_EITHER = f"the {TEXT_PIN.label}, 照合番号A or 照合番号B"


@dataclass(frozen=True)
class MyNumberRecord:
    number: str
    #: The 17 bytes of EF 0001 as stored, which `IntegrityRecord.my_number_digest` covers.
    physical: bytes

    @property
    def check_digit_valid(self) -> bool:
        return my_number_is_valid(self.number)


@dataclass(frozen=True)
class FourFacts:
    """基本4情報 (CI §7.2)."""

    name: str
    address: str
    #: "YYYYMMDD", Gregorian.
    birth_date: str
    #: "1" male, "2" female, "9" not applicable, "0" unknown.
    sex: str
    #: The whole `FF 20` object as read (filler excluded).
    raw: bytes
    #: `DF22…` to the end of the outer value: what `IntegrityRecord.four_facts_digest` covers.
    signed_part: bytes

    @property
    def sex_label(self) -> str:
        return SEX_LABELS.get(self.sex, f"code {self.sex}")

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "address": self.address, "birth_date": self.birth_date,
                "sex": self.sex}


@dataclass(frozen=True)
class IntegrityRecord:
    """EF 0003 `FF 30` { DF31 SHA-256 of EF 0001, DF32 SHA-256 of the four facts, DF33 RSA
    signature over the DF31+DF32 TLVs } (CI §7.1)."""

    my_number_digest: bytes
    four_facts_digest: bytes
    signature: bytes
    raw: bytes
    #: The DF31 and DF32 TLVs as sent: the signed message.
    signed_part: bytes


@dataclass(frozen=True)
class BasicInfo:
    """An AP's basic-info EF (`FF 40` here, `FF 30` on the card-face AP): elements by tag."""

    raw: bytes
    elements: dict[int, bytes]


@dataclass(frozen=True)
class ApKeyRecord:
    """EF 0007 `FF 50` { DF51 this AP's signing public key, DF52 issuer signature over DF51 }."""

    public_key: RsaPublicKey
    signature: bytes
    raw: bytes
    #: The DF51 TLV as sent: the signed message.
    signed_part: bytes


class TextAp:
    """The card-info input support AP of one card; reached as `MyNumberCard.text`."""

    AID = aids.TEXT

    def __init__(self, channel: CardChannel, pins: PinGuard) -> None:
        self.channel = channel
        self.pins = pins

    # --- secrets ----------------------------------------------------------------------------------

    def verify_pin(self, pin: str) -> None:
        self.pins.verify(TEXT_PIN, pin)

    def verify_code_a(self, my_number: str) -> None:
        self.pins.verify(TEXT_CODE_A, my_number)

    def verify_code_b(self, code_b: str) -> None:
        self.pins.verify(TEXT_CODE_B, code_b)

    def change_pin(self, old: str, new: str) -> None:
        self.pins.change(TEXT_PIN, old, new)

    # --- protected data ---------------------------------------------------------------------------

    def my_number_record(self) -> MyNumberRecord:
        where = "the My Number (card-info AP EF 0001)"
        physical = self.channel.read_fixed(self.AID, 0x0001, MY_NUMBER_EF_SIZE, f"reading {where}",
                                           _OPENS_MY_NUMBER)
        try:
            element = tlv.parse(physical)
        except tlv.TlvError as exc:
            raise CardDataError(f"{where} is not a TLV ({exc})") from exc
        number = ascii_field(element, where)
        if element.tag != 0xFF10 or len(number) != 12 or not number.isdigit():
            raise CardDataError(f"{where} does not hold FF 10 0C and 12 digits")
        return MyNumberRecord(number, physical)

    def my_number(self) -> str:
        return self.my_number_record().number

    def four_facts(self) -> FourFacts:
        """Located through the DF21 offset table (offsets from the start of the EF, CI §7.2)."""
        where = "the four facts (card-info AP EF 0002)"
        raw = self.channel.read_object(self.AID, 0x0002, f"reading {where}", _OPENS_FOUR_FACTS)
        outer, children = tlv_map(raw, 0xFF20, where)
        located = offset_table_elements(raw, children, 0xDF22, where)
        if len(located) != 4:
            raise CardDataError(f"{where}: the DF21 table points at {len(located)} elements, "
                                f"not 4")
        fields = [located[tag] for tag in (0xDF22, 0xDF23, 0xDF24, 0xDF25)]
        name, address = utf8_field(fields[0], where), utf8_field(fields[1], where)
        birth, sex = ascii_field(fields[2], where), ascii_field(fields[3], where)
        table_tlv = children[0xDF21]
        if not outer.value.startswith(table_tlv.encoded):
            raise CardDataError(f"{where}: the DF21 offset table is not the first element")
        signed_part = outer.value[len(table_tlv.encoded):]
        return FourFacts(name, address, birth, sex, raw, signed_part)

    def integrity_record(self) -> IntegrityRecord:
        where = "the integrity record (card-info AP EF 0003)"
        raw = self.channel.read_object(self.AID, 0x0003, f"reading {where}", _OPENS_EITHER)
        _outer, children = tlv_map(raw, 0xFF30, where)
        df31 = require(children, 0xDF31, where)
        df32 = require(children, 0xDF32, where)
        df33 = require(children, 0xDF33, where)
        return IntegrityRecord(df31.value, df32.value, df33.value, raw,
                               df31.encoded + df32.encoded)

    def sm_public_key(self) -> RsaPublicKey:
        """EF 0006 `A1` {90, 91}: the key secure messaging's session key is sent under (CI §11)."""
        where = "the secure-messaging key (card-info AP EF 0006)"
        raw = self.channel.read_object(self.AID, 0x0006, f"reading {where}", _OPENS_EITHER)
        outer, _children = tlv_map(raw, 0xA1, where)
        return RsaPublicKey.parse(outer.value, where)

    def ap_key_record(self) -> ApKeyRecord:
        where = "the AP key record (card-info AP EF 0007)"
        raw = self.channel.read_object(self.AID, 0x0007, f"reading {where}", _OPENS_EITHER)
        _outer, children = tlv_map(raw, 0xFF50, where)
        df51 = require(children, 0xDF51, where)
        df52 = require(children, 0xDF52, where)
        return ApKeyRecord(RsaPublicKey.parse(df51.value, where), df52.value, raw, df51.encoded)

    # --- free data --------------------------------------------------------------------------------

    def cv_certificate(self) -> CvCertificate:
        where = "the card-info AP's CV certificate (EF 0004)"
        raw = self.channel.read_object(self.AID, 0x0004, f"reading {where}")
        return CvCertificate.parse(raw, where)

    def basic_info(self) -> BasicInfo:
        where = "the card-info AP basic info (EF 0005)"
        raw = self.channel.read_object(self.AID, 0x0005, f"reading {where}")
        _outer, children = tlv_map(raw, 0xFF40, where)
        return BasicInfo(raw, {tag: element.value for tag, element in children.items()})

    def ap_signature(self, challenge: bytes) -> bytes:
        """`80 2A 00 00` over SHA-256(challenge): signed by this AP's key (DF51) with no
        credential, so a verifier can check the card is present (CI §7.1)."""
        doing = "asking the card-info AP to sign a challenge"
        self.channel.ensure_ap(self.AID, doing)
        data = digest_info("sha256", hashlib.sha256(challenge).digest())
        response = self.channel.send(Command(0x80, 0x2A, 0x00, 0x00, data, le=SHORT_LE_MAX))
        if not response.ok:
            raise error_for_sw(response.sw, doing)
        return response.data
