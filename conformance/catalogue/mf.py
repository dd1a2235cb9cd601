"""MF: the power-on state, the MF-level GET DATA objects and GET CHALLENGE (CI §1, §2, §4, §10)."""

from __future__ import annotations

from mynacard.codec import tlv
from mynacard.conformance import apdus
from mynacard.conformance.atr import AtrError, parse_atr
from mynacard.conformance.card_map import COMMON, ISD_AID, JPKI
from mynacard.conformance.catalogue.registry import case
from mynacard.conformance.checks import DataError, cv_certificate, verifies_pkcs1_sha256
from mynacard.conformance.context import CaseContext
from mynacard.conformance.model import Profile

MF, EXT = Profile.MF, Profile.EXTENDED_LENGTH


@case("MF-FS-001", "The MF holds no readable EF: 001E selects but READ answers 6981; 2F10/2F11 answer 6A82",
      refs=["§4/MF", "§3/6981", "§3/6A82"], profiles=[MF])
def mf_files(t: CaseContext) -> None:
    """
    1. Reset. SELECT EF 001E → 9000; READ BINARY `00 B0 00 00 01` → 6981.
    2. SELECT EF 2F10 → 6A82; SELECT EF 2F11 → 6A82 (no EF.DIR, no EF.ATR).
    """
    t.select_ef(0x001E)
    t.expect(apdus.read_binary(0, 1), "READ BINARY EF 001E at the MF", 0x6981)
    t.expect(apdus.select_ef(0x2F10), "SELECT EF 2F10", 0x6A82)
    t.expect(apdus.select_ef(0x2F11), "SELECT EF 2F11", 0x6A82)


def _get_data(t: CaseContext, tag: int, label: str) -> bytes:
    """GET DATA at the MF with the largest short Le, else (6700) with extended Le."""
    response = t.send(apdus.get_data(tag, 256), f"GET DATA {tag:04X} ({label}), short Le")
    if response.sw == 0x6700 and Profile.EXTENDED_LENGTH in t.session.profiles:
        response = t.send(apdus.get_data(tag, 65536, extended=True), f"GET DATA {tag:04X} ({label}), extended Le")
    if response.sw != 0x9000:
        t.fail_sw(f"GET DATA {tag:04X} ({label})", (0x9000,), response.sw)
    return response.data


@case("MF-DATA-001", "GET DATA at the MF returns the identification objects 0042, 0045, 00F0, 00F2, 00F7",
      refs=["§2/GET-DATA", "§10/0042", "§10/0045", "§10/00F0", "§10/00F2", "§10/00F7"], profiles=[MF])
def mf_identification(t: CaseContext) -> None:
    """
    1. Reset. GET DATA `00 CA 00 42 00` → 9000, 16 bytes (issuer key ID).
    2. GET DATA 0045 → 9000, printable ASCII (card identification number).
    3. GET DATA 00F0 → 9000, 5 ASCII digits (municipality code).
    4. GET DATA 00F2 → 9000, 8 ASCII digits forming a date YYYYMMDD (expiry).
    5. GET DATA 00F7 → 9000, 16 bytes (key ID of the intermediate 7F21).
    """
    issuer = _get_data(t, 0x0042, "issuer identification")
    t.check(len(issuer) == 16, f"0042 is {len(issuer)} bytes, expected a 16-byte key ID")
    card_id = _get_data(t, 0x0045, "card identification number")
    t.check(bool(card_id) and all(0x20 <= b < 0x7F for b in card_id), "0045 is not printable ASCII")
    municipality = _get_data(t, 0x00F0, "municipality code")
    t.check(len(municipality) == 5 and municipality.isdigit(), "00F0 is not 5 ASCII digits")
    expiry = _get_data(t, 0x00F2, "expiry")
    t.check(len(expiry) == 8 and expiry.isdigit() and 1 <= int(expiry[4:6]) <= 12 and 1 <= int(expiry[6:]) <= 31,
            "00F2 is not a date YYYYMMDD")
    key_id = _get_data(t, 0x00F7, "intermediate key ID")
    t.check(len(key_id) == 16, f"00F7 is {len(key_id)} bytes, expected a 16-byte key ID")


