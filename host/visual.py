"""券面事項確認AP (the card-face AP, CI §8): the card face, the age record, the My Number image.

The card face (EF 0002) opens with 照合番号A (the My Number) or 照合番号B; the age record (EF 0001)
with the birth-date key; the My Number image (EF 0005) with 照合番号A only. The photo is a JPEG 2000
(JP2) file; `CardFace.photo_png()` converts it for display with Pillow. Each record keeps the
exact bytes its J-LIS signature covers.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from mynacard.host import aids, tlv
from mynacard.host.apdu import SHORT_LE_MAX, Command
from mynacard.host.channel import CardChannel
from mynacard.host.errors import CardDataError, error_for_sw
from mynacard.host.jpki import digest_info
from mynacard.host.pins import BIRTH_KEY, VISUAL_CODE_A, VISUAL_CODE_B, PinGuard
from mynacard.host.records import (
    CvCertificate,
    RsaPublicKey,
    ascii_field,
    offset_table_elements,
    require,
    tlv_map,
)
from mynacard.host.text import SEX_LABELS


@dataclass(frozen=True)
class CardFace:
    """EF 0002 (CI §8.1)."""

    #: "YYYYMMDD".
    birth_date: str
    sex: str
    #: The card key (DF24); the same key signs `80 2A 00 00` challenges.
    public_key: RsaPublicKey
    name_png: bytes
    address_png: bytes
    photo_jp2: bytes
    #: DF28: RSA over the three digests of `signed_parts` (CI §8.1).
    signature: bytes
    #: "YYYYMMDD"; after the signature, so not covered by it.
    expiry: str
    #: 24×12 PNG; not covered by the signature.
    security_code_png: bytes
    raw: bytes
    #: Every element by tag, with its exact encoding.
    elements: dict[int, tlv.Tlv]

    @property
    def sex_label(self) -> str:
        return SEX_LABELS.get(self.sex, f"code {self.sex}")

    @property
    def signed_parts(self) -> tuple[bytes, bytes, bytes]:
        """(DF22+DF23+DF24, DF25+DF26, DF27) TLV encodings: each is hashed with SHA-256 and the
        three digests, concatenated, form the signed DigestInfo (CI §8.1)."""
        e = self.elements
        return (e[0xDF22].encoded + e[0xDF23].encoded + e[0xDF24].encoded,
                e[0xDF25].encoded + e[0xDF26].encoded,
                e[0xDF27].encoded)

    def photo_png(self) -> bytes:
        """The JPEG 2000 photo converted to PNG, for screens that cannot show JP2."""
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(self.photo_jp2)) as image:
                out = io.BytesIO()
                image.save(out, format="PNG")
        except (UnidentifiedImageError, OSError) as exc:
            raise CardDataError(f"the card-face photo (DF27) is not a readable JPEG 2000 image "
                                f"({exc})") from exc
        return out.getvalue()


@dataclass(frozen=True)
class AgeRecord:
    """EF 0001 `FF 10` { DF11 birth date, DF12 card key, DF13 signature over DF11+DF12 }."""

    birth_date: str
    public_key: RsaPublicKey
    signature: bytes
    raw: bytes
    signed_part: bytes


@dataclass(frozen=True)
class MyNumberImage:
    """EF 0005 `FF 40` { DF41 PNG of the My Number, DF42 key, DF43 signature over DF41+DF42 }."""

    png: bytes
    public_key: RsaPublicKey
    signature: bytes
    raw: bytes
    signed_part: bytes


@dataclass(frozen=True)
class VisualBasicInfo:
    """EF 0003 `FF 30` { DF31 id bytes, DF32 key ID, DF33 version, DF34 municipality code,
    DF35 … } (CI §8)."""

    municipality_code: str
    raw: bytes
    elements: dict[int, bytes]


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
        where = "the card face (card-face AP EF 0002)"
        raw = self.channel.read_object(self.AID, 0x0002, f"reading {where}", _OPENS_FACE)
        _outer, e = tlv_map(raw, 0xFF20, where)
        offset_table_elements(raw, e, 0xDF22, where)
        for tag in range(0xDF21, 0xDF2B):
            require(e, tag, where)
        return CardFace(
            birth_date=ascii_field(e[0xDF22], where),
            sex=ascii_field(e[0xDF23], where),
            public_key=RsaPublicKey.parse(e[0xDF24].value, where),
            name_png=e[0xDF25].value,
            address_png=e[0xDF26].value,
            photo_jp2=e[0xDF27].value,
            signature=e[0xDF28].value,
            expiry=ascii_field(e[0xDF29], where),
            security_code_png=e[0xDF2A].value,
            raw=raw,
            elements=e,
        )

    def age_record(self) -> AgeRecord:
        where = "the age record (card-face AP EF 0001)"
        raw = self.channel.read_object(self.AID, 0x0001, f"reading {where}",
                                       f"the {BIRTH_KEY.label}")
        _outer, e = tlv_map(raw, 0xFF10, where)
        df11, df12, df13 = (require(e, tag, where) for tag in (0xDF11, 0xDF12, 0xDF13))
        return AgeRecord(ascii_field(df11, where), RsaPublicKey.parse(df12.value, where),
                         df13.value, raw, df11.encoded + df12.encoded)

    def my_number_image(self) -> MyNumberImage:
        where = "the My Number image (card-face AP EF 0005)"
        raw = self.channel.read_object(self.AID, 0x0005, f"reading {where}",
                                       "照合番号A (the My Number)")
        _outer, e = tlv_map(raw, 0xFF40, where)
        df41, df42, df43 = (require(e, tag, where) for tag in (0xDF41, 0xDF42, 0xDF43))
        return MyNumberImage(df41.value, RsaPublicKey.parse(df42.value, where), df43.value, raw,
                             df41.encoded + df42.encoded)

    # --- free data --------------------------------------------------------------------------------

    def basic_info(self) -> VisualBasicInfo:
        where = "the card-face AP basic info (EF 0003)"
        raw = self.channel.read_object(self.AID, 0x0003, f"reading {where}")
        _outer, e = tlv_map(raw, 0xFF30, where)
        code = ascii_field(require(e, 0xDF34, where), where)
        return VisualBasicInfo(code, raw, {tag: element.value for tag, element in e.items()})

    def cv_certificate(self) -> CvCertificate:
        where = "the card-face AP's CV certificate (EF 0004)"
        raw = self.channel.read_object(self.AID, 0x0004, f"reading {where}")
        return CvCertificate.parse(raw, where)

    def card_signature(self, challenge: bytes) -> bytes:
        """`80 2A 00 00` over SHA-256(challenge), signed by the card key (DF24) with no
        credential: proof that this chip holds the key the card face names (CI §8.1)."""
        doing = "asking the card-face AP to sign a challenge"
        self.channel.ensure_ap(self.AID, doing)
        data = digest_info("sha256", hashlib.sha256(challenge).digest())
        response = self.channel.send(Command(0x80, 0x2A, 0x00, 0x00, data, le=SHORT_LE_MAX))
        if not response.ok:
            raise error_for_sw(response.sw, doing)
        return response.data
