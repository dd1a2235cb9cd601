"""COMMON and JUKI: the 共通AP and the 住基AP — record EFs, READ RECORD forms and errors, INTERNAL
AUTHENTICATE, and the two separate 001C PINs (CI §2, §3, §9, §11)."""

from __future__ import annotations

from mynacard.conformance import apdus
from mynacard.conformance.card_map import COMMON, COMMON_PIN, EF_AUTH_CERT, JPKI, JUKI, JUKI_PIN
from mynacard.conformance.catalogue.registry import case
from mynacard.conformance.context import CaseContext, shifted
from mynacard.conformance.model import Impact, Profile, Secret

C, J = Profile.COMMON, Profile.JUKI


@case("COM-REC-001", "共通AP EF 0001 record 1 is 01 1C + serial (15), municipality code (5), expiry (8) — no PIN",
      refs=["§9/common-0001", "§2/READ-RECORD"], profiles=[C])
def common_record(t: CaseContext) -> None:
    """
    1. SELECT the 共通AP, SELECT EF 0001, READ RECORD `00 B2 01 04 00` → 9000 with 30 bytes.
    2. `01 1C` + 28 ASCII digits: 15-digit card serial, 5-digit municipality code, expiry YYYYMMDD.
    """
    t.select(COMMON)
    t.select_ef(0x0001)
    record = t.expect(apdus.read_record(1, 0x04), "READ RECORD 1 of the current EF").data
    t.check(len(record) == 30 and record[:2] == b"\x01\x1c", "record 1 of EF 0001 is not 01 1C + 28 bytes")
    t.check(record[2:].isdigit(), "record 1 of EF 0001 is not 28 ASCII digits")
    expiry = record[22:30]
    t.check(1 <= int(expiry[4:6]) <= 12 and 1 <= int(expiry[6:8]) <= 31, "the expiry in record 1 is not YYYYMMDD")


@case("COM-REC-002", "READ RECORD by SFI (00 B2 01 0C) reads EF 0001 without SELECT",
      refs=["§2/READ-RECORD", "§9/common-0001"], profiles=[C])
def common_record_sfi(t: CaseContext) -> None:
    """
    1. SELECT the 共通AP, SELECT EF 0001, READ RECORD `00 B2 01 04 00` (the reference).
    2. SELECT the 共通AP again. READ RECORD `00 B2 01 0C 00` (SFI 1, MYNA's form) → the same 30 bytes.
    """
    t.select(COMMON)
    t.select_ef(0x0001)
    reference = t.expect(apdus.read_record(1, 0x04), "READ RECORD 1 after SELECT").data
    t.select(COMMON)
    by_sfi = t.expect(apdus.read_record(1, 0x0C), "READ RECORD 1 by SFI 1").data
    t.check(by_sfi == reference, "READ RECORD by SFI differs from READ RECORD after SELECT")


@case("COM-REC-003", "READ RECORD errors: absent record 6A83, multi-record 6A81, wrong file structure 6981",
      refs=["§3/6A83", "§3/6A81", "§3/6981", "§2/READ-RECORD"], profiles=[C, Profile.JPKI])
def record_errors(t: CaseContext) -> None:
    """
    1. SELECT the 共通AP, SELECT EF 0001. READ RECORD 2 `00 B2 02 04 00` → 6A83.
    2. READ RECORD `00 B2 01 05 00` (all records from 1) → 6A81.
    3. READ BINARY `00 B0 00 00 01` on the record EF → 6981.
    4. SELECT JPKI, SELECT EF 000A, READ RECORD `00 B2 01 04 00` on a transparent EF → 6981.
    """
    t.select(COMMON)
    t.select_ef(0x0001)
    t.expect(apdus.read_record(2, 0x04), "READ RECORD 2 of a one-record EF", 0x6A83)
    t.expect(apdus.read_record(1, 0x05), "READ RECORD all records from 1", 0x6A81)
    t.expect(apdus.read_binary(0, 1), "READ BINARY on a record EF", 0x6981)
    t.select(JPKI)
    t.select_ef(EF_AUTH_CERT)
    t.expect(apdus.read_record(1, 0x04), "READ RECORD on a transparent EF", 0x6981)


@case("COM-REC-004", "The 16-byte key reference record EF 0002 is the same in the 共通AP and the 住基AP",
      refs=["§9/common-0002", "§9/juki-0002", "§2/READ-RECORD"], profiles=[C, J])
def key_reference_records(t: CaseContext) -> None:
    """
    1. SELECT the 共通AP, SELECT EF 0002, READ RECORD `00 B2 01 04 00` → 9000, 16 bytes.
    2. SELECT the 住基AP, SELECT EF 0002, READ RECORD `00 B2 01 04 00` → the same 16 bytes.
    """
    t.select(COMMON)
    t.select_ef(0x0002)
    common = t.expect(apdus.read_record(1, 0x04), "READ RECORD 1 of 共通AP EF 0002").data
    t.check(len(common) == 16, f"共通AP EF 0002 record 1 is {len(common)} bytes, expected 16")
    t.select(JUKI)
    t.select_ef(0x0002)
    juki = t.expect(apdus.read_record(1, 0x04), "READ RECORD 1 of 住基AP EF 0002").data
    t.check(juki == common, "住基AP EF 0002 differs from 共通AP EF 0002")