@case("MF-DATA-002", "GET DATA 0066 returns GlobalPlatform card recognition data",
      refs=["§10/0066"], profiles=[MF])
def mf_card_recognition(t: CaseContext) -> None:
    """
    1. Reset. GET DATA `00 CA 00 66 00` → 9000.
    2. Expect the card recognition template `73` — inside the Card Data template `66` as GlobalPlatform
       writes it, or on its own (CI §10 does not say which; the form is noted) — whose first object
       is the GlobalPlatform OID `06 07 2A 86 48 86 FC 6B 01`.
    """
    data = _get_data(t, 0x0066, "card recognition data")
    try:
        element = tlv.parse(data)
        if element.tag == 0x66:
            t.note("0066 is wrapped in the Card Data template 66")
            element = tlv.parse(element.value)
        else:
            t.note("0066 is the 73 template without the Card Data template 66")
    except tlv.TlvError as exc:
        t.fail(f"0066 is not a TLV ({exc})")
    t.check(element.tag == 0x73, f"0066 holds tag {element.tag:X}, not the 73 card recognition template")
    t.check(element.value.startswith(bytes.fromhex("06072A864886FC6B01")),
            "the 73 template does not start with the GlobalPlatform OID 1.2.840.114283.1")


@case("MF-DATA-003", "The MF CV certificates 00F8 and 7F21 have the 7F21 shape and chain by key ID",
      refs=["§10/00F8", "§10/7F21", "§10/00F7", "§7.3/cv-cert", "§1/extended", "§3/6A88"], profiles=[MF])
def mf_cv_certificates(t: CaseContext) -> None:
    """
    1. Reset. GET DATA 00F8 (short Le, then extended Le if the card says 6700) → 9000; parse the
       `7F21` contents: 297-byte body (issuer key ID, subject key ID, 90/91 RSA-2048 key), 256-byte
       signature (CI §7.3). Its subject key ID equals GET DATA 00F7.
    2. GET DATA 7F21 → 9000 with the same shape, issued by the 00F8 key (its issuer key ID = 00F8's
       subject key ID) and signed by it (PKCS#1 v1.5 SHA-256 over the body); or 6A88 — "absent on
       older cards" (CI §10) — reported as a note.
    """
    intermediate_raw = _get_data(t, 0x00F8, "root → intermediate CV certificate")
    wrapped = intermediate_raw if intermediate_raw[:2] == b"\x7F\x21" else _wrap_7f21(intermediate_raw)
    try:
        intermediate = cv_certificate(wrapped, "GET DATA 00F8")
    except DataError as exc:
        t.fail(str(exc))
    key_id = _get_data(t, 0x00F7, "intermediate key ID")
    t.check(intermediate.subject_key_id == key_id, "the subject key ID of 00F8 differs from GET DATA 00F7")
    response = t.send(apdus.get_data(0x7F21, 256), "GET DATA 7F21, short Le")
    if response.sw == 0x6700 and EXT in t.session.profiles:
        response = t.send(apdus.get_data(0x7F21, 65536, extended=True), "GET DATA 7F21, extended Le")
    if response.sw == 0x6A88:
        t.note("GET DATA 7F21 → 6A88: the card has no intermediate → card CV certificate (older cards, CI §10)")
        return
    if response.sw != 0x9000:
        t.fail_sw("GET DATA 7F21", (0x9000, 0x6A88), response.sw)
    raw = response.data if response.data[:2] == b"\x7F\x21" else _wrap_7f21(response.data)
    try:
        card_cert = cv_certificate(raw, "GET DATA 7F21")
    except DataError as exc:
        t.fail(str(exc))
    t.check(card_cert.issuer_key_id == intermediate.subject_key_id,
            "the 7F21 certificate is not issued by the 00F8 key (issuer key ID differs)")
    t.check(verifies_pkcs1_sha256(intermediate.public_key, card_cert.signature, card_cert.body),
            "the 7F21 certificate's signature does not verify with the 00F8 key")


