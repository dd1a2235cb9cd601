"""CORE: what the card OS does whatever AP is selected — ATR, channels, INS and length errors,
the SELECT forms (CI §1–§3, §5)."""

from __future__ import annotations

from mynacard.conformance import apdus
from mynacard.conformance.atr import AtrError, parse_atr
from mynacard.conformance.card_map import APPLICATIONS, EF_AUTH_CERT, ISD_AID, JPKI
from mynacard.conformance.catalogue.registry import case
from mynacard.conformance.context import CaseContext
from mynacard.conformance.model import Profile

CORE, CONTACT, CONTACTLESS = Profile.CORE, Profile.CONTACT, Profile.CONTACTLESS

#: INS values no ISO 7816-4, GlobalPlatform or JICSAP command uses: safe to send to a real card.
#: (Never probe with an unknown-but-assigned INS: FE TERMINATE CARD or 0E ERASE would not be unknown.)
UNASSIGNED_INS = (0x02, 0x5A, 0x7E)


@case("CORE-ATR-001", "A contact ATR is well formed, announces T=1 and has a correct TCK",
      refs=["§1/T=1"], profiles=[CORE, CONTACT])
def contact_atr(t: CaseContext) -> None:
    """
    1. Take the ATR the reader reports for the card.
    2. Parse it as ISO/IEC 7816-3: TS, T0, interface bytes, historical bytes, TCK.
    3. Expect T=1 among the protocols announced in TDi and TCK such that T0 ⊕ … ⊕ TCK = 00.
    """
    atr = t.session.recorder.transport.atr
    try:
        parsed = parse_atr(atr)
    except AtrError as exc:
        t.fail(f"the ATR {atr.hex().upper()} is not well formed: {exc}")
    t.check(1 in parsed.protocols, f"the ATR {atr.hex().upper()} announces protocols {parsed.protocols}, not T=1")
    t.check(parsed.tck_ok, f"the ATR {atr.hex().upper()} has a wrong or missing TCK")


@case("CORE-ATR-002", "A contactless ATR has the PC/SC part 3 form and a correct TCK",
      refs=["§1/contactless-ATR"], profiles=[CORE, CONTACTLESS])
def contactless_atr(t: CaseContext) -> None:
    """
    1. Take the ATR the reader synthesised for the Type B card.
    2. Expect `3B 8n 80 01`, n historical bytes (from ATQB, possibly none) and a correct TCK.
    Where it comes from the reader, a wrong ATR is the reader's fault: the report names the reader.
    """
    atr = t.session.recorder.transport.atr
    try:
        parsed = parse_atr(atr)
    except AtrError as exc:
        t.fail(f"the ATR {atr.hex().upper()} is not well formed: {exc}")
    t.check(parsed.contactless, f"the ATR {atr.hex().upper()} is not of the form 3B 8n 80 01 …")
    t.check(parsed.tck_ok, f"the ATR {atr.hex().upper()} has a wrong TCK")


@case("CORE-CHAN-001", "SELECT on logical channels other than 0 is refused with 6881 and selects nothing",
      refs=["§1/channel", "§3/6881", "§3/6A82"], profiles=[CORE])
def channels_select(t: CaseContext) -> None:
    """
    1. Reset. SELECT the JPKI AP with CLA 01, 02, 03 (basic channels 1–3) and CLA 40 (channel 4,
       further-channel coding) → 6881 each.
    2. SELECT EF 000A on channel 0 → 6A82: the refused SELECTs did not select the JPKI AP.
    """
    for cla in (0x01, 0x02, 0x03, 0x40):
        t.expect(apdus.select_aid(JPKI.aid, cla=cla), f"SELECT JPKI on CLA {cla:02X}", 0x6881)
    t.expect(apdus.select_ef(EF_AUTH_CERT), "SELECT EF 000A on channel 0 (no AP selected)", 0x6A82)


@case("CORE-CHAN-002", "READ BINARY and the VERIFY query on channel 1 are refused with 6881",
      refs=["§1/channel", "§3/6881"], profiles=[CORE, Profile.JPKI])
def channels_in_ap(t: CaseContext) -> None:
    """
    1. SELECT JPKI, SELECT EF 000A.
    2. READ BINARY `01 B0 00 00 04` → 6881.
    3. SELECT EF 0018, VERIFY query `01 20 00 80` → 6881; on channel 0 → 63Cx (nothing spent).
    """
    t.select(JPKI)
    t.select_ef(EF_AUTH_CERT)
    t.expect(apdus.read_binary(0, 4, cla=0x01), "READ BINARY on channel 1", 0x6881)
    t.select_ef(0x0018)
    t.expect(apdus.verify(0x80, cla=0x01), "VERIFY query on channel 1", 0x6881)
    response = t.send(apdus.verify(0x80), "VERIFY query on channel 0")
    t.check(response.sw & 0xFFF0 == 0x63C0,
            f"the VERIFY query on channel 0 answered {response.sw:04X}, expected 63Cx")