@case("COM-AUTH-001", "INTERNAL AUTHENTICATE with key 0019 answers without a PIN, 256 bytes, deterministic",
      refs=["§9/common-0019", "§2/INTERNAL-AUTHENTICATE"], profiles=[C])
def internal_authenticate(t: CaseContext) -> None:
    """
    1. SELECT the 共通AP (nothing verified). `00 88 00 99 10 <16-byte challenge> 00` → 9000, 256 bytes.
    2. The same challenge again → the same 256 bytes (sha256WithRSA is deterministic, CI §2).
    3. Another challenge → different bytes. A 1-byte and a 255-byte challenge → 9000, 256 bytes each.
    (The public half of 0019 is not on the card, so the signature itself cannot be checked here.)
    """
    t.select(COMMON)
    challenge = bytes(range(16))
    first = t.expect(apdus.internal_authenticate(challenge), "INTERNAL AUTHENTICATE 16 bytes").data
    t.check(len(first) == 256, f"INTERNAL AUTHENTICATE returned {len(first)} bytes, expected 256")
    again = t.expect(apdus.internal_authenticate(challenge), "INTERNAL AUTHENTICATE the same challenge").data
    t.check(again == first, "the same challenge gave a different answer: not sha256WithRSA (PKCS#1 v1.5)")
    other = t.expect(apdus.internal_authenticate(challenge[::-1]), "INTERNAL AUTHENTICATE another challenge").data
    t.check(other != first, "two different challenges gave the same answer")
    for size in (1, 255):
        data = t.expect(apdus.internal_authenticate(bytes(size)), f"INTERNAL AUTHENTICATE {size} bytes").data
        t.check(len(data) == 256, f"INTERNAL AUTHENTICATE of {size} bytes returned {len(data)} bytes")


@case("COM-SM-001", "The 共通AP has no secure messaging: SET SESSION KEY answers 66F1",
      refs=["§11/other-APs", "§3/66F1"], profiles=[C])
def common_no_sm(t: CaseContext) -> None:
    """
    1. SELECT the 共通AP. `80 AE 00 00 02 00 00` → 66F1 (CI §11).
    """
    t.select(COMMON)
    t.expect(apdus.set_session_key(b"\x00\x00"), "SET SESSION KEY in the 共通AP", 0x66F1)


@case("JUKI-SM-001", "The 住基AP has no secure messaging: SET SESSION KEY answers 6982",
      refs=["§11/other-APs", "§3/6982"], profiles=[J])
def juki_no_sm(t: CaseContext) -> None:
    """
    1. SELECT the 住基AP. `80 AE 00 00 02 00 00` → 6982 (CI §11).
    """
    t.select(JUKI)
    t.expect(apdus.set_session_key(b"\x00\x00"), "SET SESSION KEY in the 住基AP", 0x6982)


@case("JUKI-PIN-031", "The 住基AP PIN is a key separate from the 共通AP PIN: changing one leaves the other",
      refs=["§9/juki-001C", "§9/common-001C", "§2/CHANGE-KEY"], profiles=[C, J],
      needs=[Secret.COMMON_PIN, Secret.JUKI_PIN], impact=Impact.CHANGES_SECRET, touches=[COMMON_PIN, JUKI_PIN])
def separate_pins(t: CaseContext) -> None:
    """
    1. SELECT the 共通AP, VERIFY its PIN, CHANGE KEY `80 32 00 80 04 <new>` → 9000.
    2. SELECT the 住基AP, SELECT EF 001C, VERIFY with the supplied 住基 PIN → 9000 (unchanged).
    3. SELECT the 共通AP, VERIFY with the new value → 9000, CHANGE KEY back to the supplied value → 9000,
       and VERIFY with it → 9000. (Changed back in any case before the case reports.)
    """
    original = t.secret(Secret.COMMON_PIN)
    new = shifted(original, 3)
    t.verify(COMMON_PIN)
    t.expect(apdus.change_key(new), "CHANGE KEY of the 共通AP PIN")
    try:
        t.verify(JUKI_PIN)
    finally:
        t.select(COMMON)
        t.select_ef(COMMON_PIN.fid)
        t.expect(apdus.verify(0x80, new), "VERIFY the 共通AP PIN with the new value")
        t.expect(apdus.change_key(original), "CHANGE KEY of the 共通AP PIN back")
    t.select(COMMON)
    t.select_ef(COMMON_PIN.fid)
    t.expect(apdus.verify(0x80, original), "VERIFY the 共通AP PIN with the supplied value")
