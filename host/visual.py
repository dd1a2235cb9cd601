"""券面事項確認AP (the card-face AP, CI §8): the card face, the age record, the My Number image.

The card face (EF 0002) opens with 照合番号A (the My Number) or 照合番号B; the age record (EF 0001)
with the birth-date key; the My Number image (EF 0005) with 照合番号A only. The photo is a JPEG 2000
(JP2) file; `CardFace.photo_png()` converts it for display with Pillow. The records are parsed
by records.py and keep the exact bytes their J-LIS signatures cover, for cvc.py to check.
"""

from __future__ import annotations

import hashlib

from mynacard.codec.digest_info import digest_info
from mynacard.host import aids
from mynacard.host.channel import CardChannel
from mynacard.host.pins import BIRTH_KEY, VISUAL_CODE_A, VISUAL_CODE_B, PinGuard
from mynacard.host.records import AgeRecord, CardFace, CvCertificate, MyNumberImage, VisualBasicInfo

_OPENS_FACE = "照合番号A (the My Number) or 照合番号B"


class VisualAp:
    """The card-face AP of one card; reached as `MyNumberCard.visual`."""

    AID = aids.VISUAL

    def __init__(self, channel: CardChannel, pins: PinGuard) -> None:
        self.channel = channel
        self.pins = pins

    # --- secrets ----------------------------------------------------------------------------------

    def verify_code_a(self, my_number: str) -> None:
        self.pins.verify(VISUAL_CODE_A, my_number)

    def verify_code_b(self, code_b: str) -> None:
        self.pins.verify(VISUAL_CODE_B, code_b)

    def verify_birth_key(self, birth_key: str) -> None:
        self.pins.verify(BIRTH_KEY, birth_key)

    # --- protected data ---------------------------------------------------------------------------

    def card_face(self) -> CardFace:
        return CardFace.parse(self._read(0x0002, CardFace.WHERE, _OPENS_FACE))

    def age_record(self) -> AgeRecord:
        return AgeRecord.parse(self._read(0x0001, AgeRecord.WHERE, f"the {BIRTH_KEY.label}"))

    def my_number_image(self) -> MyNumberImage:
        return MyNumberImage.parse(self._read(0x0005, MyNumberImage.WHERE,
                                              "照合番号A (the My Number)"))

    # --- free data --------------------------------------------------------------------------------

    def basic_info(self) -> VisualBasicInfo:
        return VisualBasicInfo.parse(self._read(0x0003, VisualBasicInfo.WHERE))

    def cv_certificate(self) -> CvCertificate:
        where = "the card-face AP's CV certificate (EF 0004)"
        return CvCertificate.parse(self._read(0x0004, where), where)

    def card_signature(self, challenge: bytes) -> bytes:
        """`80 2A 00 00` over SHA-256(challenge), signed by the card key (DF24) with no
        credential: proof that this chip holds the key the card face names (CI §8.1)."""
        data = digest_info("sha256", hashlib.sha256(challenge).digest())
        return self.channel.sign_with_ap_key(self.AID, data, "asking the card-face AP to sign a challenge")

    def _read(self, fid: int, where: str, needs: str = "") -> bytes:
        return self.channel.read_object(self.AID, fid, f"reading {where}", needs)
