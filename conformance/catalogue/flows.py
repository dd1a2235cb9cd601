"""FLOW: the APDU flows of CI §13, sent exactly as the clients that established them send them.

Unlike the other cases these do not use the context's helpers for SELECT or READ: each step is the
literal APDU of the flow, so that a card passing them answers the byte sequences real clients use.
"""

from __future__ import annotations

from mynacard.codec import tlv
from mynacard.codec.digest_info import of_message
from mynacard.conformance import apdus
from mynacard.conformance.card_map import AUTH_PIN, PIN_REFS, SIGN_PASSWORD, TEXT_BLOCKED, TEXT_PIN, VISUAL_CODE_A, VISUAL_CODE_B
from mynacard.conformance.catalogue.registry import case
from mynacard.conformance.checks import DataError, certificate, rsa_public_key, verifies_pkcs1_sha256
from mynacard.conformance.context import CaseContext
from mynacard.conformance.model import Profile, Secret

MESSAGE = b"mynacard conformance: flow B"


def _hex(t: CaseContext, text: str, label: str, sw: int = 0x9000) -> bytes:
    """Send the flow's APDU as written in CI §13 (spaces allowed)."""
    return t.expect(bytes.fromhex(text.replace(" ", "")), label, sw).data


def _flow_a_read(t: CaseContext, fid: int, label: str) -> bytes:
    _hex(t, f"00 A4 02 0C 02 {fid:04X}", f"SELECT EF {fid:04X}")
    head = _hex(t, "00 B0 00 00 04", f"{label}: READ BINARY 4 bytes")
    t.check(len(head) == 4 and head[:2] == b"\x30\x82", f"{label} does not start with 30 82 LL LL")
    size = int.from_bytes(head[2:], "big") + 4
    out = bytearray()
    while len(out) < size:
        chunk = _hex(t, f"00 B0 {len(out) >> 8:02X} {len(out) & 0xFF:02X} 00", f"{label}: READ BINARY at {len(out)}")
        t.check(len(chunk) == 256 or len(out) + len(chunk) >= size, f"{label}: a middle chunk is {len(chunk)} bytes")
        if not chunk:
            break
        out += chunk
    t.check(len(out) >= size, f"{label}: the EF ended after {len(out)} of {size} bytes")
    try:
        certificate(bytes(out[:size]), label)
    except DataError as exc:
        t.fail(str(exc))
    return bytes(out[:size])


@case("FLOW-A-001", "Flow A: read the auth certificate, the auth CA and the signing CA without a PIN",
      refs=["§13/A", "§2/SELECT-AID", "§2/SELECT-EF", "§2/READ-BINARY"], profiles=[Profile.JPKI])
def flow_a(t: CaseContext) -> None:
    """
    1. `00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01` → 9000.
    2. `00 A4 02 0C 02 00 0A` → 9000. `00 B0 00 00 04` → `30 82 LL LL` 9000 (size = LLLL + 4).
    3. `00 B0 00 00 00`, `00 B0 01 00 00`, `00 B0 02 00 00` … → 256-byte chunks until size bytes are read.
    4. The same for EF 000B and EF 0002. Each result parses as an X.509 certificate.
    """
    _hex(t, "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01", "SELECT JPKI")
    for fid, label in ((0x000A, "auth certificate"), (0x000B, "auth CA certificate"), (0x0002, "signing CA certificate")):
        _flow_a_read(t, fid, label)


@case("FLOW-B-001", "Flow B: verify the auth PIN and sign a SHA-256 DigestInfo",
      refs=["§13/B", "§2/VERIFY", "§2/VERIFY-query", "§2/COMPUTE-DIGITAL-SIGNATURE"],
      profiles=[Profile.JPKI], needs=[Secret.AUTH_PIN])