@case("CORE-INS-001", "An INS no command uses is answered 6D00, at the MF and in an AP",
      refs=["§3/6D00"], profiles=[CORE])
def unknown_ins(t: CaseContext) -> None:
    """
    1. Reset. Send `00 02 00 00`, `00 5A 00 00`, `00 7E 00 00` (INS unassigned in ISO 7816-4,
       GlobalPlatform and JICSAP) → 6D00 each.
    2. SELECT JPKI and send them again → 6D00 each.
    """
    for where in ("at the MF", "in the JPKI AP"):
        if where != "at the MF":
            t.select(JPKI)
        for ins in UNASSIGNED_INS:
            t.expect(bytes((0x00, ins, 0x00, 0x00)), f"INS {ins:02X} {where}", 0x6D00)


@case("CORE-INS-002", "80 FC 00 00 (the iPhone token's last command) is answered 6700 by a card",
      refs=["§2/80FC", "§3/6700"], profiles=[CORE, Profile.JPKI])
def last_command(t: CaseContext) -> None:
    """
    1. SELECT JPKI.
    2. Send `80 FC 00 00` → 6700 (CI §2: physical cards; the iPhone JPKI token answers otherwise).
    """
    t.select(JPKI)
    t.expect(bytes.fromhex("80FC0000"), "80 FC 00 00", 0x6700)


@case("CORE-LEN-001", "Malformed APDUs are answered 6700 and the card keeps answering",
      refs=["§3/6700"], profiles=[CORE])
def malformed(t: CaseContext) -> None:
    """
    1. Send each APDU whose length fields contradict its size → 6700:
       a. `00 A4 04 0C 0A D3 92 F0` — Lc 10, 3 data bytes;
       b. `00 A4 04 0C 02 D3 92 F0 00 26` — Lc 2, 5 bytes follow (not Lc+1);
       c. `00 B0 00 00 00 01` — an extended length field cut short;
       d. `00 A4 04 0C 00 00 0A D3 92` — extended Lc 10, 2 data bytes.
    2. SELECT JPKI → 9000: the card is still answering normally.
    """
    for raw, what in (
        ("00A4040C0AD392F0", "Lc larger than the data"),
        ("00A4040C02D392F00026", "Lc smaller than the data"),
        ("00B00000 0001", "truncated extended length"),
        ("00A4040C00000AD392", "extended Lc larger than the data"),
    ):
        t.expect(bytes.fromhex(raw.replace(" ", "")), f"malformed APDU: {what}", 0x6700)
    t.select(JPKI)


@case("CORE-SEL-001", "SELECT by AID of each of the five APs answers 9000 with no data",
      refs=["§2/SELECT-AID", "§5/JPKI", "§5/TEXT", "§5/VISUAL", "§5/COMMON", "§5/JUKI", "§3/9000"],
      profiles=[CORE])
def select_every_ap(t: CaseContext) -> None:
    """
    1. For each AP of CI §5 (JPKI, 券面事項入力補助, 券面事項確認, 共通, 住基): `00 A4 04 0C 0A <AID>`
       → 9000 with no response data (P2=0C: no FCI).
    """
    for app in APPLICATIONS:
        response = t.expect(apdus.select_aid(app.aid), f"SELECT {app.name}")
        t.check(not response.data, f"SELECT {app.name} with P2=0C returned {len(response.data)} bytes of data")


@case("CORE-SEL-002", "SELECT of an AID no AP has is answered 6A82",
      refs=["§2/SELECT-AID", "§3/6A82"], profiles=[CORE])
def select_unknown_aid(t: CaseContext) -> None:
    """
    1. SELECT `D3 92 F0 00 26 01 00 00 00 FF` (JPKI's AID with the last byte changed) → 6A82.
    2. SELECT `A0 00 00 00 03 10 10` (an EMV AID) → 6A82.
    CI §3 says no source records this SW; 6A82 is DESIGN.md's rule and ISO 7816-4's "file not found".
    """
    t.expect(apdus.select_aid(bytes.fromhex("D392F0002601000000FF")), "SELECT an unknown My Number-like AID", 0x6A82)
    t.expect(apdus.select_aid(bytes.fromhex("A0000000031010")), "SELECT an EMV AID", 0x6A82)


@case("CORE-SEL-003", "SELECT by a unique prefix of an AID selects that AP (JICSAP partial name)",
      refs=["§2/SELECT-AID-prefix"], profiles=[CORE, Profile.JPKI])
def select_prefix(t: CaseContext) -> None:
    """
    1. Reset. SELECT `D3 92 F0 00 26 01` (the first 6 bytes of the JPKI AID, no other AP shares them)
       → 9000.
    2. SELECT EF 000A → 9000 and READ BINARY `00 B0 00 00 04` → `30 82 …`: the JPKI AP is selected.
    """
    t.expect(apdus.select_aid(JPKI.aid[:6]), "SELECT by the JPKI AID prefix D392F0002601")
    t.select_ef(EF_AUTH_CERT)
    head = t.expect(apdus.read_binary(0, 4), "READ BINARY the auth certificate header").data
    t.check(head[:2] == b"\x30\x82", "EF 000A after a prefix SELECT does not start with 30 82")