def _wrap_7f21(contents: bytes) -> bytes:
    """CI §10 says 00F8 holds "the contents of a 7F21 template": put the template back around it."""
    n = len(contents)
    length = bytes((n,)) if n < 0x80 else b"\x81" + bytes((n,)) if n < 0x100 else b"\x82" + n.to_bytes(2, "big")
    return b"\x7F\x21" + length + contents


@case("MF-DATA-004", "GET DATA of a large object with a short Le answers 6700; extended Le returns it whole",
      refs=["§1/extended", "§3/6700", "§10/00F8"], profiles=[MF, EXT])
def mf_large_object_short_le(t: CaseContext) -> None:
    """
    1. Reset. GET DATA 00F8 with Le=00 (256) → 6700: the object is larger than 256 bytes (CI §1).
    2. GET DATA 00F8 with extended Le `00 00 00` → 9000 with more than 256 bytes.
    """
    t.expect(apdus.get_data(0x00F8, 256), "GET DATA 00F8 with short Le", 0x6700)
    whole = t.expect(apdus.get_data(0x00F8, 65536, extended=True), "GET DATA 00F8 with extended Le").data
    t.check(len(whole) > 256, f"00F8 is only {len(whole)} bytes with extended Le")


@case("MF-DATA-005", "GET DATA of a tag the card does not hold answers 6A88, at the MF and in an AP",
      refs=["§3/6A88", "§2/GET-DATA"], profiles=[MF, Profile.JPKI])
def mf_absent_object(t: CaseContext) -> None:
    """
    1. Reset. GET DATA `00 CA 01 01 00` → 6A88.
    2. SELECT JPKI. GET DATA 00F0 → 6A88: the MF objects are MF-level only (CI §10).
    """
    t.expect(apdus.get_data(0x0101), "GET DATA 0101", 0x6A88)
    t.select(JPKI)
    t.expect(apdus.get_data(0x00F0), "GET DATA 00F0 with JPKI selected", 0x6A88)


@case("MF-DATA-006", "GET DATA 5F51 returns the card's contact ATR without TS, at the MF or in an AP",
      refs=["§10/5F51", "§1/T=1"], profiles=[MF, Profile.JPKI])
def mf_contact_atr(t: CaseContext) -> None:
    """
    1. Reset. GET DATA `00 CA 5F 51 00` at the MF. If 6A88, SELECT JPKI and ask again: "some cards
       answer at MF level, others only with an AP selected" (CI §1) — both pass, the place is noted.
    2. `3B` + the value must parse as an ATR announcing T=1 with a correct TCK.
    3. Through a contact reader it must equal the ATR the reader reports.
    """
    response = t.send(apdus.get_data(0x5F51), "GET DATA 5F51 at the MF")
    where = "at the MF"
    if response.sw == 0x6A88:
        t.select(JPKI)
        response = t.send(apdus.get_data(0x5F51), "GET DATA 5F51 with JPKI selected")
        where = "only with an AP selected"
    if response.sw != 0x9000:
        t.fail_sw("GET DATA 5F51", (0x9000,), response.sw)
    t.note(f"GET DATA 5F51 answers {where}")
    atr = b"\x3B" + response.data
    try:
        parsed = parse_atr(atr)
    except AtrError as exc:
        t.fail(f"3B + GET DATA 5F51 is not an ATR: {exc}")
    t.check(1 in parsed.protocols and parsed.tck_ok, "the ATR from 5F51 does not announce T=1 with a correct TCK")
    if Profile.CONTACT in t.session.profiles:
        reported = t.session.recorder.transport.atr
        t.check(atr == reported, f"5F51 gives {atr.hex().upper()}, the reader reports {reported.hex().upper()}")


@case("MF-DATA-007", "The MF municipality code and expiry equal those of the 共通AP record",
      refs=["§10/00F0", "§10/00F2", "§9/common-0001"], profiles=[MF, Profile.COMMON])