def flow_b_auth(t: CaseContext) -> None:
    """
    1. SELECT JPKI; read the auth certificate as in flow A.
    2. `00 A4 02 0C 02 00 18`; `00 20 00 80` → 63C3 (else SKIPPED in a non-destructive run);
       `00 20 00 80 04 <PIN>` → 9000.
    3. `00 A4 02 0C 02 00 17`; `80 2A 00 80 33 <SHA-256 DigestInfo> 00` → 256 bytes 9000, which verify
       with the auth certificate.
    """
    _hex(t, "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01", "SELECT JPKI")
    cert = certificate(_flow_a_read(t, 0x000A, "auth certificate"), "auth certificate")
    _hex(t, "00 A4 02 0C 02 00 18", "SELECT EF 0018")
    t.verify(AUTH_PIN, select=False)
    _hex(t, "00 A4 02 0C 02 00 17", "SELECT EF 0017")
    signature = t.expect(apdus.compute_signature(of_message("sha256", MESSAGE)), "80 2A 00 80 33 <DigestInfo> 00").data
    t.check(len(signature) == 256 and verifies_pkcs1_sha256(rsa_public_key(cert, "the certificate"), signature, MESSAGE),
            "the flow B signature does not verify with the auth certificate")


@case("FLOW-B-002", "Flow B (signing key): the signing password, the signing certificate, a signature",
      refs=["§13/B", "§2/VERIFY", "§6.1/001B", "§6.1/0001"], profiles=[Profile.JPKI], needs=[Secret.SIGN_PASSWORD])
def flow_b_sign(t: CaseContext) -> None:
    """
    1. SELECT JPKI. `00 A4 02 0C 02 00 1B`, `00 20 00 80` → 63C5 (else SKIPPED in a non-destructive run),
       `00 20 00 80 Lc <uppercase password>` → 9000.
    2. Read EF 0001 as in flow A (allowed now).
    3. `00 A4 02 0C 02 00 1A`; `80 2A 00 80 33 <DigestInfo> 00` → 256 bytes that verify with EF 0001.
    """
    _hex(t, "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01", "SELECT JPKI")
    _hex(t, "00 A4 02 0C 02 00 1B", "SELECT EF 001B")
    t.verify(SIGN_PASSWORD, select=False)
    cert = certificate(_flow_a_read(t, 0x0001, "signing certificate"), "signing certificate")
    _hex(t, "00 A4 02 0C 02 00 1A", "SELECT EF 001A")
    signature = t.expect(apdus.compute_signature(of_message("sha256", MESSAGE)), "80 2A 00 80 33 <DigestInfo> 00").data
    t.check(len(signature) == 256 and verifies_pkcs1_sha256(rsa_public_key(cert, "the certificate"), signature, MESSAGE),
            "the flow B signature does not verify with the signing certificate")


def _text_pin(t: CaseContext) -> None:
    _hex(t, "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08", "SELECT the 券面事項入力補助AP")
    _hex(t, "00 A4 02 0C 02 00 11", "SELECT EF 0011")
    t.verify(TEXT_PIN, select=False)


@case("FLOW-C-001", "Flow C: read the 個人番号 with the text PIN",
      refs=["§13/C", "§7.1/0001"], profiles=[Profile.TEXT], needs=[Secret.TEXT_PIN])
def flow_c(t: CaseContext) -> None:
    """
    1. `00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08`; `00 A4 02 0C 02 00 11`; VERIFY the PIN → 9000.
    2. `00 A4 02 0C 02 00 01`; `00 B0 00 00 11` → `FF 10 0C` <12 digits> `FF FF` 9000.
    """
    _text_pin(t)
    _hex(t, "00 A4 02 0C 02 00 01", "SELECT EF 0001")
    data = _hex(t, "00 B0 00 00 11", "READ BINARY 17 bytes")
    t.check(len(data) == 17 and data[:3] == b"\xff\x10\x0c" and data[3:15].isdigit() and data[15:] == b"\xff\xff",
            "flow C did not return FF 10 0C <12 digits> FF FF")


@case("FLOW-C-002", "Flow C, JSA variant: VERIFY by SFI 00 20 00 91, READ BINARY by SFI with extended Le",
      refs=["§13/C", "§2/VERIFY-SFI", "§2/READ-BINARY-SFI", "§1/extended"],
      profiles=[Profile.TEXT, Profile.EXTENDED_LENGTH], needs=[Secret.TEXT_PIN])
