"""Every EF and record a card holds, built byte for byte as card-interface.md §6–§10 describe.

Record signatures are PKCS#1 v1.5 SHA-256 by the AP's record key (the key its EF 0004 certifies),
except the card face, whose DigestInfo carries three SHA-256 hashes (CI §8.1).
Fields whose meaning no public source knows are filled as documented at each builder.
"""

from __future__ import annotations

import hashlib
import struct
from datetime import date

from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.ca.cv import CvKey, KeyId, encode_public_key
from mynacard.codec import tlv
from mynacard.codec.digest_info import sha256_digest_info


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _offset_template(outer_tag: int, table_tag: int, objects: list[bytes]) -> bytes:
    """An `FF 20` template opened by an offset table: one u16 BE offset, from the start of the
    file, per following object (CI §7.2, §8.1)."""
    table_length = 3 + 2 * len(objects)  # DF 21 LL + offsets; always short-form
    inner_length = table_length + sum(len(o) for o in objects)
    header_length = len(tlv.encode_tag(outer_tag)) + len(tlv.encode_length(inner_length))
    offsets, position = [], header_length + table_length
    for item in objects:
        offsets.append(position)
        position += len(item)
    table = tlv.encode(table_tag, b"".join(struct.pack(">H", o) for o in offsets))
    return tlv.encode(outer_tag, table + b"".join(objects))


def _yyyymmdd(day: date) -> bytes:
    return f"{day:%Y%m%d}".encode("ascii")


# -- 公的個人認証AP (JPKI), CI §6.1 -------------------------------------------------------------

#: EF 0008: both certificates present (the value seen on a card with both, CI §6.1).
CERTIFICATE_AVAILABILITY = b"\x8f\x8f\x00"
TOKEN_LABEL = "JPKIAPICCTOKEN2"
#: CK_TOKEN_INFO flags seen on the physical card: RNG, LOGIN_REQUIRED, USER_PIN_INITIALIZED,
#: TOKEN_INITIALIZED (CI §6.1).
TOKEN_FLAGS = 0x0000040D
UNAVAILABLE = 0xFFFFFFFF


def token_info(serial_number: str) -> bytes:
    """EF 0006: CK_TOKEN_INFO, 160 bytes, CK_ULONG as 32-bit big-endian (CI §6.1).

    label `JPKIAPICCTOKEN2`; max/min PIN length 16/6; memory fields FFFFFFFF; the version slots
    hold ASCII "03"/"01" as observed on physical cards. Ours: manufacturerID
    `mynacard test card`, model `MYNACARD`, serialNumber = the card serial's last 16 digits
    (zero-padded), one session of each kind, utcTime blank (no clock on the token).
    """

    def text(value: str, size: int) -> bytes:
        return value.encode("ascii").ljust(size, b" ")

    sessions_and_pins = (1, 0, 1, 0, 16, 6, UNAVAILABLE, UNAVAILABLE, UNAVAILABLE, UNAVAILABLE)
    return (
        text(TOKEN_LABEL, 32)
        + text("mynacard test card", 32)
        + text("MYNACARD", 16)
        + serial_number[-16:].rjust(16, "0").encode("ascii")
        + struct.pack(">11I", TOKEN_FLAGS, *sessions_and_pins)
        + b"03"
        + b"01"
        + b" " * 16
    )


# -- 券面事項入力補助AP (text), CI §7 ------------------------------------------------------------

TEXT_IDENTIFICATION = bytes.fromhex("01030E01")
#: EF 0008: sixteen FF, unidentified (CI §7.1).
TEXT_EF_0008 = b"\xff" * 16


def my_number_file(my_number: str) -> bytes:
    """EF 0001, all 17 physical bytes: `FF 10 0C` + 12 ASCII digits + `FF FF` (CI §7.1)."""
    return tlv.encode(0xFF10, my_number.encode("ascii")) + b"\xff\xff"


def attributes_file(name: str, address: str, birth_date: date, sex: str) -> bytes:
    """EF 0002, the 基本4情報 behind the DF21 offset table (CI §7.2)."""
    return _offset_template(
        0xFF20,
        0xDF21,
        [
            tlv.encode(0xDF22, name.encode("utf-8")),
            tlv.encode(0xDF23, address.encode("utf-8")),
            tlv.encode(0xDF24, _yyyymmdd(birth_date)),
            tlv.encode(0xDF25, sex.encode("ascii")),
        ],
    )


