"""VISUAL: the 券面事項確認AP — keys and what they open, the age record, the card face and its
signature, the My Number image, the card key (CI §4, §8, §8.1; jpki-system.md §1.6, §7)."""

from __future__ import annotations

import datetime
import hashlib

from mynacard.codec.digest_info import of_message
from mynacard.codec.tlv import Tlv
from mynacard.conformance import apdus
from mynacard.conformance.card_map import TEXT_PIN, VISUAL, VISUAL_BIRTH, VISUAL_CODE_A, VISUAL_CODE_B, PinRef
from mynacard.conformance.catalogue.registry import case
from mynacard.conformance.catalogue.steps import check_cv_certificate_ef
from mynacard.conformance.catalogue.text import read_four_facts
from mynacard.conformance.checks import (
    DataError,
    children,
    cv_certificate,
    offset_table,
    parse_single,
    pkcs1_payload,
    require_tags,
    rsa_from_90_91,
    verifies_pkcs1_sha256,
)
from mynacard.conformance.context import CaseContext
from mynacard.conformance.model import Profile, Secret

P = [Profile.VISUAL]
MESSAGE = b"mynacard conformance: card-face challenge"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JP2_SIGNATURE = bytes.fromhex("0000000C6A5020200D0A870A")
FACE_TAGS = [0xDF22, 0xDF23, 0xDF24, 0xDF25, 0xDF26, 0xDF27, 0xDF28, 0xDF29, 0xDF2A]

#: Japanese eras by first day (for 照合番号B and the birth-date key, jpki-system.md §1.6).
ERAS = ((datetime.date(2019, 5, 1), 2018), (datetime.date(1989, 1, 8), 1988),
        (datetime.date(1926, 12, 25), 1925), (datetime.date(1912, 7, 30), 1911))


def era_yymmdd(yyyymmdd: bytes) -> bytes:
    """`19800217` → `550217` (昭和55)."""
    day = datetime.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    for start, offset in ERAS:
        if day >= start:
            return b"%02d%s" % (day.year - offset, yyyymmdd[4:])
    raise ValueError("a birth date before 大正")


def _cv_key(t: CaseContext):  # noqa: ANN202 - the RSA key certified by EF 0004
    try:
        return cv_certificate(t.read_object(0x0004, "EF 0004 (CV certificate)"), "EF 0004").public_key
    except DataError as exc:
        t.fail(str(exc))


def _access(t: CaseContext, opened_by: PinRef, opens: tuple[int, ...], closed: tuple[int, ...]) -> None:
    t.verify(opened_by)
    for fid in opens:
        t.select_ef(fid)
        t.expect(apdus.read_binary(0, 1), f"READ BINARY EF {fid:04X} after {opened_by}")
    for fid in closed:
        t.select_ef(fid)
        t.expect(apdus.read_binary(0, 1), f"READ BINARY EF {fid:04X} after {opened_by} (not opened by it)", 0x6982)


def read_face(t: CaseContext) -> tuple[Tlv, dict[int, Tlv]]:
    """EF 0002 sized from its header: the `FF 20` element and its children by tag."""
    data = t.read_object(0x0002, "EF 0002 (card face)")
    try:
        outer = parse_single(data, 0xFF20, "EF 0002")
        parts = children(outer, "EF 0002")
        require_tags(parts, FACE_TAGS, "EF 0002")
    except DataError as exc:
        t.fail(str(exc))
    return outer, parts


@case("VIS-EF-001", "Exactly the EFs JSA-DUMP enumerated are selectable in the 券面事項確認AP",
      refs=["§4/EF-map", "§2/SELECT-EF"], profiles=P)
def ef_map(t: CaseContext) -> None:
    """
    1. SELECT the AP. For every FID 0001–001E: SELECT EF → 9000 if it is one of 0001–0006 0011 0012
       0013 001A 001C 001E (CI §4), else 6A82.
    """
    t.select(VISUAL)
    assert VISUAL.enumerated_efs is not None
    for fid in range(0x0001, 0x001F):
        t.expect(apdus.select_ef(fid), f"SELECT EF {fid:04X}", 0x9000 if fid in VISUAL.enumerated_efs else 0x6A82)


