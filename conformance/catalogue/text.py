"""TEXT: the 券面事項入力補助AP — which key opens which EF, the My Number and four-facts layouts, the
integrity record and the AP's own signature (CI §4, §7)."""

from __future__ import annotations

import hashlib

from mynacard.codec.digest_info import of_message
from mynacard.conformance import apdus
from mynacard.conformance.card_map import TEXT, TEXT_CODE_A, TEXT_CODE_B, TEXT_PIN, PinRef
from mynacard.conformance.catalogue.registry import case
from mynacard.conformance.catalogue.steps import check_cv_certificate_ef
from mynacard.conformance.checks import (
    DataError,
    children,
    cv_certificate,
    offset_table,
    parse_single,
    require_tags,
    rsa_from_90_91,
    valid_my_number,
    verifies_pkcs1_sha256,
)
from mynacard.conformance.context import CaseContext
from mynacard.conformance.model import Profile, Secret

P = [Profile.TEXT]
MESSAGE = b"mynacard conformance: card-presence challenge"
PROTECTED = (0x0001, 0x0002, 0x0003, 0x0006, 0x0007)


def _access(t: CaseContext, opened_by: PinRef, opens: tuple[int, ...], closed: tuple[int, ...]) -> None:
    t.verify(opened_by)
    for fid in opens:
        t.select_ef(fid)
        t.expect(apdus.read_binary(0, 1), f"READ BINARY EF {fid:04X} after {opened_by}")
    for fid in closed:
        t.select_ef(fid)
        t.expect(apdus.read_binary(0, 1), f"READ BINARY EF {fid:04X} after {opened_by} (not opened by it)", 0x6982)


def _cv_key(t: CaseContext):  # noqa: ANN202 - the RSA key certified by EF 0004
    try:
        return cv_certificate(t.read_object(0x0004, "EF 0004 (CV certificate)"), "EF 0004").public_key
    except DataError as exc:
        t.fail(str(exc))


@case("TEXT-EF-001", "Exactly the EFs JSA-DUMP enumerated are selectable in the 券面事項入力補助AP",
      refs=["§4/EF-map", "§2/SELECT-EF"], profiles=P)
def ef_map(t: CaseContext) -> None:
    """
    1. SELECT the AP. For every FID 0001–001E: SELECT EF → 9000 if it is one of 0001–0008 0010 0011
       0012 0013 0014 0015 001C 001E (CI §4), else 6A82.
    """
    t.select(TEXT)
    assert TEXT.enumerated_efs is not None
    for fid in range(0x0001, 0x001F):
        t.expect(apdus.select_ef(fid), f"SELECT EF {fid:04X}", 0x9000 if fid in TEXT.enumerated_efs else 0x6A82)


@case("TEXT-ACC-001", "Without a key the My Number, four facts, integrity record and keys are closed (6982); 0004, 0005 are free",
      refs=["§7.1/0001", "§7.1/0002", "§7.1/0003", "§7.1/0006", "§7.1/0007", "§7.1/0004", "§7.1/0005", "§3/6982"],
      profiles=P)
def closed_without_key(t: CaseContext) -> None:
    """
    1. SELECT the AP. For EF 0001, 0002, 0003, 0006, 0007: SELECT → 9000, READ BINARY 1 byte → 6982.
    2. EF 0004 and EF 0005: READ BINARY 1 byte → 9000.
    3. SELECT the AP again. READ BINARY by SFI `00 B0 81 00 00` (EF 0001) → 6982.
    """
    t.select(TEXT)
    for fid in PROTECTED:
        t.select_ef(fid)
        t.expect(apdus.read_binary(0, 1), f"READ BINARY EF {fid:04X} with nothing verified", 0x6982)
    for fid in (0x0004, 0x0005):
        t.select_ef(fid)
        t.expect(apdus.read_binary(0, 1), f"READ BINARY free EF {fid:04X}")
    t.select(TEXT)
    t.expect(apdus.read_binary_sfi(0x01, 0, 256), "READ BINARY SFI 01 with nothing verified", 0x6982)