def flow_c_jsa(t: CaseContext) -> None:
    """
    1. SELECT the 券面事項入力補助AP. `00 20 00 91` (query by SFI) → 63C3 (else SKIPPED in a
       non-destructive run); `00 20 00 91 04 <PIN>` → 9000.
    2. `00 B0 81 00 00 00 00` → the 17 bytes of EF 0001 9000.
    """
    _hex(t, "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08", "SELECT the 券面事項入力補助AP")
    t.verify(TEXT_PIN, select=False, by_sfi=True)
    data = _hex(t, "00 B0 81 00 00 00 00", "READ BINARY SFI 01 with extended Le")
    t.check(len(data) == 17 and data[:3] == b"\xff\x10\x0c", "the JSA variant of flow C did not return EF 0001")


@case("FLOW-D-001", "Flow D: read the 基本4情報 — a 7-byte header, then the rest from offset 7",
      refs=["§13/D", "§7.2/layout"], profiles=[Profile.TEXT], needs=[Secret.TEXT_PIN])
def flow_d(t: CaseContext) -> None:
    """
    1. As flow C step 1. `00 A4 02 0C 02 00 02`; `00 B0 00 00 07` → `FF 20` + length + the start of DF21.
    2. The rest from offset 7 (MYNA) in chunks ≤ 256, or one `00 B0 00 00 00` when the object is ≤ 256 bytes.
    3. The bytes parse as `FF 20` { DF21, DF22, DF23, DF24, DF25 }.
    """
    _text_pin(t)
    _hex(t, "00 A4 02 0C 02 00 02", "SELECT EF 0002")
    head = _hex(t, "00 B0 00 00 07", "READ BINARY 7-byte header")
    try:
        size = tlv.total_size(head)
    except tlv.TlvError as exc:
        t.fail(f"EF 0002 has no TLV header: {exc}")
    data = bytearray()
    if size <= 256:
        data += _hex(t, "00 B0 00 00 00", "READ BINARY the whole object")[:size]
    else:
        data += head
        while len(data) < size:
            n = min(256, size - len(data))
            data += _hex(t, f"00 B0 {len(data) >> 8:02X} {len(data) & 0xFF:02X} {n & 0xFF:02X}", f"READ BINARY at {len(data)}")
    try:
        parts = tlv.parse(bytes(data)).child_map()
    except tlv.TlvError as exc:
        t.fail(f"EF 0002 read by flow D does not parse: {exc}")
    t.check(all(tag in parts for tag in (0xDF21, 0xDF22, 0xDF23, 0xDF24, 0xDF25)), "flow D: DF21–DF25 not all present")


def _face_photo(t: CaseContext, *, extended: bool) -> None:
    _hex(t, "00 A4 02 0C 02 00 02", "SELECT EF 0002")
    data = bytearray()
    if extended:
        data += _hex(t, "00 B0 82 00 00 00 00", "READ BINARY SFI 02 with extended Le")
    else:
        head = _hex(t, "00 B0 00 00 07", "READ BINARY 7-byte header")
        try:
            size = tlv.total_size(head)
        except tlv.TlvError as exc:
            t.fail(f"the card face has no TLV header: {exc}")
        data += head
        while len(data) < size:
            data += _hex(t, f"00 B0 {len(data) >> 8:02X} {len(data) & 0xFF:02X} 00", f"READ BINARY at {len(data)}")
    try:
        photo = tlv.parse(bytes(data)).child_map()[0xDF27].value
    except (tlv.TlvError, KeyError) as exc:
        t.fail(f"the card face read by flow E has no DF27: {exc}")
    t.check(photo[4:8] == b"jP  ", "DF27 is not a JPEG 2000 (JP2) image")


