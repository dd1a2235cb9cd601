"""The clauses of card-interface.md the catalogue traces to: one key per command, status word, AP,
EF, object and flow of CI §1–§13.

A case names the clauses it checks (`refs`); the traceability matrix of the generated spec is this
table joined with the catalogue, and a test holds the catalogue to covering every clause here
except the few listed in OUT_OF_SCOPE with the reason a card-level test cannot check them.
"""

from __future__ import annotations

CLAUSES: dict[str, str] = {
    # §1 transport
    "§1/T=1": "contact ATRs announce T=1 in TD1",
    "§1/contactless-ATR": "contactless ATRs are synthesised by the reader (PC/SC part 3)",
    "§1/channel": "only logical channel 0; any other channel → 6881",
    "§1/extended": "extended length: whole EF in one READ BINARY, large GET DATA, extended GET CHALLENGE → 6985",
    # §2 commands
    "§2/SELECT-AID": "SELECT DF by AID 00 A4 04 0C",
    "§2/SELECT-AID-prefix": "SELECT by a prefix of the AID (JICSAP partial name)",
    "§2/SELECT-EF": "SELECT EF by FID 00 A4 02 0C",
    "§2/READ-BINARY": "READ BINARY with a 15-bit offset; short read at EOF; 6B00 beyond",
    "§2/READ-BINARY-SFI": "READ BINARY 00 B0 8s oo: SFI form, selects the EF",
    "§2/READ-RECORD": "READ RECORD 00 B2 rr 04 and 00 B2 01 0C",
    "§2/VERIFY": "VERIFY 00 20 00 80 with the PIN in ASCII",
    "§2/VERIFY-SFI": "VERIFY 00 20 00 80|SFI without SELECT",
    "§2/VERIFY-query": "VERIFY without data: 63Cx, never consumes a try",
    "§2/CHANGE-REFERENCE-DATA": "CHANGE REFERENCE DATA 00 24 01 80 after VERIFY",
    "§2/CHANGE-KEY": "CHANGE KEY 80 32 00 80 for 共通AP/住基AP 001C",
    "§2/COMPUTE-DIGITAL-SIGNATURE": "COMPUTE DIGITAL SIGNATURE 80 2A (JPKI P2=80 or 80|SFI; 券面 APs P1P2 0000)",
    "§2/INTERNAL-AUTHENTICATE": "INTERNAL AUTHENTICATE 00 88 00 99: only 共通AP key 0019 answers",
    "§2/GET-CHALLENGE": "GET CHALLENGE 00 84 00 00 Le: 1–256 bytes at MF level and in APs",
    "§2/GET-DATA": "GET DATA 00 CA t1 t2 of the MF-level objects",
    "§2/GET-RESPONSE": "GET RESPONSE 00 C0: the card never uses 61xx",
    "§2/SET-SESSION-KEY": "SET SESSION KEY 80 AE 00 00 (secure messaging, text AP only)",
    "§2/80A2": "80 A2 with P1P2 0000, 00AE, 8000, 00B6 → 6A86",
    "§2/80FC": "80 FC 00 00 → 6700 on physical cards",
    "§2/SELECT-MF": "00 A4 00 00: 6A86 after reset, 9000 without effect with an AP selected; 3F00 → 6A82",
    "§2/SELECT-ISD": "SELECT of the GlobalPlatform ISD AID restores the power-on (MF) state",
    "§2/FF-CA": "FF CA 00 00 00 reader pseudo-APDU for the UID",
    # §3 status words
    "§3/9000": "9000 OK",
    "§3/63Cx": "63Cx wrong PIN with x tries left; the VERIFY query answer",
    "§3/63C0": "63C0 the exhausting wrong try; the query answer of a blocked PIN",
    "§3/6984": "6984 VERIFY against a blocked PIN",
    "§3/6300": "6300 wrong value on a key without retry limit",
    "§3/6982": "6982 security status not satisfied",
    "§3/6A82": "6A82 file or application not found",
    "§3/6A86": "6A86 bad P1-P2",
    "§3/6B00": "6B00 READ BINARY offset outside the EF",
    "§3/6700": "6700 wrong length",
    "§3/6985": "6985 conditions of use not satisfied",
    "§3/6A88": "6A88 GET DATA object absent",
    "§3/6A83": "6A83 record not found",
    "§3/6A81": "6A81 function (multi-record READ RECORD) not supported",
    "§3/6981": "6981 command incompatible with the file structure",
    "§3/6881": "6881 logical channel not supported",
    "§3/6882": "6882 secure messaging not supported (SM CLA on SELECT)",
    "§3/69FC": "69FC secure-messaging session invalid",
    "§3/6987": "6987 SM data objects missing",
    "§3/6988": "6988 SM data objects incorrect",
    "§3/66F1": "66F1 SET SESSION KEY in an AP without SM",
    "§3/6D00": "6D00 INS not supported",
    "§3/no-6983": "6983 is never used: a blocked PIN answers 6984",
    "§3/counter-reset": "a successful VERIFY resets the counter to its maximum",
    # §4 file system
    "§4/filler": "transparent EFs padded with filler (FF) after the object",
    "§4/text-0001-size": "text-AP EF 0001 is 17 bytes physically",
    "§4/status-cleared-select": "security status cleared when a DF is selected",
    "§4/status-cleared-reset": "security status cleared when the card is reset",
    "§4/status-cleared-field": "security status cleared when the card leaves the field",
    "§4/MF": "MF holds no readable EF: 001E selectable but READ → 6981; 2F10/2F11 → 6A82",
    "§4/EF-map": "the FIDs selectable in each AP (JSA-DUMP enumeration)",
    # §5 applications
    "§5/JPKI": "公的個人認証AP AID",
    "§5/TEXT": "券面事項入力補助AP AID",
    "§5/VISUAL": "券面事項確認AP AID",
    "§5/COMMON": "共通AP AID",
    "§5/JUKI": "住基AP AID",
    "§5/ISD": "GlobalPlatform ISD AID",
    "§5/PINs": "the PIN families and 照合番号 keys",
    # §6 JPKI
    "§6.1/0001": "signing certificate: needs the signing password",
    "§6.1/0002": "signing CA certificate, free",
    "§6.1/0006": "token info: 160 bytes CK_TOKEN_INFO, label JPKIAPICCTOKEN2",
    "§6.1/0008": "certificate availability 8F 8F 00",
    "§6.1/0009": "protected EF",
    "§6.1/000A": "auth certificate, free",
    "§6.1/000B": "auth CA certificate, free",
    "§6.1/0016": "key reference for the terminal CV certificate check",
    "§6.1/0017": "auth private key: usable after 0018, never readable",
    "§6.1/0018": "auth PIN: 4 digits, 3 tries",
    "§6.1/001A": "signing private key: usable after 001B, never readable",
    "§6.1/001B": "signing password: 6–16 A–Z0–9, 5 tries",
    "§6.1/RSA-2048": "RSA-2048 certificates and keys",
    "§6.2/P1=00": "P1=00 PKCS#1 v1.5 over the input as given (DigestInfo)",
    "§6.2/P1=01": "P1=01 card SHA-256, PKCS#1 v1.5 over the bare hash",
    "§6.2/P1=02": "P1=02 card wraps a 32-byte hash in DigestInfo",
    "§6.2/P1=03": "P1=03 sha256WithRSA over the message",
    "§6.2/P1=04": "P1=04 RSASSA-PSS over a 32-byte hash",
    "§6.2/P1=05": "P1=05 card SHA-256 + RSASSA-PSS",
    "§6.2/P1-other": "other P1 → 6A86",
    "§6.2/bad-length": "wrong input length → 6985 or 6700",
    "§6.2/SFI": "80 2A 00 97 / 00 9A: key by SFI without SELECT",
    # §7 text AP
    "§7.1/0001": "個人番号 FF 10 0C + 12 digits + FF FF; PIN or 照合番号A",
    "§7.1/0002": "基本4情報; PIN or 照合番号B",
    "§7.1/0003": "integrity record over EF 0001 and EF 0002",
    "§7.1/0004": "CV certificate, free",
    "§7.1/0005": "AP basic info FF 40, free",
    "§7.1/0006": "SM key-transport public key A1 {90 91}",
    "§7.1/0007": "AP signing key FF 50 {DF51 DF52}",
    "§7.1/0008": "16 × FF",
    "§7.1/0011": "text PIN, 4 digits",
    "§7.1/0012": "key 0012: blocked on every card (63C0, 6984)",
    "§7.1/0014": "照合番号A",
    "§7.1/0015": "照合番号B",
    "§7.1/signature": "80 2A 00 00 signs with the DF51 key, no credential",
    "§7.2/layout": "EF 0002 FF 20 {DF21 offsets, DF22–DF25}",
    "§7.3/cv-cert": "7F21 {5F4E 297-byte body, 5F37 signature}",
    # §8 visual AP
    "§8/0001": "age record; birth-date key",
    "§8/0002": "card face; 照合番号A or B",
    "§8/0003": "AP basic info FF 30, free",
    "§8/0004": "CV certificate, free",
    "§8/0005": "個人番号 image; 照合番号A only",
    "§8/0006": "unidentified; A or B",
    "§8/0011": "生年月日 key, 6 digits",
    "§8/0012": "照合番号B",
    "§8/0013": "照合番号A",
    "§8/signature": "80 2A 00 00 signs with the card key (DF24), no credential",
    "§8/no-SM": "no secure messaging in this AP",
    "§8.1/layout": "card face FF 20 {DF21 … DF2A}",
    "§8.1/signature": "DF28 over hashes of (DF22–24), (DF25–26), (DF27)",
    # §9
    "§9/common-0001": "共通AP record 0001: 01 1C + serial, municipality code, expiry",
    "§9/common-0002": "共通AP record 0002: 16-byte key reference",
    "§9/common-0019": "共通AP INTERNAL AUTHENTICATE key, no credential",
    "§9/common-001C": "共通AP PIN, changed with 80 32",
    "§9/juki-0002": "住基AP record 0002: the same bytes as 共通AP 0002",
    "§9/juki-001C": "住基AP PIN, a key reference separate from 共通AP 001C",
    # §10 MF objects
    "§10/0042": "issuer identification, 16-byte key ID",
    "§10/0045": "card identification number, ASCII",
    "§10/0066": "GlobalPlatform card recognition data",
    "§10/00F0": "municipality code, 5 ASCII digits",
    "§10/00F2": "expiry, 8 ASCII digits",
    "§10/00F7": "key ID of the intermediate 7F21",
    "§10/00F8": "CV certificate root → intermediate",
    "§10/7F21": "CV certificate intermediate → card key (absent on older cards)",
    "§10/5F51": "contact ATR without TS",
    # §11 secure messaging
    "§11/session": "SET SESSION KEY after the PIN, AES-128-CBC confidentiality, counter IV",
    "§11/CLA-0C": "CLA 0C (MAC) → 6987",
    "§11/counter": "the counter N advances on every SM command, refused ones too; an old N does not decrypt",
    "§11/read": "READ BINARY under SM: 96 03 00 <Le2>; the answer 86 L 01 <cipher> under the command's IV",
    "§11/6988": "a bad SM object destroys the session: 6988, then 69FC",
    "§11/other-APs": "other APs: SET SESSION KEY → 66F1 or 6982; SM CLA on SELECT 6882, on READ/VERIFY 69FC",
    # §12 disagreements
    "§12/verify-after-success": "VERIFY query after success: 63Cx (OSC) or 9000 (MC)",
    "§12/sign-cert": "the signing certificate needs the signing password",
    "§12/EOF": "end of file: 6B00 (MC also accepts 6282)",
    "§12/reselect": "re-SELECT of the AP already selected: clears the security status (OSC logout) or keeps it (PYJ)",
    "§12/atr-object": "GET DATA 5F51 at the MF on some cards, only with an AP selected on others",
    "§12/mf-7f21": "MF object 7F21 present on current cards, absent on some (older) ones",
    # §13 flows
    "§13/A": "flow A: read the auth certificate without PIN",
    "§13/B": "flow B: verify the auth PIN and sign; the signing key",
    "§13/C": "flow C: read the 個人番号",
    "§13/D": "flow D: read the 基本4情報",
    "§13/E": "flow E: read the face photo",
    "§13/F": "flow F: PIN status of every key",
}

#: Clauses no card-level black-box case can check, and why.
OUT_OF_SCOPE: dict[str, str] = {
    "§2/FF-CA": "a PC/SC pseudo-APDU answered by the reader driver; it never reaches the card",
    "§3/6300": "only for keys without a retry limit, which card-interface.md says this card does not have",
}


def section(ref: str) -> str:
    """`§6.1/0001` → `§6.1`."""
    return ref.split("/", 1)[0]


def top_section(ref: str) -> str:
    """`§6.1/0001` → `§6`."""
    return section(ref).split(".", 1)[0]