@case("CORE-SEL-004", "SELECT EF by FID: absent FIDs answer 6A82; an EF FID with no AP selected answers 6A82",
      refs=["§2/SELECT-EF", "§3/6A82"], profiles=[CORE, Profile.JPKI])
def select_ef_absent(t: CaseContext) -> None:
    """
    1. Reset. SELECT EF 000A with no AP selected → 6A82 (the MF holds no such EF).
    2. SELECT JPKI. SELECT EF 0003, 0004, 000C and 001F (not in JPKI, CI §4) → 6A82 each.
    3. SELECT EF 000A → 9000: a failed SELECT EF does not leave the AP.
    """
    t.expect(apdus.select_ef(EF_AUTH_CERT), "SELECT EF 000A at the MF", 0x6A82)
    t.select(JPKI)
    for fid in (0x0003, 0x0004, 0x000C, 0x001F):
        t.expect(apdus.select_ef(fid), f"SELECT absent EF {fid:04X}", 0x6A82)
    t.select_ef(EF_AUTH_CERT)


@case("CORE-MF-001", "00 A4 00 00 after reset answers 6A86; 3F00 by FID answers 6A82",
      refs=["§2/SELECT-MF", "§3/6A86", "§3/6A82"], profiles=[CORE, Profile.MF])
def select_mf_after_reset(t: CaseContext) -> None:
    """
    1. Reset. `00 A4 00 00` → 6A86.
    2. `00 A4 02 0C 02 3F 00` → 6A82 (the MF cannot be selected by its FID).
    """
    t.expect(apdus.select_mf(), "00 A4 00 00 after reset", 0x6A86)
    t.expect(apdus.select_ef(0x3F00), "SELECT 3F00 by FID", 0x6A82)


@case("CORE-MF-002", "00 A4 00 00 with an AP selected answers 9000 and does not change the current DF",
      refs=["§2/SELECT-MF"], profiles=[CORE, Profile.MF, Profile.JPKI])
def select_mf_in_ap(t: CaseContext) -> None:
    """
    1. SELECT JPKI. `00 A4 00 00` → 9000.
    2. SELECT EF 000A → 9000 and READ BINARY header → `30 82 …`: JPKI is still the current DF.
    """
    t.select(JPKI)
    t.expect(apdus.select_mf(), "00 A4 00 00 with JPKI selected")
    t.select_ef(EF_AUTH_CERT)
    head = t.expect(apdus.read_binary(0, 4), "READ BINARY the auth certificate header").data
    t.check(head[:2] == b"\x30\x82", "after 00 A4 00 00 EF 000A no longer reads as the auth certificate")


@case("CORE-ISD-001", "SELECT of the GlobalPlatform ISD AID restores the power-on (MF) state",
      refs=["§2/SELECT-ISD", "§5/ISD"], profiles=[CORE, Profile.MF, Profile.JPKI])
def select_isd(t: CaseContext) -> None:
    """
    1. SELECT JPKI, SELECT EF 000A → 9000.
    2. SELECT `A0 00 00 01 51 00 00` → 9000.
    3. `00 A4 00 00` → 6A86 (its power-on answer) and SELECT EF 000A → 6A82: no AP is selected.
    """
    t.select(JPKI)
    t.select_ef(EF_AUTH_CERT)
    t.expect(apdus.select_aid(ISD_AID), "SELECT the ISD")
    t.expect(apdus.select_mf(), "00 A4 00 00 after the ISD SELECT", 0x6A86)
    t.expect(apdus.select_ef(EF_AUTH_CERT), "SELECT EF 000A after the ISD SELECT", 0x6A82)


@case("CORE-RSP-001", "GET RESPONSE with nothing pending is refused: the card never uses 61xx",
      refs=["§2/GET-RESPONSE"], profiles=[CORE, Profile.JPKI])
def get_response(t: CaseContext) -> None:
    """
    1. SELECT JPKI, SELECT EF 000A, READ BINARY 256 bytes → 9000 with 256 bytes (not 61xx).
    2. `00 C0 00 00 00` → any status but 9000 or 61xx: no response is pending (CI §2).
    """
    t.select(JPKI)
    t.select_ef(EF_AUTH_CERT)
    first = t.expect(apdus.read_binary(0, 256), "READ BINARY 256 bytes")
    t.check(len(first.data) == 256, f"READ BINARY with Le=00 returned {len(first.data)} bytes, expected 256")
    response = t.send(apdus.get_response(256), "GET RESPONSE with nothing pending")
    t.check(response.sw != 0x9000 and response.sw >> 8 != 0x61,
            f"GET RESPONSE with nothing pending answered {response.sw:04X}")