@case("VIS-ACC-001", "Without a key the age record, card face and My Number image are closed (6982); 0003, 0004 are free",
      refs=["§8/0001", "§8/0002", "§8/0005", "§8/0006", "§8/0003", "§8/0004", "§3/6982"], profiles=P)
def closed_without_key(t: CaseContext) -> None:
    """
    1. SELECT the AP. READ BINARY 1 byte of EF 0001, 0002, 0005, 0006 → 6982 each.
    2. READ BINARY 1 byte of EF 0003 and EF 0004 → 9000.
    """
    t.select(VISUAL)
    for fid in (0x0001, 0x0002, 0x0005, 0x0006):
        t.select_ef(fid)
        t.expect(apdus.read_binary(0, 1), f"READ BINARY EF {fid:04X} with nothing verified", 0x6982)
    for fid in (0x0003, 0x0004):
        t.select_ef(fid)
        t.expect(apdus.read_binary(0, 1), f"READ BINARY free EF {fid:04X}")


@case("VIS-ACC-002", "The birth-date key (0011) opens the age record only",
      refs=["§8/0011", "§8/0001", "§8/0002", "§8/0005", "§3/6982"], profiles=P, needs=[Secret.BIRTH_KEY])
def opened_by_birth(t: CaseContext) -> None:
    """
    1. SELECT the AP, SELECT EF 0011, VERIFY the birth-date key → 9000.
    2. READ BINARY EF 0001 → 9000; EF 0002, 0005, 0006 → 6982.
    """
    _access(t, VISUAL_BIRTH, (0x0001,), (0x0002, 0x0005, 0x0006))


@case("VIS-ACC-003", "照合番号B (0012) opens the card face but not the My Number image nor the age record",
      refs=["§8/0012", "§8/0002", "§8/0006", "§8/0005", "§8/0001", "§3/6982"], profiles=P, needs=[Secret.CODE_B])
def opened_by_code_b(t: CaseContext) -> None:
    """
    1. SELECT the AP, SELECT EF 0012, VERIFY 照合番号B → 9000.
    2. READ BINARY EF 0002, 0006 → 9000; EF 0005 (照合番号A only) and EF 0001 → 6982.
    """
    _access(t, VISUAL_CODE_B, (0x0002, 0x0006), (0x0005, 0x0001))


@case("VIS-ACC-004", "照合番号A (0013) opens the card face and the My Number image, not the age record",
      refs=["§8/0013", "§8/0002", "§8/0005", "§8/0006", "§8/0001", "§3/6982"], profiles=P, needs=[Secret.CODE_A])
def opened_by_code_a(t: CaseContext) -> None:
    """
    1. SELECT the AP, SELECT EF 0013, VERIFY 照合番号A → 9000.
    2. READ BINARY EF 0002, 0005, 0006 → 9000; EF 0001 → 6982.
    """
    _access(t, VISUAL_CODE_A, (0x0002, 0x0005, 0x0006), (0x0001,))


@case("VIS-DATA-001", "The age record EF 0001 is FF 10 {DF11 date, DF12 card key, DF13 signature} and DF13 verifies",
      refs=["§8/0001", "§8/0004"], profiles=P, needs=[Secret.BIRTH_KEY])
def age_record(t: CaseContext) -> None:
    """
    1. SELECT the AP, VERIFY the birth-date key, read EF 0001 sized from its header, and EF 0004.
    2. `FF 10 82 02 1E` { `DF11` 08 YYYYMMDD; `DF12 82 01 09` 90/91 RSA-2048 key; `DF13 82 01 00` }.
    3. DF13 verifies as sha256WithRSA over the DF11 and DF12 TLVs with the key certified in EF 0004.
    4. The birth-date key in the secrets file is DF11 as era YYMMDD.
    """
    t.verify(VISUAL_BIRTH)
    data = t.read_object(0x0001, "EF 0001 (age record)")
    try:
        parts = children(parse_single(data, 0xFF10, "EF 0001"), "EF 0001")
        require_tags(parts, [0xDF11, 0xDF12, 0xDF13], "EF 0001")
        card_key = rsa_from_90_91(parts[0xDF12].value, "EF 0001 DF12")
    except DataError as exc:
        t.fail(str(exc))
    birth = parts[0xDF11].value
    t.check(len(birth) == 8 and birth.isdigit(), "DF11 is not a date YYYYMMDD")
    t.check(card_key.key_size == 2048, "DF12 is not an RSA-2048 key")
    key = _cv_key(t)
    t.check(verifies_pkcs1_sha256(key, parts[0xDF13].value, parts[0xDF11].encoded + parts[0xDF12].encoded),
            "DF13 does not verify over DF11+DF12 with the key certified in EF 0004")
    t.check(era_yymmdd(birth) == t.secret(Secret.BIRTH_KEY), "the birth-date key is not DF11 as era YYMMDD")