@case("TEXT-ACC-002", "The PIN (0011) opens every protected EF of the AP",
      refs=["§7.1/0011", "§7.1/0001", "§7.1/0002", "§7.1/0003", "§7.1/0006", "§7.1/0007"],
      profiles=P, needs=[Secret.TEXT_PIN])
def opened_by_pin(t: CaseContext) -> None:
    """
    1. SELECT the AP, SELECT EF 0011, VERIFY the PIN → 9000.
    2. READ BINARY 1 byte of EF 0001, 0002, 0003, 0006, 0007 → 9000 each.
    """
    t.select(TEXT)
    _access(t, TEXT_PIN, PROTECTED, ())


@case("TEXT-ACC-003", "照合番号A (0014) opens the My Number but not the four facts",
      refs=["§7.1/0014", "§7.1/0001", "§7.1/0002", "§7.1/0003", "§3/6982"],
      profiles=P, needs=[Secret.CODE_A])
def opened_by_code_a(t: CaseContext) -> None:
    """
    1. SELECT the AP, SELECT EF 0014, VERIFY 照合番号A → 9000.
    2. READ BINARY EF 0001, 0003, 0006, 0007 → 9000; EF 0002 → 6982 (CI §7.1: **not** A).
    """
    t.select(TEXT)
    _access(t, TEXT_CODE_A, (0x0001, 0x0003, 0x0006, 0x0007), (0x0002,))


@case("TEXT-ACC-004", "照合番号B (0015) opens the four facts but not the My Number",
      refs=["§7.1/0015", "§7.1/0001", "§7.1/0002", "§7.1/0003", "§3/6982"],
      profiles=P, needs=[Secret.CODE_B])
def opened_by_code_b(t: CaseContext) -> None:
    """
    1. SELECT the AP, SELECT EF 0015, VERIFY 照合番号B → 9000.
    2. READ BINARY EF 0002, 0003, 0006, 0007 → 9000; EF 0001 → 6982 (CI §7.1: **not** B).
    """
    t.select(TEXT)
    _access(t, TEXT_CODE_B, (0x0002, 0x0003, 0x0006, 0x0007), (0x0001,))


@case("TEXT-DATA-001", "EF 0001 is 17 bytes: FF 10 0C, a 12-digit My Number with a valid check digit, FF FF",
      refs=["§7.1/0001", "§4/text-0001-size", "§2/READ-BINARY", "§4/filler"], profiles=P, needs=[Secret.TEXT_PIN])
def my_number_layout(t: CaseContext) -> None:
    """
    1. SELECT the AP, VERIFY the PIN, SELECT EF 0001.
    2. READ BINARY `00 B0 00 00 11` → 9000, 17 bytes. READ BINARY `00 B0 00 00 00` → the same 17 bytes
       (fewer than Le at the end). READ BINARY at offset 17 → 6B00 (6282 tolerated, CI §12).
    3. Bytes: `FF 10 0C`, 12 ASCII digits whose check digit is right (jpki-system.md §4.1), `FF FF`.
    4. If 照合番号A is in the secrets file, the 12 digits equal it. (The number never enters the report.)
    """
    t.verify(TEXT_PIN)
    t.select_ef(0x0001)
    data = t.expect(apdus.read_binary(0, 0x11), "READ BINARY EF 0001, 17 bytes").data
    t.check(len(data) == 17, f"EF 0001 read {len(data)} bytes, expected 17")
    again = t.expect(apdus.read_binary(0, 256), "READ BINARY EF 0001 with Le=00").data
    t.check(again == data, f"READ BINARY with Le=00 returned {len(again)} bytes; the EF is 17 bytes")
    t.expect(apdus.read_binary(17, 1), "READ BINARY EF 0001 at 17", 0x6B00,
             variants={0x6282: "MC also accepts 6282 at the end of file (CI §12)"})
    t.check(data[:3] == b"\xff\x10\x0c" and data[15:] == b"\xff\xff", "EF 0001 is not FF 10 0C <12 digits> FF FF")
    t.check(valid_my_number(data[3:15]), "EF 0001 does not hold 12 digits with a valid My Number check digit")
    code_a = t.session.secrets.get(Secret.CODE_A)
    if code_a is not None:
        t.check(data[3:15] == code_a, "the My Number in EF 0001 differs from 照合番号A in the secrets file")