@case("FLOW-E-001", "Flow E: the 個人番号 from flow C opens the face photo as 照合番号A",
      refs=["§13/E", "§8/0013", "§8/0002"], profiles=[Profile.TEXT, Profile.VISUAL], needs=[Secret.TEXT_PIN])
def flow_e(t: CaseContext) -> None:
    """
    1. Flow C → the 12 digits of the 個人番号 (never written to the report).
    2. `00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 02`; `00 A4 02 0C 02 00 13`;
       `00 20 00 80 0C <12 digits>` → 9000 (the query first: at its maximum, else SKIPPED in a
       non-destructive run).
    3. `00 A4 02 0C 02 00 02`; `00 B0 00 00 07`, then 256-byte chunks with P1-P2 offsets.
    4. Parse `FF 20` → DF27 is JPEG 2000 in a JP2 container.
    """
    _text_pin(t)
    _hex(t, "00 A4 02 0C 02 00 01", "SELECT EF 0001")
    my_number = _hex(t, "00 B0 00 00 11", "READ BINARY 17 bytes")[3:15]
    t.check(len(my_number) == 12 and my_number.isdigit(), "flow C did not yield 12 digits")
    _hex(t, "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 02", "SELECT the 券面事項確認AP")
    _hex(t, "00 A4 02 0C 02 00 13", "SELECT EF 0013")
    tries = t.query(VISUAL_CODE_A, select=False)
    if tries == 0:
        t.skip("照合番号A of the 券面事項確認AP is blocked on this card")
    maximum = t.session.max_tries(VISUAL_CODE_A)
    if not t.session.allow_destructive and maximum is not None and 0 <= tries < maximum:
        t.skip(f"照合番号A has {tries} of {maximum} tries left; a correct VERIFY would reset it (needs --allow-destructive)")
    t.expect(apdus.verify(0x80, my_number), "00 20 00 80 0C <the 個人番号>")
    _face_photo(t, extended=False)


@case("FLOW-E-002", "Flow E with 照合番号B and one extended READ BINARY by SFI",
      refs=["§13/E", "§8/0012", "§1/extended", "§2/READ-BINARY-SFI"],
      profiles=[Profile.VISUAL, Profile.EXTENDED_LENGTH], needs=[Secret.CODE_B])
def flow_e_code_b(t: CaseContext) -> None:
    """
    1. `00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 02`; `00 A4 02 0C 02 00 12`; VERIFY 照合番号B
       `00 20 00 80 0E <14 digits>` → 9000.
    2. `00 B0 82 00 00 00 00` → the whole card face in one response; DF27 is JP2.
    """
    _hex(t, "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 02", "SELECT the 券面事項確認AP")
    _hex(t, "00 A4 02 0C 02 00 12", "SELECT EF 0012")
    t.verify(VISUAL_CODE_B, select=False)
    _face_photo(t, extended=True)


@case("FLOW-F-001", "Flow F: the tries left of every key, without spending any",
      refs=["§13/F", "§2/VERIFY-query", "§3/63Cx", "§5/PINs"],
      profiles=[Profile.JPKI, Profile.TEXT, Profile.VISUAL, Profile.COMMON, Profile.JUKI])
def flow_f(t: CaseContext) -> None:
    """
    1. For the 券面事項入力補助AP 0011, 0014, 0015 (and 0012), the 券面事項確認AP 0013, 0012 (and 0011),
       JPKI 0018, 001B, the 共通AP and 住基AP 001C: SELECT the AP, SELECT the EF, `00 20 00 80` → 63Cx.
    2. Read them all a second time: every count is unchanged.
    """
    first = {pin.code: t.query(pin) for pin in PIN_REFS}
    second = {pin.code: t.query(pin) for pin in PIN_REFS}
    changed = [code for code in first if first[code] != second[code]]
    t.check(not changed, f"reading the counters twice changed {', '.join(changed)}")
    t.check(first[TEXT_BLOCKED.code] == 0, "key 0012 of the 券面事項入力補助AP is not blocked (63C0)")
    t.note("tries left: " + ", ".join(f"{code} {n}" for code, n in first.items()))