@case("VIS-DATA-002", "EF 0002 (card face) is FF 20 {DF21 offsets, DF22–DF2A} with PNG images and a JPEG 2000 photo",
      refs=["§8.1/layout", "§8/0002", "§13/E"], profiles=P, needs=[Secret.CODE_B])
def face_layout(t: CaseContext) -> None:
    """
    1. SELECT the AP, VERIFY 照合番号B, read EF 0002 sized from its `FF 20 82 xx xx` header.
    2. DF21's u16 offsets point at the objects that follow it; DF22–DF2A are present.
    3. DF22 and DF29 are 8-digit dates; DF23 is one byte; DF24 is a 90/91 RSA-2048 key; DF25, DF26, DF2A
       are PNG; DF27 is JPEG 2000 in a JP2 container; DF28 is 256 bytes.
    """
    t.verify(VISUAL_CODE_B)
    outer, parts = read_face(t)
    try:
        offset_table(outer, 0xDF21, FACE_TAGS, "EF 0002")
        key = rsa_from_90_91(parts[0xDF24].value, "EF 0002 DF24")
    except DataError as exc:
        t.fail(str(exc))
    value = {tag: parts[tag].value for tag in FACE_TAGS}
    for tag in (0xDF22, 0xDF29):
        t.check(len(value[tag]) == 8 and value[tag].isdigit(), f"{tag:X} is not a date YYYYMMDD")
    t.check(len(value[0xDF23]) == 1, "DF23 (sex) is not one byte")
    t.check(key.key_size == 2048, "DF24 is not an RSA-2048 key")
    for tag, what in ((0xDF25, "name image"), (0xDF26, "address image"), (0xDF2A, "security-code image")):
        t.check(value[tag].startswith(PNG_SIGNATURE), f"{tag:X} ({what}) is not a PNG")
    t.check(value[0xDF27].startswith(JP2_SIGNATURE), "DF27 (photo) is not JPEG 2000 in a JP2 container")
    t.check(len(value[0xDF28]) == 256, "DF28 (signature) is not 256 bytes")


@case("VIS-DATA-003", "The card-face signature DF28 covers (DF22–24), (DF25–26), (DF27) and verifies with the EF 0004 key",
      refs=["§8.1/signature", "§8/0004"], profiles=P, needs=[Secret.CODE_B])
def face_signature(t: CaseContext) -> None:
    """
    1. SELECT the AP, VERIFY 照合番号B, read EF 0002 and EF 0004.
    2. Open DF28 with the key certified in EF 0004 (PKCS#1 v1.5): `30 71 … 04 60` + 96 bytes.
    3. The 96 bytes are SHA-256(DF22‖DF23‖DF24 TLVs) ‖ SHA-256(DF25‖DF26) ‖ SHA-256(DF27).
       DF29 (expiry) and DF2A (security code) come after the signature and are not covered.
    """
    t.verify(VISUAL_CODE_B)
    _, parts = read_face(t)
    enc = {tag: parts[tag].encoded for tag in FACE_TAGS}
    key = _cv_key(t)
    payload = pkcs1_payload(key, parts[0xDF28].value)
    t.check(payload is not None, "DF28 is not a PKCS#1 v1.5 signature by the key certified in EF 0004")
    assert payload is not None
    expected = (hashlib.sha256(enc[0xDF22] + enc[0xDF23] + enc[0xDF24]).digest()
                + hashlib.sha256(enc[0xDF25] + enc[0xDF26]).digest() + hashlib.sha256(enc[0xDF27]).digest())
    t.check(payload[:2] == b"\x30\x71" and payload[-98:-96] == b"\x04\x60", "DF28 does not carry a 30 71 … 04 60 DigestInfo")
    t.check(payload[-96:] == expected, "DF28 does not sign the three SHA-256 hashes of CI §8.1")