def read_four_facts(t: CaseContext):  # noqa: ANN201 - (physical bytes, FF 20 element)
    data = t.read_object(0x0002, "EF 0002 (基本4情報)")
    try:
        return data, parse_single(data, 0xFF20, "EF 0002")
    except DataError as exc:
        t.fail(str(exc))


@case("TEXT-DATA-002", "EF 0002 (基本4情報) is FF 20 {DF21 offsets, DF22 name, DF23 address, DF24 birth, DF25 sex}",
      refs=["§7.2/layout", "§7.1/0002", "§13/D"], profiles=P, needs=[Secret.TEXT_PIN])
def four_facts_layout(t: CaseContext) -> None:
    """
    1. SELECT the AP, VERIFY the PIN, read EF 0002 sized from its `FF 20` header.
    2. `DF21` holds four u16 offsets from the start of the file that point at DF22, DF23, DF24, DF25.
    3. DF22 (name) and DF23 (address) are UTF-8; the name has a U+3000 between family and given name
       (noted if absent); DF24 is 8 digits YYYYMMDD; DF25 is "1", "2", "9" or "0".
    """
    t.verify(TEXT_PIN)
    _, outer = read_four_facts(t)
    try:
        offset_table(outer, 0xDF21, [0xDF22, 0xDF23, 0xDF24, 0xDF25], "EF 0002")
        parts = children(outer, "EF 0002")
    except DataError as exc:
        t.fail(str(exc))
    for tag, what in ((0xDF22, "name"), (0xDF23, "address")):
        try:
            text = parts[tag].value.decode("utf-8")
        except UnicodeDecodeError:
            t.fail(f"the {what} (DF{tag & 0xFF:02X}) is not UTF-8")
        t.check(bool(text), f"the {what} is empty")
        if tag == 0xDF22 and "\u3000" not in text:
            t.note("the name has no U+3000 between family and given name")
    birth = parts[0xDF24].value
    t.check(len(birth) == 8 and birth.isdigit() and 1 <= int(birth[4:6]) <= 12, "DF24 is not a date YYYYMMDD")
    t.check(parts[0xDF25].value in (b"1", b"2", b"9", b"0"), "DF25 (sex) is not 1, 2, 9 or 0")


@case("TEXT-DATA-003", "The integrity record EF 0003 hashes EF 0001 and EF 0002 and its signature verifies with the EF 0004 key",
      refs=["§7.1/0003", "§7.1/0004", "§7.3/cv-cert"], profiles=P, needs=[Secret.TEXT_PIN])
def integrity_record(t: CaseContext) -> None:
    """
    1. SELECT the AP, VERIFY the PIN. Read EF 0001 (17 physical bytes), EF 0002 (sized from its header),
       EF 0003 (sized from its header) and EF 0004.
    2. EF 0003 is `FF 30 82 01 4B` (336 bytes) with DF31 (32), DF32 (32), DF33 (256).
    3. DF31 = SHA-256 of the 17 bytes of EF 0001; DF32 = SHA-256 of EF 0002's value from DF22 to its end
       (the DF21 table skipped).
    4. DF33 verifies as sha256WithRSA over the DF31 and DF32 TLVs with the key certified in EF 0004.
    """
    t.verify(TEXT_PIN)
    t.select_ef(0x0001)
    my_number = t.expect(apdus.read_binary(0, 0x11), "READ BINARY EF 0001").data
    _, four = read_four_facts(t)
    record = t.read_object(0x0003, "EF 0003 (integrity record)")
    try:
        outer = parse_single(record, 0xFF30, "EF 0003")
        parts = children(outer, "EF 0003")
        require_tags(parts, [0xDF31, 0xDF32, 0xDF33], "EF 0003")
    except DataError as exc:
        t.fail(str(exc))
    t.check(len(record) == 336, f"EF 0003 holds a {len(record)}-byte record, expected 336")
    t.check(parts[0xDF31].value == hashlib.sha256(my_number).digest(), "DF31 is not SHA-256 of EF 0001's 17 bytes")
    table = children(four, "EF 0002")[0xDF21]
    after_table = four.value[len(table.encoded):] if four.value.startswith(table.encoded) else None
    t.check(after_table is not None, "EF 0002 does not start with its DF21 table")
    t.check(parts[0xDF32].value == hashlib.sha256(after_table or b"").digest(),
            "DF32 is not SHA-256 of EF 0002 from DF22 to its end")
    key = _cv_key(t)
    signed = parts[0xDF31].encoded + parts[0xDF32].encoded
    t.check(verifies_pkcs1_sha256(key, parts[0xDF33].value, signed),
            "DF33 does not verify over DF31+DF32 with the key certified in EF 0004")