def mf_matches_common(t: CaseContext) -> None:
    """
    1. Reset. GET DATA 00F0 and 00F2.
    2. SELECT 共通AP, READ RECORD 1 of EF 0001 (`00 B2 01 0C 00`): `01 1C` + 15-digit serial,
       5-digit municipality code, expiry YYYYMMDD.
    3. Expect the municipality code and expiry to be the same in both places.
    """
    municipality = _get_data(t, 0x00F0, "municipality code")
    expiry = _get_data(t, 0x00F2, "expiry")
    t.select(COMMON)
    record = t.expect(apdus.read_record(1, 0x0C), "READ RECORD 1 of EF 0001 by SFI").data
    t.check(len(record) == 30 and record[:2] == b"\x01\x1C", "the 共通AP record is not 01 1C + 28 digits")
    t.check(record[17:22] == municipality, "the municipality code of 00F0 differs from the 共通AP record")
    t.check(record[22:30] == expiry, "the expiry of 00F2 differs from the 共通AP record")


@case("MF-CHAL-001", "GET CHALLENGE returns exactly Le random bytes for Le 1, 8 and 256, at the MF and in an AP",
      refs=["§2/GET-CHALLENGE", "§3/9000"], profiles=[MF, Profile.JPKI])
def get_challenge(t: CaseContext) -> None:
    """
    1. Reset. GET CHALLENGE `00 84 00 00 01`, `… 08`, `… 00` → 9000 with 1, 8, 256 bytes.
    2. Two 8-byte challenges differ; the 256-byte one is not constant.
    3. SELECT JPKI. GET CHALLENGE `… 08` → 9000, 8 bytes.
    """
    for le in (1, 8, 256):
        data = t.expect(apdus.get_challenge(le), f"GET CHALLENGE Le={le}").data
        t.check(len(data) == le, f"GET CHALLENGE Le={le} returned {len(data)} bytes")
        if le == 256:
            t.check(len(set(data)) > 16, "256 bytes of challenge hold fewer than 17 distinct values")
    a = t.expect(apdus.get_challenge(8), "GET CHALLENGE Le=8 (again)").data
    b = t.expect(apdus.get_challenge(8), "GET CHALLENGE Le=8 (once more)").data
    t.check(a != b, "two 8-byte challenges are equal")
    t.select(JPKI)
    data = t.expect(apdus.get_challenge(8), "GET CHALLENGE Le=8 in the JPKI AP").data
    t.check(len(data) == 8, f"GET CHALLENGE in JPKI returned {len(data)} bytes")


@case("MF-CHAL-002", "GET CHALLENGE with an extended Le is refused with 6985",
      refs=["§2/GET-CHALLENGE", "§1/extended", "§3/6985"], profiles=[MF, EXT])
def get_challenge_extended(t: CaseContext) -> None:
    """
    1. Reset. GET CHALLENGE `00 84 00 00 00 00 08` (extended Le 8) → 6985 (CI §1).
    """
    t.expect(apdus.get_challenge(8, extended=True), "GET CHALLENGE with extended Le", 0x6985)


@case("MF-STATE-001", "After the ISD SELECT the MF objects answer again, as after reset",
      refs=["§2/SELECT-ISD", "§10/00F0"], profiles=[MF, Profile.JPKI])
def isd_restores_get_data(t: CaseContext) -> None:
    """
    1. SELECT JPKI. GET DATA 00F0 → 6A88 (not at MF level).
    2. SELECT the ISD `A0 00 00 01 51 00 00` → 9000. GET DATA 00F0 → 9000, 5 digits (CI §10:
       "no AP selected, or after SELECT ISD").
    """
    t.select(JPKI)
    t.expect(apdus.get_data(0x00F0), "GET DATA 00F0 in JPKI", 0x6A88)
    t.expect(apdus.select_aid(ISD_AID), "SELECT the ISD")
    data = t.expect(apdus.get_data(0x00F0), "GET DATA 00F0 after the ISD SELECT").data
    t.check(len(data) == 5 and data.isdigit(), "00F0 after the ISD SELECT is not 5 digits")
