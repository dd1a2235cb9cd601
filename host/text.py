"""券面事項入力補助AP (the card-info input support AP, CI §7): My Number, the four facts, the
integrity record, the CV certificate, basic info.

Which secret opens what (CI §7.1): the card-info PIN opens everything; 照合番号A (the My Number)
opens the My Number but not the four facts; 照合番号B opens the four facts but not the My Number;
either opens the integrity record. The records are parsed by records.py and keep the exact bytes
a verifier hashes (`MyNumberRecord.physical`, `FourFacts.signed_part`,
`IntegrityRecord.signed_part`), for cvc.py to check.

`start_secure_messaging()` (CI §11) makes every later read of this AP travel encrypted, so the My
Number and the four facts never cross the reader in clear; see secure_messaging.py for what the
host can and cannot check about the card's session key.
"""

from __future__ import annotations

import hashlib

from mynacard.codec.digest_info import digest_info
from mynacard.host import aids
from mynacard.host.channel import CardChannel
from mynacard.host.pins import TEXT_CODE_A, TEXT_CODE_B, TEXT_PIN, PinGuard
from mynacard.host.records import (
    ApKeyRecord,
    BasicInfo,
    CvCertificate,
    FourFacts,
    IntegrityRecord,
    MyNumberRecord,
    RsaPublicKey,
    tlv_map,
)
from mynacard.host.secure_messaging import SecureSession, check_sm_key

#: EF 0001 is 17 bytes physically: `FF 10 0C` + 12 digits + `FF FF`; the integrity record
#: hashes all 17 (CI §7.1).
MY_NUMBER_EF_SIZE = 17

_OPENS_MY_NUMBER = f"the {TEXT_PIN.label} or 照合番号A"
_OPENS_FOUR_FACTS = f"the {TEXT_PIN.label} or 照合番号B"
_OPENS_EITHER = f"the {TEXT_PIN.label}, 照合番号A or 照合番号B"


class TextAp:
    """The card-info input support AP of one card; reached as `MyNumberCard.text`."""

    AID = aids.TEXT

    def __init__(self, channel: CardChannel, pins: PinGuard) -> None:
        self.channel = channel
        self.pins = pins
        self._sm: SecureSession | None = None

    # --- secrets ----------------------------------------------------------------------------------

    def verify_pin(self, pin: str) -> None:
        self.pins.verify(TEXT_PIN, pin)

    def verify_code_a(self, my_number: str) -> None:
        self.pins.verify(TEXT_CODE_A, my_number)

    def verify_code_b(self, code_b: str) -> None:
        self.pins.verify(TEXT_CODE_B, code_b)

    def change_pin(self, old: str, new: str) -> None:
        self.pins.change(TEXT_PIN, old, new)

    # --- secure messaging (CI §11) -----------------------------------------------------------------

    def start_secure_messaging(self) -> None:
        """Open a session: from now on this AP is read only through it, never in clear.

        The card opens one only after its PIN was verified in clear, with nothing selected in
        between (`verify_pin` first). EF 0006, the key the session key is sent under, is read
        (in clear: it is a public key) and checked for form; nothing on the card signs it.
        """
        self._sm = None
        where = "the secure-messaging key (card-info AP EF 0006)"
        key = self.sm_public_key()
        check_sm_key(key, where)
        self._sm = SecureSession.open(self.channel, self.AID, key, f"the {TEXT_PIN.label} (in clear)")

    @property
    def secure_messaging(self) -> bool:
        """True once `start_secure_messaging` opened a session (even if the card has lost it since:
        reads then fail rather than go in clear)."""
        return self._sm is not None

    # --- protected data ---------------------------------------------------------------------------

    def my_number_record(self) -> MyNumberRecord:
        doing = f"reading {MyNumberRecord.WHERE}"
        if self._sm is not None:
            physical = self._sm.read_ef(0x0001, doing, _OPENS_MY_NUMBER)[:MY_NUMBER_EF_SIZE]
        else:
            physical = self.channel.read_fixed(self.AID, 0x0001, MY_NUMBER_EF_SIZE, doing, _OPENS_MY_NUMBER)
        return MyNumberRecord.parse(physical)

    def my_number(self) -> str:
        return self.my_number_record().number

    def four_facts(self) -> FourFacts:
        """Located through the DF21 offset table (offsets from the start of the EF, CI §7.2)."""
        return FourFacts.parse(self._read(0x0002, FourFacts.WHERE, _OPENS_FOUR_FACTS))

    def integrity_record(self) -> IntegrityRecord:
        return IntegrityRecord.parse(self._read(0x0003, IntegrityRecord.WHERE, _OPENS_EITHER))

    def sm_public_key(self) -> RsaPublicKey:
        """EF 0006 `A1` {90, 91}: the key secure messaging's session key is sent under (CI §11)."""
        where = "the secure-messaging key (card-info AP EF 0006)"
        outer, _children = tlv_map(self._read(0x0006, where, _OPENS_EITHER), 0xA1, where)
        return RsaPublicKey.parse(outer.value, where)

    def ap_key_record(self) -> ApKeyRecord:
        return ApKeyRecord.parse(self._read(0x0007, ApKeyRecord.WHERE, _OPENS_EITHER))

    # --- free data --------------------------------------------------------------------------------

    def cv_certificate(self) -> CvCertificate:
        where = "the card-info AP's CV certificate (EF 0004)"
        return CvCertificate.parse(self._read(0x0004, where), where)

    def basic_info(self) -> BasicInfo:
        return BasicInfo.parse(self._read(0x0005, BasicInfo.WHERE))

    def ap_signature(self, challenge: bytes) -> bytes:
        """`80 2A 00 00` over SHA-256(challenge): signed by this AP's key (DF51) with no
        credential, so a verifier can check the card is present (CI §7.1)."""
        data = digest_info("sha256", hashlib.sha256(challenge).digest())
        return self.channel.sign_with_ap_key(self.AID, data, "asking the card-info AP to sign a challenge")

    def _read(self, fid: int, where: str, needs: str = "") -> bytes:
        if self._sm is not None:
            return self._sm.read_object(fid, f"reading {where}", needs)
        return self.channel.read_object(self.AID, fid, f"reading {where}", needs)