@case("TEXT-DATA-004", "EF 0004 is a card-verifiable certificate 7F21 of the CI §7.3 shape",
      refs=["§7.1/0004", "§7.3/cv-cert"], profiles=P)
def cv_cert(t: CaseContext) -> None:
    """
    1. SELECT the AP. Read EF 0004 sized from its header (no key needed).
    2. `7F 21 82 02 33` { `5F 4E 82 01 29` body of 297 bytes = issuer key ID (16), subject key ID (16),
       `90 03 01 00 01 91 82 01 00` + 256-byte modulus; `5F 37 82 01 00` signature }.
    3. Both key IDs have the shape 7 ASCII digits + 2 bytes + 3 ASCII digits + 4 padding bytes.
    The signature cannot be checked on the card: the CA keys are not on it (CI §7.3).
    """
    check_cv_certificate_ef(t, TEXT)


@case("TEXT-DATA-005", "EF 0005 (AP basic info) is FF 40 {DF41 4 bytes, DF42 16, DF43 128}",
      refs=["§7.1/0005"], profiles=P)
def basic_info(t: CaseContext) -> None:
    """
    1. SELECT the AP. Read EF 0005 sized from its header (no key needed).
    2. `FF 40` with DF41 of 4 bytes (spec version, extended Lc/Le support, vendor), DF42 of 16 (key ID),
       DF43 of 128 bytes.
    """
    t.select(TEXT)
    data = t.read_object(0x0005, "EF 0005 (basic info)")
    try:
        parts = children(parse_single(data, 0xFF40, "EF 0005"), "EF 0005")
        require_tags(parts, [0xDF41, 0xDF42, 0xDF43], "EF 0005")
    except DataError as exc:
        t.fail(str(exc))
    for tag, size in ((0xDF41, 4), (0xDF42, 16), (0xDF43, 128)):
        t.check(len(parts[tag].value) == size, f"EF 0005 {tag:X} is {len(parts[tag].value)} bytes, expected {size}")


@case("TEXT-DATA-006", "EF 0006 is the SM key-transport key A1 {90 91}; EF 0007 is FF 50 {DF51 key, DF52 signature over DF51}",
      refs=["§7.1/0006", "§7.1/0007"], profiles=P, needs=[Secret.TEXT_PIN])
def key_files(t: CaseContext) -> None:
    """
    1. SELECT the AP, VERIFY the PIN. Read EF 0006 and EF 0007 sized from their headers, and EF 0004.
    2. EF 0006: `A1` { `90` e, `91` n } — an RSA-2048 public key.
    3. EF 0007: `FF 50 82 02 13` { `DF51 82 01 09` 90/91 RSA-2048 key; `DF52 82 01 00` signature }.
    4. DF52 verifies as sha256WithRSA over the DF51 TLV with the key certified in EF 0004.
    """
    t.verify(TEXT_PIN)
    sm_key = t.read_object(0x0006, "EF 0006 (SM key)")
    ap_key = t.read_object(0x0007, "EF 0007 (AP key)")
    try:
        transport = rsa_from_90_91(parse_single(sm_key, 0xA1, "EF 0006").value, "EF 0006")
        parts = children(parse_single(ap_key, 0xFF50, "EF 0007"), "EF 0007")
        require_tags(parts, [0xDF51, 0xDF52], "EF 0007")
        own = rsa_from_90_91(parts[0xDF51].value, "EF 0007 DF51")
    except DataError as exc:
        t.fail(str(exc))
    t.check(transport.key_size == 2048 and own.key_size == 2048, "EF 0006 or EF 0007 does not hold an RSA-2048 key")
    key = _cv_key(t)
    t.check(verifies_pkcs1_sha256(key, parts[0xDF52].value, parts[0xDF51].encoded),
            "DF52 does not verify over DF51 with the key certified in EF 0004")