def attributes_digest_source(attributes: bytes) -> bytes:
    """What EF 0003's DF32 hashes: EF 0002's outer value after the DF21 table (`DF22…` to end)."""
    outer = tlv.parse(attributes)
    table = tlv.parse(outer.value)
    return outer.value[len(table.encoded) :]


def integrity_record(my_number_physical: bytes, attributes: bytes, record_key: CvKey) -> bytes:
    """EF 0003: `FF 30 82 01 4B` {DF31 SHA-256 of EF 0001's 17 physical bytes; DF32 SHA-256 of
    EF 0002 from DF22 to the end; DF33 sha256WithRSA over the DF31+DF32 TLVs} (CI §7.1)."""
    signed = tlv.encode(0xDF31, sha256(my_number_physical)) + tlv.encode(
        0xDF32, sha256(attributes_digest_source(attributes))
    )
    return tlv.encode(0xFF30, signed + tlv.encode(0xDF33, record_key.sign(signed)))


def text_basic_info(key_id: KeyId, df43_value: bytes) -> bytes:
    """EF 0005: `FF 40` {DF41 `01 03 0E 01`; DF42 key ID; DF43 128 bytes} (CI §7.1).

    Real cards put 32 unidentified bytes then 96 FF in DF43; ours put 32 given bytes (random
    per card) then 96 FF. DF42 names our text record key (9000034; real cards show x000034).
    """
    if len(df43_value) != 32:
        raise ValueError("DF43 starts with exactly 32 bytes")
    return tlv.encode(
        0xFF40,
        tlv.encode(0xDF41, TEXT_IDENTIFICATION)
        + tlv.encode(0xDF42, bytes(key_id))
        + tlv.encode(0xDF43, df43_value + b"\xff" * 96),
    )


def sm_public_key_file(public_key: rsa.RSAPublicKey) -> bytes:
    """EF 0006: `A1` {90 e, 91 n}: the secure-messaging key-transport key (CI §7.1, §11)."""
    return tlv.encode(0xA1, encode_public_key(public_key))


def signed_public_key_file(ap_public_key: rsa.RSAPublicKey, record_key: CvKey) -> bytes:
    """EF 0007: `FF 50 82 02 13` {DF51 the AP key; DF52 issuer signature over the DF51 TLV}."""
    signed = tlv.encode(0xDF51, encode_public_key(ap_public_key))
    return tlv.encode(0xFF50, signed + tlv.encode(0xDF52, record_key.sign(signed)))


# -- 券面事項確認AP (visual), CI §8 --------------------------------------------------------------

VISUAL_IDENTIFICATION = bytes.fromhex("06030E01")
VISUAL_BASIC_INFO_VERSION = b"\x01"


def age_record(birth_date: date, card_public_key: rsa.RSAPublicKey, record_key: CvKey) -> bytes:
    """EF 0001: `FF 10 82 02 1E` {DF11 birth YYYYMMDD; DF12 card key; DF13 signature over the
    preceding TLVs} (CI §8)."""
    signed = tlv.encode(0xDF11, _yyyymmdd(birth_date)) + tlv.encode(
        0xDF12, encode_public_key(card_public_key)
    )
    return tlv.encode(0xFF10, signed + tlv.encode(0xDF13, record_key.sign(signed)))


def card_face_digest_info(birth: bytes, sex: bytes, key: bytes, name: bytes, address: bytes, photo: bytes) -> bytes:
    """What DF28 signs, from the DF22…DF27 TLVs: one DigestInfo over SHA-256(DF22+DF23+DF24) ‖
    SHA-256(DF25+DF26) ‖ SHA-256(DF27) (CI §8.1)."""
    return sha256_digest_info(sha256(birth + sex + key) + sha256(name + address) + sha256(photo))