@case("VIS-DATA-004", "EF 0003 (AP basic info) is FF 30 {DF31–DF35} with a 5-digit municipality code",
      refs=["§8/0003"], profiles=P)
def basic_info(t: CaseContext) -> None:
    """
    1. SELECT the AP. Read EF 0003 sized from its header (no key needed).
    2. `FF 30` { DF31 4 bytes; DF32 16; DF33 1; DF34 5 ASCII digits (全国地方公共団体コード); DF35 16 + 256 }.
    """
    t.select(VISUAL)
    data = t.read_object(0x0003, "EF 0003 (basic info)")
    try:
        parts = children(parse_single(data, 0xFF30, "EF 0003"), "EF 0003")
        require_tags(parts, [0xDF31, 0xDF32, 0xDF33, 0xDF34, 0xDF35], "EF 0003")
    except DataError as exc:
        t.fail(str(exc))
    for tag, size in ((0xDF31, 4), (0xDF32, 16), (0xDF33, 1), (0xDF35, 272)):
        t.check(len(parts[tag].value) == size, f"EF 0003 {tag:X} is {len(parts[tag].value)} bytes, expected {size}")
    t.check(len(parts[0xDF34].value) == 5 and parts[0xDF34].value.isdigit(), "DF34 is not a 5-digit municipality code")


@case("VIS-DATA-005", "EF 0004 is a card-verifiable certificate 7F21 of the CI §7.3 shape",
      refs=["§8/0004", "§7.3/cv-cert"], profiles=P)
def cv_cert(t: CaseContext) -> None:
    """
    1. SELECT the AP. Read EF 0004 sized from its header (no key needed).
    2. `7F 21 82 02 33` { 5F4E of 297 bytes (two key IDs and a 90/91 RSA-2048 key); 5F37 of 256 };
       both key IDs of the 7 digits + 2 bytes + 3 digits + 4 bytes shape.
    """
    check_cv_certificate_ef(t, VISUAL)


@case("VIS-DATA-006", "EF 0005 (My Number image) is FF 40 {DF41 PNG, DF42 key, DF43 signature} and DF43 verifies",
      refs=["§8/0005"], profiles=P, needs=[Secret.CODE_A])
def my_number_image(t: CaseContext) -> None:
    """
    1. SELECT the AP, VERIFY 照合番号A, read EF 0005 sized from its header, and EF 0004.
    2. `FF 40` { DF41 a PNG; DF42 a 90/91 RSA-2048 key; DF43 256 bytes }.
    3. DF43 verifies as sha256WithRSA over the DF41 and DF42 TLVs with the key certified in EF 0004.
    (The image is the My Number: it never enters the report.)
    """
    t.verify(VISUAL_CODE_A)
    data = t.read_object(0x0005, "EF 0005 (My Number image)")
    try:
        parts = children(parse_single(data, 0xFF40, "EF 0005"), "EF 0005")
        require_tags(parts, [0xDF41, 0xDF42, 0xDF43], "EF 0005")
        rsa_from_90_91(parts[0xDF42].value, "EF 0005 DF42")
    except DataError as exc:
        t.fail(str(exc))
    t.check(parts[0xDF41].value.startswith(PNG_SIGNATURE), "DF41 is not a PNG")
    key = _cv_key(t)
    t.check(verifies_pkcs1_sha256(key, parts[0xDF43].value, parts[0xDF41].encoded + parts[0xDF42].encoded),
            "DF43 does not verify over DF41+DF42 with the key certified in EF 0004")


@case("VIS-DATA-007", "照合番号B is the era birth date, the expiry year and a 4-digit code; the card-face facts match the text AP",
      refs=["§8/0012", "§8.1/layout", "§7.2/layout"], profiles=[Profile.VISUAL, Profile.TEXT],
      needs=[Secret.CODE_B, Secret.TEXT_PIN])