@case("TEXT-DATA-007", "EF 0008 holds 16 × FF",
      refs=["§7.1/0008"], profiles=P)
def ef_0008(t: CaseContext) -> None:
    """
    1. SELECT the AP, SELECT EF 0008, READ BINARY `00 B0 00 00 00` → 9000 with 16 bytes of FF.
    """
    t.select(TEXT)
    t.select_ef(0x0008)
    data = t.expect(apdus.read_binary(0, 256), "READ BINARY EF 0008").data
    t.check(data == b"\xff" * 16, f"EF 0008 is {len(data)} bytes, not 16 × FF")


@case("TEXT-SIG-001", "80 2A 00 00 signs a DigestInfo with no credential; it verifies with the DF51 key of EF 0007",
      refs=["§7.1/signature", "§2/COMPUTE-DIGITAL-SIGNATURE", "§7.1/0007"], profiles=P, needs=[Secret.TEXT_PIN])
def ap_signature(t: CaseContext) -> None:
    """
    1. SELECT the AP (nothing verified). `80 2A 00 00 33 <SHA-256 DigestInfo> 00` → 9000, 256 bytes.
    2. VERIFY the PIN, read EF 0007, take the DF51 key.
    3. The signature verifies as PKCS#1 v1.5 SHA-256 over the message (card presence, CI §7.1).
    """
    t.select(TEXT)
    signature = t.expect(apdus.compute_signature(of_message("sha256", MESSAGE), p2=0x00),
                         "COMPUTE DIGITAL SIGNATURE 80 2A 00 00 with nothing verified").data
    t.check(len(signature) == 256, f"the AP signature is {len(signature)} bytes, expected 256")
    t.verify(TEXT_PIN)
    try:
        parts = children(parse_single(t.read_object(0x0007, "EF 0007"), 0xFF50, "EF 0007"), "EF 0007")
        key = rsa_from_90_91(parts[0xDF51].value, "EF 0007 DF51")
    except (DataError, KeyError) as exc:
        t.fail(f"EF 0007 holds no usable DF51 key ({exc})")
    t.check(verifies_pkcs1_sha256(key, signature, MESSAGE), "the 80 2A 00 00 signature does not verify with the DF51 key")


@case("TEXT-AUTH-001", "INTERNAL AUTHENTICATE with the AP's key is refused with 6985",
      refs=["§2/INTERNAL-AUTHENTICATE", "§3/6985"], profiles=P)
def no_internal_authenticate(t: CaseContext) -> None:
    """
    1. SELECT the AP. `00 88 00 00 08 <8 bytes> 00` (the AP's default key) → 6985 (CI §3: INTERNAL
       AUTHENTICATE with 券面 keys).
    """
    t.select(TEXT)
    t.expect(apdus.internal_authenticate(bytes(8), p2=0x00), "INTERNAL AUTHENTICATE with the AP key", 0x6985)


@case("TEXT-SM-001", "SET SESSION KEY without the PIN is refused with 6982; SM READ without a session with 69FC",
      refs=["§2/SET-SESSION-KEY", "§3/6982", "§3/69FC", "§11/other-APs"], profiles=P)
def set_session_key_without_pin(t: CaseContext) -> None:
    """
    1. SELECT the AP (nothing verified). `80 AE 00 00 02 00 00` → 6982 (CI §3, §11: SET SESSION KEY
       needs the PIN verified in clear first).
    2. SELECT EF 0005. `08 B0 00 00 04` (SM CLA, no session) → 69FC.
    """
    t.select(TEXT)
    t.expect(apdus.set_session_key(b"\x00\x00"), "SET SESSION KEY with nothing verified", 0x6982)
    t.select_ef(0x0005)
    t.expect(apdus.read_binary(0, 4, cla=0x08), "READ BINARY with SM CLA and no session", 0x69FC)