def card_face_file(
    *,
    birth_date: date,
    sex: str,
    card_public_key: rsa.RSAPublicKey,
    name_png: bytes,
    address_png: bytes,
    photo_jp2: bytes,
    card_expiry: date,
    security_code_png: bytes,
    record_key: CvKey,
) -> bytes:
    """EF 0002, the card face (CI §8.1): offset table, DF22 birth, DF23 sex, DF24 card key,
    DF25 name PNG, DF26 address PNG, DF27 photo JP2, DF28 signature, then — not covered by
    it — DF29 expiry and DF2A security-code PNG."""
    covered = [
        tlv.encode(0xDF22, _yyyymmdd(birth_date)),
        tlv.encode(0xDF23, sex.encode("ascii")),
        tlv.encode(0xDF24, encode_public_key(card_public_key)),
        tlv.encode(0xDF25, name_png),
        tlv.encode(0xDF26, address_png),
        tlv.encode(0xDF27, photo_jp2),
    ]
    signature = record_key.sign_digest_info(card_face_digest_info(*covered))
    return _offset_template(
        0xFF20,
        0xDF21,
        [
            *covered,
            tlv.encode(0xDF28, signature),
            tlv.encode(0xDF29, _yyyymmdd(card_expiry)),
            tlv.encode(0xDF2A, security_code_png),
        ],
    )


def visual_basic_info(key_id: KeyId, municipality_code: str, df35_key_id: KeyId, df35_data: bytes) -> bytes:
    """EF 0003: `FF 30` {DF31 `06 03 0E 01`; DF32 key ID; DF33 version; DF34 municipality code;
    DF35 key ID + 256 bytes} (CI §8).

    DF35's meaning is unknown on real cards; ours carries the given key ID and 256 random bytes.
    DF32 names our visual record key (9000024; real cards show x000024). Version 01.
    """
    if len(df35_data) != 256:
        raise ValueError("DF35 carries exactly 256 bytes after its key ID")
    return tlv.encode(
        0xFF30,
        tlv.encode(0xDF31, VISUAL_IDENTIFICATION)
        + tlv.encode(0xDF32, bytes(key_id))
        + tlv.encode(0xDF33, VISUAL_BASIC_INFO_VERSION)
        + tlv.encode(0xDF34, municipality_code.encode("ascii"))
        + tlv.encode(0xDF35, bytes(df35_key_id) + df35_data),
    )


def my_number_image_record(png: bytes, card_public_key: rsa.RSAPublicKey, record_key: CvKey) -> bytes:
    """EF 0005: `FF 40` {DF41 My Number PNG; DF42 card key; DF43 signature over the preceding
    TLVs} (CI §8)."""
    signed = tlv.encode(0xDF41, png) + tlv.encode(0xDF42, encode_public_key(card_public_key))
    return tlv.encode(0xFF40, signed + tlv.encode(0xDF43, record_key.sign(signed)))


# -- 共通AP and 住基AP, CI §9 --------------------------------------------------------------------


def common_card_record(card_serial: str, municipality_code: str, card_expiry: date) -> bytes:
    """共通AP EF 0001 record 1: simple-TLV `01 1C` + 28 ASCII digits = 15-digit card serial,
    5-digit municipality code, expiry YYYYMMDD (CI §9)."""
    digits = f"{card_serial}{municipality_code}{card_expiry:%Y%m%d}"
    if len(digits) != 28 or not digits.isdigit():
        raise ValueError("the 共通AP record holds exactly 28 digits")
    return b"\x01\x1c" + digits.encode("ascii")


# -- MF-level GET DATA objects, CI §10 ----------------------------------------------------------

#: GlobalPlatform card recognition data (tag 66 value): GP RID, card management GP 2.1.1,
#: card identification scheme, SCP02 i=15. Generic GP content; the card's own is not published.
CARD_RECOGNITION_DATA = bytes.fromhex(
    "732F"
    "06072A864886FC6B01"
    "600C060A2A864886FC6B02020101"
    "630906072A864886FC6B03"
    "640B06092A864886FC6B040215"
)


def mf_objects(
    *,
    issuer_key_id: KeyId,
    card_serial: str,
    municipality_code: str,
    card_expiry: date,
    intermediate_key_id: KeyId,
    upper_certificate_contents: bytes,
    lower_certificate_contents: bytes,
) -> dict[int, bytes]:
    """The values GET DATA returns with no AP selected (CI §10).

    `00F8`/`7F21` hold certificate *contents* (`5F4E…5F37…`), as GET DATA returns them without
    the `7F21` template. 5F51 is not here: the card derives it from its ATR profile.
    """
    return {
        0x0042: bytes(issuer_key_id),
        0x0045: card_serial.encode("ascii"),
        0x0066: CARD_RECOGNITION_DATA,
        0x00F0: municipality_code.encode("ascii"),
        0x00F2: _yyyymmdd(card_expiry),
        0x00F7: bytes(intermediate_key_id),
        0x00F8: upper_certificate_contents,
        0x7F21: lower_certificate_contents,
    }