def face_matches_text(t: CaseContext) -> None:
    """
    1. SELECT the 券面事項確認AP, VERIFY 照合番号B, read EF 0002: DF22 birth, DF23 sex, DF29 expiry.
    2. 照合番号B = DF22 as era YYMMDD + DF29's year + 4 digits (jpki-system.md §1.6; CI §12 on the era).
    3. SELECT the 券面事項入力補助AP, VERIFY its PIN, read EF 0002: DF24 = DF22 and DF25 = DF23.
    """
    t.verify(VISUAL_CODE_B)
    _, face = read_face(t)
    birth, sex, expiry = (face[tag].value for tag in (0xDF22, 0xDF23, 0xDF29))
    code_b = t.secret(Secret.CODE_B)
    t.check(code_b[:6] == era_yymmdd(birth), "照合番号B does not start with the birth date as era YYMMDD")
    t.check(code_b[6:10] == expiry[:4], "照合番号B digits 7–10 are not the expiry year of DF29")
    t.verify(TEXT_PIN)
    _, four = read_four_facts(t)
    facts = children(four, "text EF 0002")
    t.check(facts[0xDF24].value == birth, "the birth date of the card face differs from the text AP's")
    t.check(facts[0xDF25].value == sex, "the sex of the card face differs from the text AP's")


@case("VIS-SIG-001", "80 2A 00 00 signs with the card key and no credential; it verifies with DF24 of the card face",
      refs=["§8/signature", "§2/COMPUTE-DIGITAL-SIGNATURE"], profiles=P, needs=[Secret.CODE_B])
def card_key_signature(t: CaseContext) -> None:
    """
    1. SELECT the AP (nothing verified). `80 2A 00 00 33 <SHA-256 DigestInfo> 00` → 9000, 256 bytes.
    2. VERIFY 照合番号B, read EF 0002, take the DF24 key.
    3. The signature verifies as PKCS#1 v1.5 SHA-256 over the message (card presence, jpki-system.md §7).
    """
    t.select(VISUAL)
    signature = t.expect(apdus.compute_signature(of_message("sha256", MESSAGE), p2=0x00),
                         "COMPUTE DIGITAL SIGNATURE 80 2A 00 00 with nothing verified").data
    t.check(len(signature) == 256, f"the card-key signature is {len(signature)} bytes, expected 256")
    t.verify(VISUAL_CODE_B)
    _, face = read_face(t)
    try:
        key = rsa_from_90_91(face[0xDF24].value, "EF 0002 DF24")
    except DataError as exc:
        t.fail(str(exc))
    t.check(verifies_pkcs1_sha256(key, signature, MESSAGE), "the 80 2A 00 00 signature does not verify with DF24")


@case("VIS-AUTH-001", "INTERNAL AUTHENTICATE with the card key is refused with 6985",
      refs=["§2/INTERNAL-AUTHENTICATE", "§3/6985"], profiles=P)
def no_internal_authenticate(t: CaseContext) -> None:
    """
    1. SELECT the AP. `00 88 00 00 08 <8 bytes> 00` (the AP's default key) → 6985.
    """
    t.select(VISUAL)
    t.expect(apdus.internal_authenticate(bytes(8), p2=0x00), "INTERNAL AUTHENTICATE with the card key", 0x6985)


@case("VIS-SM-001", "No secure messaging here: SET SESSION KEY 66F1, SM SELECT 6882, SM READ 69FC",
      refs=["§8/no-SM", "§3/66F1", "§3/6882", "§3/69FC", "§11/other-APs", "§2/SET-SESSION-KEY"], profiles=P)
def no_secure_messaging(t: CaseContext) -> None:
    """
    1. SELECT the AP. `80 AE 00 00 02 00 00` → 66F1.
    2. `08 A4 02 0C 02 00 03` → 6882. SELECT EF 0003, `08 B0 00 00 04` → 69FC.
    """
    t.select(VISUAL)
    t.expect(apdus.set_session_key(b"\x00\x00"), "SET SESSION KEY in the 券面事項確認AP", 0x66F1)
    t.expect(apdus.select_ef(0x0003, cla=0x08), "SELECT EF with SM CLA 08", 0x6882)
    t.select_ef(0x0003)
    t.expect(apdus.read_binary(0, 4, cla=0x08), "READ BINARY with SM CLA 08", 0x69FC)

