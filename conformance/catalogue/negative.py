"""NEG: negative and robustness cases — command parameters, length edges, secret formats and the
secure-messaging counter (issue 17: the faults a seeded-fault run showed the catalogue missing).

Each case cites its card-interface.md clause and the ISO/IEC 7816 rule it applies. Where
card-interface.md gives the status word, the case passes or fails on it. Where it is silent (the
answer to a P1-P2 no client sends, a class byte no client uses), the case is an observation
(`answer:<topic>`): it records what the card answered, never passes or fails, and
`mynacard conformance diff` shows where two cards answer differently. Every case here is safe by
default: a VERIFY is a query or the supplied value at its maximum count, and a CHANGE is sent only
when nothing can change (not verified, or the new value is the current one). Two run only with
--allow-destructive: NEG-VER-002 (malformed VERIFY values, each followed by the supplied value)
and NEG-CHG-002 (the signing password changed and changed back).
"""

from __future__ import annotations

import hashlib

from mynacard.codec import secure_messaging as sm
from mynacard.codec.digest_info import of_message
from mynacard.conformance import apdus
from mynacard.conformance.card_map import (
    AUTH_PIN,
    COMMON,
    COMMON_PIN,
    EF_AUTH_CERT,
    EF_AUTH_KEY,
    JPKI,
    MAX_PKCS1_INPUT,
    SIGN_PASSWORD,
    TEXT,
    TEXT_PIN,
    VISUAL,
    VISUAL_BIRTH,
    VISUAL_CODE_A,
    VISUAL_CODE_B,
    Application,
    PinRef,
)
from mynacard.conformance.catalogue.jpki import auth_key_ready
from mynacard.conformance.catalogue.registry import case
from mynacard.conformance.catalogue.sm import P as SM_PROFILES
from mynacard.conformance.catalogue.sm import open_session, sm_select_ef
from mynacard.conformance.checks import pss_salt_length
from mynacard.conformance.context import CaseContext
from mynacard.conformance.model import Impact, Profile, Secret
from mynacard.host.apdu import Command

J, EXT = Profile.JPKI, Profile.EXTENDED_LENGTH
PSS_MESSAGE = b"mynacard NEG-SIG-003: the PSS salt"


def _answers(t: CaseContext, probes: list[tuple[str, bytes]]) -> str:
    """Send each probe; `name:SW` for each, joined — the value of an `answer:` observation."""
    out = []
    for name, apdu in probes:
        out.append(f"{name}:{t.send(apdu, name).sw:04X}")
    return " ".join(out)


@case("NEG-SEL-001", "SELECT with P1-P2 no client sends, and an AID longer than 16 bytes: the answers",
      refs=["§2/SELECT-AID", "§2/SELECT-EF", "§3/6A86"], profiles=[Profile.CORE, J],
      observes="answer:select-parameters")
def select_parameters(t: CaseContext) -> None:
    """
    CI §2 gives only `00 A4 04 0C` and `00 A4 02 0C`; ISO/IEC 7816-4 §11.1.1 answers a P1-P2 the
    card does not support with 6A86 and a wrong Lc with 6700, but card-interface.md records no
    answer for these: OBSERVATION.
    1. Reset. SELECT JPKI with P2 = 00 (FCI, first occurrence) and P2 = 04 (FCP); SELECT JPKI with
       P1 = 01 (child DF); SELECT with a 17-byte AID (the JPKI AID + 7 bytes), a 16-byte one (+ 6
       bytes), a 1-byte one (`D3`, a prefix of every AP) and none (`00 A4 04 0C`).
    2. SELECT JPKI, then SELECT EF 000A with P2 = 00 and P2 = 04, and with a 3-byte FID `00 00 0A`.
    3. Observed: the status word of each, in that order.
    """
    seen = _answers(t, [
        ("04/00", apdus.select_aid(JPKI.aid, p2=0x00)),
        ("04/04", apdus.select_aid(JPKI.aid, p2=0x04)),
        ("01/0C", Command(0x00, 0xA4, 0x01, 0x0C, JPKI.aid).encode()),
        ("aid17", apdus.select_aid(JPKI.aid + bytes(7))),
        ("aid16", apdus.select_aid(JPKI.aid + bytes(6))),
        ("aid1", apdus.select_aid(JPKI.aid[:1])),
        ("aid0", bytes.fromhex("00A4040C")),
    ])
    t.select(JPKI)
    seen += " " + _answers(t, [
        ("02/00", Command(0x00, 0xA4, 0x02, 0x00, EF_AUTH_CERT.to_bytes(2, "big")).encode()),
        ("02/04", Command(0x00, 0xA4, 0x02, 0x04, EF_AUTH_CERT.to_bytes(2, "big")).encode()),
        ("fid3", Command(0x00, 0xA4, 0x02, 0x0C, EF_AUTH_CERT.to_bytes(3, "big")).encode()),
    ])
    t.observe(seen, "SELECT forms outside CI §2 (name:SW)")


@case("NEG-SEL-002", "SELECT by a prefix of an AID: which AP the card selects",
      refs=["§2/SELECT-AID-prefix"], profiles=[Profile.CORE, Profile.TEXT], observes="answer:select-prefix")
def select_prefix(t: CaseContext) -> None:
    """
    CI §2: JICSAP allows partial-name selection [MC]; which AP a prefix shared by several selects is
    not recorded (ISO/IEC 7816-4 §11.1.1.2: "first occurrence"): OBSERVATION.
    1. Reset. SELECT `D3 92 10 00 31 00 01 01 04` (9 bytes, the prefix of the text, visual and
       住基 APs).
    2. SELECT EF 0006, 0011, 0013 and 0002 (which of them exist tells the APs apart).
    3. Observed: the SELECT's SW and those of the four EF SELECTs.
    """
    seen = _answers(t, [("prefix", apdus.select_aid(TEXT.aid[:9]))])
    seen += " " + _answers(t, [(f"{fid:04X}", apdus.select_ef(fid)) for fid in (0x0006, 0x0011, 0x0013, 0x0002)])
    t.observe(seen, f"SELECT by the prefix {TEXT.aid[:9].hex().upper()}, then EF SELECTs (name:SW)")


@case("NEG-VER-001", "VERIFY queries with P1-P2 no client sends: the answers (nothing can be spent)",
      refs=["§2/VERIFY-query", "§2/VERIFY-SFI", "§3/6A86"], profiles=[J], observes="answer:verify-parameters")
def verify_parameters(t: CaseContext) -> None:
    """
    Every probe is a VERIFY without data — the query, which never spends a try (CI §2) — so it is
    safe whatever the card makes of P1-P2. ISO/IEC 7816-4 §11.5.6: P1 = 00, P2 = 80 | reference;
    card-interface.md records no answer for other values: OBSERVATION.
    1. SELECT JPKI (no EF). `00 20 00 80` (no current EF).
    2. SELECT EF 0018. `00 20 01 80` (P1 01), `00 20 00 00` (P2 00), `00 20 00 A0` (P2 with bits
       0x60), `00 20 00 81` (SFI 1: EF 0001, a certificate, not a secret), `00 20 00 9F` (SFI 1F),
       `00 20 00 18` (the auth PIN's SFI without bit 8), `00 20 00 B8` (its SFI with bits 0x60),
       `00 20 00 1B` (the signing password's SFI without bit 8).
    3. Observed: the status word of each.
    """
    t.select(JPKI)
    seen = _answers(t, [("no-ef", apdus.verify(0x80))])
    t.select_ef(AUTH_PIN.fid)
    seen += " " + _answers(t, [
        ("p1=01", Command(0x00, 0x20, 0x01, 0x80).encode()),
        ("p2=00", apdus.verify(0x00)),
        ("p2=A0", apdus.verify(0xA0)),
        ("p2=81", apdus.verify(0x81)),
        ("p2=9F", apdus.verify(0x9F)),
        ("p2=18", apdus.verify(0x18)),
        ("p2=B8", apdus.verify(0xB8)),
        ("p2=1B", apdus.verify(0x1B)),
    ])
    t.observe(seen, "VERIFY query forms outside CI §2 (name:SW)")


@case("NEG-VER-002", "VERIFY with a value of the wrong length or alphabet is refused or costs exactly one try, "
      "never more", refs=["§2/VERIFY", "§3/63Cx", "§6.1/0018", "§6.1/001B"], profiles=[J],
      needs=[Secret.AUTH_PIN, Secret.SIGN_PASSWORD], impact=Impact.SPENDS_TRY, touches=[AUTH_PIN, SIGN_PASSWORD])
def verify_wrong_format(t: CaseContext) -> None:
    """
    CI §2: the PIN is sent as ASCII, no padding; §6.1: auth PIN 4 digits, signing password 6–16 of
    A–Z, 0–9; §3: 63Cx = a wrong value, x tries left. ISO/IEC 7816-4 §11.5.6 lets a card refuse a
    malformed value (6700, 6A80) without comparing it. Whichever the card does, a value outside the
    format must never verify, and it may cost one try at most. The answer is noted.
    1. For 17 digits, 3 digits and `12A4`: reset, SELECT JPKI, SELECT EF 0018, VERIFY query → n;
       VERIFY with the value → 63C(n−1), or a refusal; reset, SELECT, query → n−1 after 63C(n−1),
       n after a refusal; VERIFY with the supplied PIN → 9000 (the counter back at its maximum).
    2. The same on EF 001B with 17 characters, 5 characters and `abc123`.
    """
    probes = ((AUTH_PIN, (("17 digits", b"12345678901234567"), ("3 digits", b"123"), ("a letter", b"12A4"))),
              (SIGN_PASSWORD, (("17 characters", b"ABCDEFGH123456789"), ("5 characters", b"ABC12"),
                               ("lower case", b"abc123"))))
    for pin, values in probes:
        for label, value in values:
            t.reset()  # nothing verified: the query answers the count on every card (CI §12)
            before = t.query(pin, label=f"VERIFY query {pin} (before {label})")
            if before < 2:
                t.skip(f"{pin} has {before} tries left; a wrong value could block it")
            response = t.send(apdus.verify(0x80, value), f"VERIFY {pin} with {label}")
            t.check(response.sw != 0x9000, f"VERIFY {pin} with {label} answered 9000")
            t.reset()
            after = t.query(pin, label=f"VERIFY query {pin} (after {label})")
            t.check(after in (before, before - 1),
                    f"VERIFY {pin} with {label} took {before} tries to {after}: more than one")
            if response.sw & 0xFFF0 == 0x63C0:
                t.check(response.sw & 0x0F == after == before - 1,
                        f"VERIFY {pin} with {label} answered {response.sw:04X} with {after} tries left")
            t.note(f"{pin} with {label}: {response.sw:04X}, tries {before} → {after}")
            t.verify_supplied(pin, f"VERIFY {pin} with the supplied value (restores the counter)")


@case("NEG-CHG-001", "CHANGE with the wrong INS, the wrong P1, or before VERIFY is refused",
      refs=["§2/CHANGE-REFERENCE-DATA", "§2/CHANGE-KEY", "§3/6982", "§3/6A86"], profiles=[J, Profile.COMMON],
      needs=[Secret.AUTH_PIN, Secret.COMMON_PIN], observes="answer:change-parameters")
def change_parameters(t: CaseContext) -> None:
    """
    Each new value is the key's own supplied value, or there is none, so even a card that accepted
    one would change nothing. CI §2: CHANGE REFERENCE DATA `00 24 01 80` for the JPKI
    PINs, CHANGE KEY `80 32 00 80` for 共通/住基 001C, both after VERIFY; ISO/IEC 7816-4 §11.5.7
    (P1 = 01: new value only). The refusals' status words are not recorded: OBSERVATION (any 9000
    is recorded as such).
    1. SELECT JPKI, SELECT EF 0018. `80 32 00 80` (CHANGE KEY on a CHANGE REFERENCE DATA PIN),
       `00 24 00 80` (P1 00), `00 24 01 80` (before VERIFY) — each with the supplied auth PIN. Then
       VERIFY the auth PIN and send `00 24 01 80` without data (no new value: nothing to change).
    2. SELECT the 共通AP, SELECT EF 001C. `00 24 01 80` (CHANGE REFERENCE DATA on a CHANGE KEY PIN),
       `80 32 01 80` (P1 01) — each with the supplied 共通 PIN.
    3. Observed: the status word of each.
    """
    auth = t.secret(Secret.AUTH_PIN)
    common = t.secret(Secret.COMMON_PIN)
    t.select(JPKI)
    t.select_ef(AUTH_PIN.fid)
    seen = _answers(t, [
        ("jpki-80-32", apdus.change_key(auth)),
        ("jpki-p1=00", Command(0x00, 0x24, 0x00, 0x80, auth).encode()),
        ("jpki-unverified", apdus.change_reference_data(auth)),
    ])
    t.verify(AUTH_PIN, select=False)
    seen += " " + _answers(t, [("jpki-no-data", bytes.fromhex("00240180"))])
    t.select(COMMON)
    t.select_ef(COMMON_PIN.fid)
    seen += " " + _answers(t, [
        ("common-00-24", apdus.change_reference_data(common)),
        ("common-p1=01", Command(0x80, 0x32, 0x01, 0x80, common).encode()),
    ])
    t.observe(seen, "CHANGE forms outside CI §2, nothing verified (name:SW)")


def _refuses_formats(t: CaseContext, pin: PinRef, wrong: tuple[tuple[str, bytes], ...], rule: str) -> None:
    """VERIFY the supplied value, then CHANGE REFERENCE DATA with each wrong value: never 9000
    (one that is accepted is changed back at once and the case fails); the refusal SW is noted."""
    assert pin.secret is not None
    original = t.secret(pin.secret)
    t.verify(pin)
    for label, value in wrong:
        response = t.send(apdus.change_reference_data(value), f"CHANGE REFERENCE DATA {pin} with {label}")
        if response.sw == 0x9000:
            t.send(apdus.change_reference_data(original), f"CHANGE REFERENCE DATA {pin} back to the supplied value")
            t.fail(f"the card accepted a new {pin} of {label} (CI §6.1: {rule})")
        t.note(f"a new {pin} of {label} was refused with {response.sw:04X}")


@case("NEG-CHG-002", "The auth PIN's and the signing password's formats are enforced by CHANGE REFERENCE DATA",
      refs=["§6.1/0018", "§6.1/001B", "§2/CHANGE-REFERENCE-DATA"], profiles=[J],
      needs=[Secret.AUTH_PIN, Secret.SIGN_PASSWORD], impact=Impact.CHANGES_SECRET, touches=[AUTH_PIN, SIGN_PASSWORD])
def secret_formats_at_change(t: CaseContext) -> None:
    """
    CI §6.1: the auth PIN is 4 digits; the signing password 6–16 characters, A–Z and 0–9 only,
    uppercase. ISO/IEC 7816-4 §11.5.7 leaves the format to the card; a new value outside it must
    not be accepted (the SW of the refusal is not recorded: any refusal passes, the SW is noted).
    1. SELECT JPKI, SELECT EF 0018, VERIFY the supplied PIN. `00 24 01 80` with 5 digits, 3 digits
       and `12A4` → not 9000 each (one that answers 9000 is changed back at once and the case fails).
    2. SELECT EF 001B, VERIFY the supplied password. `00 24 01 80` with 17 characters, 5
       characters, a lower-case letter → not 9000 each.
    3. `00 24 01 80` with 16 characters → 9000; VERIFY with them → 9000; change back to the supplied
       password → 9000 and VERIFY with it → 9000.
    """
    _refuses_formats(t, AUTH_PIN, (("5 digits", b"12345"), ("3 digits", b"123"), ("a letter", b"12A4")),
                     "4 digits")
    _refuses_formats(t, SIGN_PASSWORD, (("17 characters", b"ABCDEFGH12345678Z"), ("5 characters", b"ABC12"),
                                        ("a lower-case letter", b"ABCde1")), "6–16 of A–Z, 0–9")
    original = t.secret(Secret.SIGN_PASSWORD)
    longest = b"ABCDEFGH12345678"
    t.expect(apdus.change_reference_data(longest), "CHANGE REFERENCE DATA with 16 characters")
    try:
        t.expect(apdus.verify(0x80, longest), "VERIFY with the 16-character password")
    finally:
        t.expect(apdus.change_reference_data(original), "CHANGE REFERENCE DATA back to the supplied value")
    t.expect(apdus.verify(0x80, original), "VERIFY with the supplied password")


@case("NEG-AUTH-001", "INTERNAL AUTHENTICATE refuses a 256-byte challenge (CI §2: 1–255 bytes)",
      refs=["§2/INTERNAL-AUTHENTICATE", "§9/common-0019", "§1/extended"], profiles=[Profile.COMMON, EXT])
def long_challenge(t: CaseContext) -> None:
    """
    CI §2: INTERNAL AUTHENTICATE takes a challenge of 1–255 bytes; ISO/IEC 7816-4 §11.5.2 leaves the
    length to the card; one outside it must not be signed (the refusal's SW is noted).
    1. SELECT the 共通AP. `00 88 00 99 00 01 00 <256 bytes> 01 00` (extended) → not 9000.
    2. `00 88 00 99 FF <255 bytes> 00` → 9000 with 256 bytes: the card still signs the longest.
    """
    t.select(COMMON)
    refused = t.send(Command(0x00, 0x88, 0x00, 0x99, bytes(256), le=256).encode(extended=True),
                     "INTERNAL AUTHENTICATE with 256 bytes (extended)")
    t.check(refused.sw != 0x9000, "the card signed a 256-byte challenge (CI §2: 1–255 bytes)")
    t.note(f"a 256-byte challenge was refused with {refused.sw:04X}")
    signature = t.expect(apdus.internal_authenticate(bytes(255)), "INTERNAL AUTHENTICATE with 255 bytes").data
    t.check(len(signature) == 256, f"INTERNAL AUTHENTICATE of 255 bytes answered {len(signature)} bytes")


@case("NEG-SIG-001", "COMPUTE DIGITAL SIGNATURE accepts the longest PKCS#1 input (245 bytes) and refuses 246",
      refs=["§6.2/P1=00", "§6.2/bad-length", "§3/6700"], profiles=[J], needs=[Secret.AUTH_PIN])
def longest_signing_input(t: CaseContext) -> None:
    """
    CI §6.2 (P1=00: the card pads the input as given) and §3 (6700: signing input of bad length);
    RFC 8017 §9.2 / ISO/IEC 7816-8: an RSA-2048 PKCS#1 v1.5 block holds at most k − 11 = 245 bytes.
    1. SELECT JPKI, VERIFY the auth PIN, SELECT EF 0017.
    2. `80 2A 00 80 F5 <245 bytes> 00` → 9000 with 256 bytes.
    3. `80 2A 00 80 F6 <246 bytes> 00` → 6700 or 6985.
    """
    t.verify(AUTH_PIN)
    t.select_ef(EF_AUTH_KEY)
    signature = t.expect(apdus.compute_signature(bytes(MAX_PKCS1_INPUT)), "sign 245 bytes").data
    t.check(len(signature) == 256, f"the signature of 245 bytes is {len(signature)} bytes, expected 256")
    t.expect(apdus.compute_signature(bytes(MAX_PKCS1_INPUT + 1)), "sign 246 bytes", (0x6700, 0x6985))


@case("NEG-SIG-002", "COMPUTE DIGITAL SIGNATURE with P1-P2 and Le no client sends: the answers",
      refs=["§2/COMPUTE-DIGITAL-SIGNATURE", "§6.2/P1-other", "§3/6A86", "§9/common-0019"],
      profiles=[J, Profile.COMMON], needs=[Secret.AUTH_PIN], observes="answer:sign-parameters")
def signature_parameters(t: CaseContext) -> None:
    """
    CI §2: JPKI signs with P1=00, P2=80 or 80|SFI; §3: 6A86 for an unknown scheme. Which check a
    card makes first, and what it answers to a short Le (ISO/IEC 7816-4 §5.1: 6Cxx, 6700 or a
    truncated answer are all seen), card-interface.md does not record: OBSERVATION.
    1. SELECT JPKI, SELECT EF 0017 (nothing verified): P1 = 06 (unknown scheme before the PIN).
    2. P2 = 00 (no default key in JPKI), P2 = A0 (bits 0x60), P2 = 81 (SFI 1: a certificate),
       P2 = B7 (the auth key's SFI with bits 0x60), P2 = 01 (an SFI without bit 8).
    3. VERIFY the auth PIN, SELECT EF 0017: a SHA-256 DigestInfo with Le = 01; `80 2A 03 80 00`
       (sha256WithRSA of no message); the DigestInfo without Le.
    4. SELECT the 共通AP, SELECT EF 0019 (the INTERNAL AUTHENTICATE key, CI §9): `80 2A 00 80`.
    5. Observed: the status word of each (and the answer's length without Le).
    """
    digest_info = of_message("sha256", b"mynacard NEG-SIG-002")
    t.select(JPKI)
    t.select_ef(EF_AUTH_KEY)
    seen = _answers(t, [
        ("p1=06", apdus.compute_signature(digest_info, p1=0x06)),
        ("p2=00", apdus.compute_signature(digest_info, p2=0x00)),
        ("p2=A0", apdus.compute_signature(digest_info, p2=0xA0)),
        ("p2=81", apdus.compute_signature(digest_info, p2=0x81)),
        ("p2=B7", apdus.compute_signature(digest_info, p2=0xB7)),
        ("p2=01", apdus.compute_signature(digest_info, p2=0x01)),
    ])
    t.verify(AUTH_PIN)
    t.select_ef(EF_AUTH_KEY)
    seen += " " + _answers(t, [("le=01", Command(0x80, 0x2A, 0x00, 0x80, digest_info, le=1).encode()),
                               ("p1=03-no-data", Command(0x80, 0x2A, 0x03, 0x80, le=256).encode())])
    no_le = t.send(Command(0x80, 0x2A, 0x00, 0x80, digest_info).encode(), "sign without Le")
    t.select(COMMON)
    t.select_ef(0x0019)
    seen += f" no-le:{no_le.sw:04X}/{len(no_le.data)} " + _answers(t, [
        ("common-0019", apdus.compute_signature(digest_info))])
    t.observe(seen, "COMPUTE DIGITAL SIGNATURE forms outside CI §2 "
              "(name:SW, and the length answered without Le)")


@case("NEG-SIG-003", "The salt length of the card's RSASSA-PSS signatures (P1=04 and P1=05)",
      refs=["§6.2/P1=04", "§6.2/P1=05"], profiles=[J], needs=[Secret.AUTH_PIN], observes="answer:pss-salt")
def pss_salt(t: CaseContext) -> None:
    """
    CI §6.2: P1=04 and 05 sign with RSASSA-PSS and a random salt; its length is not recorded, and a
    verifier that does not accept any length (RFC 8017 §9.1.2; ISO/IEC 7816-8 leaves it to the
    card) needs it: OBSERVATION.
    1. As JPKI-SIG-001 steps 1–2. SELECT EF 0017.
    2. `80 2A 04 80 20 <SHA-256(message)> 00` and `80 2A 05 80 Lc <message> 00`.
    3. Verify each under the auth certificate's key with each salt length 0–222.
    4. Observed: the salt length of each (`none` when no length verifies).
    """
    key = auth_key_ready(t)
    digest = hashlib.sha256(PSS_MESSAGE).digest()
    seen = []
    for p1, data in ((0x04, digest), (0x05, PSS_MESSAGE)):
        signature = t.expect(apdus.compute_signature(data, p1=p1), f"COMPUTE DIGITAL SIGNATURE P1={p1:02X}").data
        seen.append(f"p1={p1:02X}:salt={pss_salt_length(key, signature, digest)}".replace("=None", "=none"))
    t.observe(" ".join(seen), "the RSASSA-PSS salt length of each scheme, in bytes")


@case("NEG-LEN-001", "READ BINARY Le edges: Le shorter than the rest, exactly the rest, past the end, extended",
      refs=["§2/READ-BINARY", "§1/extended", "§3/6B00"], profiles=[J, EXT])
def read_binary_le(t: CaseContext) -> None:
    """
    CI §2: the card returns at most Le bytes, fewer at the end of the EF with 9000, 6B00 beyond it;
    §1: extended Le 00 00 00 (65536) returns the whole EF. ISO/IEC 7816-4 §5.1 (Ne) and §11.2.3.
    1. SELECT JPKI, SELECT EF 000A. `00 B0 00 00 00 00 00` → 9000 with the whole EF (n bytes).
    2. `00 B0 00 00 01` → exactly 1 byte, the first; `00 B0 00 00 00` → exactly 256 bytes (CI §2:
       Le 00 = 256); offset n−2 with Le 2 → the last 2 bytes;
       offset n−2 with Le 5 → the same 2 bytes with 9000; offset n → 6B00.
    3. Extended Le of exactly n at offset 0 → the whole EF again.
    """
    t.select(JPKI)
    t.select_ef(EF_AUTH_CERT)
    whole = t.expect(apdus.read_binary(0, 65536, extended=True), "READ BINARY extended Le 65536").data
    n = len(whole)
    t.check(n > 2, f"the whole of EF 000A is {n} bytes")
    first = t.expect(apdus.read_binary(0, 1), "READ BINARY Le 1").data
    t.check(first == whole[:1], f"READ BINARY Le 1 answered {len(first)} bytes, expected the first byte")
    if n > 256:
        chunk = t.expect(apdus.read_binary(0, 256), "READ BINARY Le 00 (256)").data
        t.check(chunk == whole[:256], f"READ BINARY Le 00 answered {len(chunk)} bytes, expected the first 256")
    last = t.expect(apdus.read_binary(n - 2, 2), "READ BINARY the last 2 bytes (Le exactly the rest)").data
    t.check(last == whole[-2:], "READ BINARY of the last 2 bytes does not answer them")
    past = t.expect(apdus.read_binary(n - 2, 5), "READ BINARY Le 5 with 2 bytes left").data
    t.check(past == whole[-2:], f"READ BINARY past the end answered {len(past)} bytes, expected the 2 left")
    t.expect(apdus.read_binary(n, 1), "READ BINARY at the end of the EF", 0x6B00)
    again = t.expect(apdus.read_binary(0, n, extended=True), f"READ BINARY extended Le {n}").data
    t.check(again == whole, "READ BINARY with extended Le of exactly the EF size differs from the whole EF")


@case("NEG-LEN-002", "Length fields ISO 7816-3 forbids are answered 6700: a 3-byte APDU, extended Lc of 0, "
      "an extended case 4 with a 1-byte Le",
      refs=["§3/6700", "§1/extended"], profiles=[Profile.CORE])
def forbidden_lengths(t: CaseContext) -> None:
    """
    CI §3: 6700 = wrong length. ISO/IEC 7816-3 §12.1.3: an APDU has a 4-byte header; an extended
    Lc is 1–65535; an extended case 4 ends with a 2-byte Le.
    1. Reset. `00 A4 04` (3 bytes) → 6700 (the SW alone, as for every refusal below).
    2. `00 B0 00 00 00 00 00 01 00` (extended Lc 0 followed by a 2-byte Le) → 6700.
    3. `00 A4 04 0C 00 00 0A <JPKI AID> 00` (extended Lc 10, then one byte) → 6700.
    4. `00 B0 00 00 05 00 01` (short Lc 5, two bytes follow) → 6700.
    5. SELECT JPKI → 9000: the card still answers.
    """
    for label, apdu in (("a 3-byte APDU", bytes.fromhex("00A404")),
                        ("extended Lc of 0 with Le", bytes.fromhex("00B000000000000100")),
                        ("extended Lc 10 and a 1-byte Le", bytes.fromhex("00A4040C00000A") + JPKI.aid + b"\x00"),
                        ("Lc 5 and 2 bytes", bytes.fromhex("00B00000050001"))):
        answer = t.expect(apdu, label, 0x6700)
        t.check(not answer.data, f"{label}: 6700 came with {len(answer.data)} data bytes")
    t.select(JPKI)


@case("NEG-LEN-003", "Commands without the Le or with the data their case forbids: the answers",
      refs=["§2/READ-BINARY", "§2/READ-RECORD", "§2/GET-CHALLENGE", "§2/READ-BINARY-SFI"], profiles=[J, Profile.COMMON],
      observes="answer:command-cases")
def command_cases(t: CaseContext) -> None:
    """
    ISO/IEC 7816-4 §5.1: READ BINARY, READ RECORD, GET CHALLENGE and GET DATA are case 2 (Le, no
    data), INTERNAL AUTHENTICATE case 4;
    CI §2 gives only that form, so what a card answers to another is OBSERVATION.
    1. SELECT JPKI, SELECT EF 000A: READ BINARY without Le `00 B0 00 00`, with data
       `00 B0 00 00 01 00 00`, by SFI 0 `00 B0 80 00 01`, with P1 bits 0x60 `00 B0 E1 00 01`, by
       SFI 1E (an internal EF) `00 B0 9E 00 01`.
    2. GET CHALLENGE `00 84 01 00 08` (P1 01), without Le `00 84 00 00`, with data
       `00 84 00 00 01 00 08`; GET DATA without Le `00 CA 00 42`; GET RESPONSE `00 C0 00 00 10`
       (CI §2: the card never answers 61xx, so there is nothing to get).
    3. SELECT the 共通AP, SELECT EF 0001: READ RECORD without Le `00 B2 01 04`, by SFI 1F
       `00 B2 01 FC 00`; INTERNAL AUTHENTICATE without a challenge `00 88 00 99 00` (CI §2: 1–255
       bytes).
    4. Observed: the status word of each.
    """
    t.select(JPKI)
    t.select_ef(EF_AUTH_CERT)
    seen = _answers(t, [
        ("rb-no-le", bytes.fromhex("00B00000")),
        ("rb-data", bytes.fromhex("00B0000001000000")),
        ("rb-sfi0", bytes.fromhex("00B0800001")),
        ("rb-p1=E1", bytes.fromhex("00B0E10001")),
        ("rb-sfi1E", bytes.fromhex("00B09E0001")),
        ("gc-p1=01", bytes.fromhex("0084010008")),
        ("gc-no-le", bytes.fromhex("00840000")),
        ("gc-data", bytes.fromhex("00840000010008")),
        ("gd-no-le", bytes.fromhex("00CA0042")),
        ("gr", bytes.fromhex("00C0000010")),
    ])
    t.select(COMMON)
    t.select_ef(0x0001)
    seen += " " + _answers(t, [
        ("rr-no-le", bytes.fromhex("00B20104")),
        ("rr-sfi1F", bytes.fromhex("00B201FC00")),
        ("ia-no-data", bytes.fromhex("0088009900")),
    ])
    t.observe(seen, "case-2 commands in other forms (name:SW)")


@case("NEG-LEN-004", "GET DATA with Le exactly the object's length answers it; one byte shorter answers 6700",
      refs=["§2/GET-DATA", "§10/5F51", "§1/extended", "§3/6700"], profiles=[Profile.MF])
def get_data_le(t: CaseContext) -> None:
    """
    CI §1 and §3: a GET DATA object longer than Le → 6700; ISO/IEC 7816-4 §5.1: Ne equal to the
    length is enough.
    1. Reset. GET DATA `00 CA 5F 51 00` at the MF (Le 256) → 9000 with the object (n bytes); where
       the card keeps 5F51 in an AP (CI §12), SELECT JPKI first.
    2. GET DATA 5F51 with Le = n → 9000 with the same bytes; with Le = n − 1 → 6700.
    """
    response = t.send(apdus.get_data(0x5F51), "GET DATA 5F51 at the MF")
    if response.sw != 0x9000:
        t.select(JPKI)
        response = t.expect(apdus.get_data(0x5F51), "GET DATA 5F51 with JPKI selected")
    value = response.data
    exact = t.expect(apdus.get_data(0x5F51, len(value)), f"GET DATA 5F51 with Le {len(value)}").data
    t.check(exact == value, "GET DATA with Le exactly the object's length answered other bytes")
    t.expect(apdus.get_data(0x5F51, len(value) - 1), f"GET DATA 5F51 with Le {len(value) - 1}", 0x6700)


@case("NEG-MF-001", "Commands that need an AP or an EF, sent right after a reset: the answers",
      refs=["§4/MF", "§4/status-cleared-reset", "§2/SET-SESSION-KEY"], profiles=[Profile.CORE, Profile.MF, J],
      observes="answer:at-mf")
def commands_at_mf(t: CaseContext) -> None:
    """
    CI §4: after a reset the MF is current and holds no readable EF; what READ BINARY, the VERIFY
    query, SET SESSION KEY, COMPUTE DIGITAL SIGNATURE and INTERNAL AUTHENTICATE answer there
    (ISO/IEC 7816-4 §7.1: no current EF → 6986; no key → 6A88) is not recorded: OBSERVATION.
    1. SELECT JPKI, SELECT EF 000A, READ BINARY 1 byte → 9000. Warm reset.
    2. `00 B0 00 00 01`, `00 20 00 80`, `80 AE 00 00 02 00 00`, `80 2A 00 80 20 <32 bytes> 00`,
       `00 88 00 99 10 <16 bytes> 00`.
    3. Observed: the status word of each.
    """
    t.select(JPKI)
    t.select_ef(EF_AUTH_CERT)
    t.expect(apdus.read_binary(0, 1), "READ BINARY EF 000A")
    t.reset()
    seen = _answers(t, [
        ("read", apdus.read_binary(0, 1)),
        ("verify-query", apdus.verify(0x80)),
        ("session-key", apdus.set_session_key(bytes(2))),
        ("sign", apdus.compute_signature(bytes(32))),
        ("internal-auth", apdus.internal_authenticate(bytes(16))),
    ])
    t.observe(seen, "commands at the MF after a reset (name:SW)")


@case("NEG-CLA-001", "Class bytes no client uses: the answers",
      refs=["§1/channel", "§3/6D00"], profiles=[Profile.CORE, J], observes="answer:class-bytes")
def class_bytes(t: CaseContext) -> None:
    """
    ISO/IEC 7816-4 §5.4.1: CLA 1x = command chaining, x4/x8/xC = secure messaging, 8x proprietary;
    CI §2 gives CLA 00 for ISO commands and 80 for the proprietary ones, and no answer for others:
    OBSERVATION.
    1. Reset. SELECT JPKI with CLA 10 (chaining), 80 (proprietary class on an ISO INS), 04 (SM,
       proprietary coding); `FF A4 04 0C …` (CLA FF).
    2. SELECT JPKI. `00 2A 00 80 …` (COMPUTE DIGITAL SIGNATURE with CLA 00).
    3. Observed: the status word of each.
    """
    seen = _answers(t, [(f"cla={cla:02X}", apdus.select_aid(JPKI.aid, cla=cla)) for cla in (0x10, 0x80, 0x04, 0xFF)])
    t.select(JPKI)
    seen += " " + _answers(t, [("00-2A", Command(0x00, 0x2A, 0x00, 0x80, bytes(32), le=256).encode())])
    t.observe(seen, "class bytes outside CI §2 (name:SW)")


def _sizes(t: CaseContext, app: Application, fids: tuple[int, ...]) -> list[str]:
    """`app/FID=size` of each EF of the selected AP (`absent`, or the SW when it does not read)."""
    out = []
    for fid in fids:
        if t.send(apdus.select_ef(fid), f"SELECT EF {fid:04X}").sw != 0x9000:
            out.append(f"{app.key}/{fid:04X}=absent")
            continue
        response = t.send(apdus.read_binary(0, 65536, extended=True), f"READ BINARY EF {fid:04X} whole")
        out.append(f"{app.key}/{fid:04X}=" + (str(len(response.data)) if response.sw == 0x9000 else f"{response.sw:04X}"))
    return out


#: The EFs readable without a secret (CI §6.1, §7.1, §8), whose size a card vendor chooses.
FREE_EFS = ((JPKI, (0x0002, 0x0006, 0x0008, 0x000A, 0x000B)), (TEXT, (0x0004, 0x0005, 0x0008)),
            (VISUAL, (0x0003, 0x0004)))


@case("NEG-EF-001", "The sizes of the free EFs (whole-EF READ BINARY, filler included)",
      refs=["§4/filler", "§1/extended", "§6.1/000A", "§7.1/0005", "§8/0004"], profiles=[J, Profile.TEXT, Profile.VISUAL, EXT],
      observes="answer:ef-sizes")
def ef_sizes(t: CaseContext) -> None:
    """
    CI §4: transparent EFs are fixed-size and padded with filler; their sizes are not published
    (only some contents: text EF 0003 = 336 bytes, EF 0004 read as 568). ISO/IEC 7816-4 §11.2.3:
    extended Le 65536 reads to the end. OBSERVATION: what a vendor's sizes are.
    1. For each free EF of JPKI (0002, 0006, 0008, 000A, 000B), the text AP (0004, 0005, 0008)
       and the visual AP (0003, 0004): SELECT it, `00 B0 00 00 00 00 00`.
    2. Observed: the number of bytes of each (or the SW).
    """
    sizes = []
    for app, fids in FREE_EFS:
        t.select(app)
        sizes += _sizes(t, app, fids)
    t.observe(" ".join(sizes), "bytes in each free EF, read whole with extended Le")


@case("NEG-EF-002", "The sizes of the protected EFs of the 券面 APs (whole-EF READ BINARY after their secrets)",
      refs=["§4/filler", "§1/extended", "§6.1/0001", "§7.1/0006", "§8/0001", "§8/0002"],
      profiles=[J, Profile.TEXT, Profile.VISUAL, EXT],
      needs=[Secret.SIGN_PASSWORD, Secret.TEXT_PIN, Secret.BIRTH_KEY, Secret.CODE_A, Secret.CODE_B],
      observes="answer:protected-ef-sizes")
def protected_ef_sizes(t: CaseContext) -> None:
    """
    As NEG-EF-001, for the EFs that need a secret (CI §7.1, §8; ISO/IEC 7816-4 §11.2.3: extended
    Le 65536 reads to the end): OBSERVATION. Only sizes are recorded; the contents are personal and
    kept out of the report.
    1. VERIFY the signing password; read whole JPKI EF 0001 (the signing certificate's EF).
    2. VERIFY the 券面事項入力補助 PIN; read whole EF 0001, 0002, 0003, 0006, 0007.
    3. VERIFY the 生年月日 key of the 券面事項確認AP; read whole EF 0001.
    4. VERIFY 照合番号A and 照合番号B of the 券面事項確認AP; read whole EF 0002, 0005, 0006.
    5. Observed: the number of bytes of each (or the SW).
    """
    t.verify(SIGN_PASSWORD)
    sizes = _sizes(t, JPKI, (0x0001,))
    t.verify(TEXT_PIN)
    sizes += _sizes(t, TEXT, (0x0001, 0x0002, 0x0003, 0x0006, 0x0007))
    t.verify(VISUAL_BIRTH)
    sizes += _sizes(t, VISUAL, (0x0001,))
    t.verify(VISUAL_CODE_A)
    t.select_ef(VISUAL_CODE_B.fid)
    t.verify(VISUAL_CODE_B, select=False)
    sizes += _sizes(t, VISUAL, (0x0002, 0x0005, 0x0006))
    t.observe(" ".join(sizes), "bytes in each protected EF, read whole with extended Le after its secret")


@case("NEG-SM-001", "The SM counter advances on commands refused for their class or INS (CLA 0C, an INS "
      "without SM)", refs=["§11/counter", "§11/CLA-0C", "§3/6987"], profiles=SM_PROFILES, needs=[Secret.TEXT_PIN])
def sm_counter_on_refusals(t: CaseContext) -> None:
    """
    CI §11: N advances on every SM command, also rejected ones; CLA 0C → 6987. ISO/IEC 7816-4
    §10.2 (SM command and response data objects).
    1. Open a session as SM-SESS-001 steps 1–2.
    2. `0C A4 02 0C …` (N = 1) → 6987.
    3. SM READ RECORD `08 B2 01 04 …` (N = 2), a command the AP does not serve under SM → refused
       (the SW is noted).
    4. SM SELECT EF 0005 with N = 3 → 9000 (N advanced by exactly one on each refusal).
    """
    session = open_session(t)
    t.expect(sm_select_ef(0x0C, session.wrap(b"\x00\x05")), "SM SELECT with CLA 0C (N = 1)", 0x6987)
    refused = t.send(bytes((0x08, 0xB2, 0x01, 0x04)) + bytes((19,)) + session.wrap(b"\x00") + b"\x00",
                     "SM READ RECORD (N = 2)")
    t.check(refused.sw != 0x9000, "the AP answered an SM READ RECORD with 9000")
    t.note(f"SM READ RECORD was refused with {refused.sw:04X}")
    t.expect(sm_select_ef(0x08, session.wrap(b"\x00\x05")), "SM SELECT EF 0005 (N = 3)")


@case("NEG-SM-002", "SM VERIFY (DO 86) of the PIN is served in a session",
      refs=["§11/session", "§2/VERIFY"], profiles=SM_PROFILES, needs=[Secret.TEXT_PIN])
def sm_verify(t: CaseContext) -> None:
    """
    CI §11: the command DO 86 carries VERIFY and SELECT. ISO/IEC 7816-4 §10.2.
    1. Open a session as SM-SESS-001 steps 1–2 (the PIN verified in clear, at its maximum count).
    2. SM SELECT EF 0011 (N = 1) → 9000.
    3. `08 20 00 80 Lc 86 L 01 <cipher of the supplied PIN>` (N = 2) → 9000.
    """
    session = open_session(t)
    t.expect(sm_select_ef(0x08, session.wrap(b"\x00\x11")), "SM SELECT EF 0011 (N = 1)")
    wrapped = session.wrap(t.secret(Secret.TEXT_PIN))
    t.expect(bytes((0x08, 0x20, 0x00, 0x80, len(wrapped))) + wrapped, "SM VERIFY with the supplied PIN (N = 2)")


@case("NEG-SM-004", "SM READ BINARY whose Le is exactly the wrapped answer's length is served whole",
      refs=["§11/read", "§7.1/0001"], profiles=SM_PROFILES, needs=[Secret.TEXT_PIN])
def sm_read_le_exact(t: CaseContext) -> None:
    """
    CI §11: READ under SM answers `86 L 01 <cipher>`; ISO/IEC 7816-4 §5.1: Le is the most the
    terminal expects, so an answer of exactly Le bytes fits and is served with 9000.
    1. Open a session as SM-SESS-001 steps 1–2; read EF 0001 (17 bytes) in clear.
    2. SM SELECT EF 0001 (N = 1) → 9000.
    3. `08 B0 00 00 05 96 03 00 00 11 23` (17 bytes asked; their ISO-padded cipher is 32 bytes, so
       the object `86 21 01 <32>` is 35 = 0x23 bytes, the Le sent) (N = 2) → 9000 with 35 bytes
       that decrypt under IV(2) to the 17 bytes of step 1.
    """
    session = open_session(t)
    t.select_ef(0x0001)
    clear = t.expect(apdus.read_binary(0, 17), "READ BINARY EF 0001 in clear").data
    t.expect(sm_select_ef(sm.CLA_SM, session.wrap(b"\x00\x01")), "SM SELECT EF 0001 (N = 1)")
    counter = session.counter
    session.counter += 1
    ask = sm.expected_length_object(len(clear))
    wrapped_length = 3 + 2 * sm.BLOCK  # 86 21 01 and two AES blocks: 17 bytes and their padding
    answer = t.expect(bytes((sm.CLA_SM, 0xB0, 0x00, 0x00, len(ask))) + ask + bytes((wrapped_length,)),
                      "SM READ BINARY of 17 bytes with Le exactly the wrapped answer (N = 2)")
    t.check(len(answer.data) == wrapped_length,
            f"the answer is {len(answer.data)} bytes, not the {wrapped_length} of `86 21 01 <cipher>`")
    try:
        plain = sm.decrypt(session.key, counter, sm.cryptogram(answer.data))
    except sm.SmFormatError as exc:
        t.fail(f"the answer is not 86 L 01 <cipher> under the command's IV ({exc})")
    t.check(plain == clear, "the SM READ with an exact Le does not decrypt to EF 0001's bytes")


@case("NEG-SM-003", "SM READ BINARY whose Le is shorter than the wrapped answer, and without Le: the answers",
      refs=["§11/read", "§3/6700"], profiles=SM_PROFILES, needs=[Secret.TEXT_PIN], observes="answer:sm-le")
def sm_read_le(t: CaseContext) -> None:
    """
    CI §11: READ under SM carries `96 03 00 <Le2>` and answers `86 L 01 <cipher>`; what the card
    answers when the SM command's own Le cannot hold that object (ISO/IEC 7816-4 §5.1: 6700 or
    6Cxx) or is absent is not recorded: OBSERVATION.
    1. Open a session as SM-SESS-001 steps 1–2; SM SELECT EF 0005 (N = 1) → 9000.
    2. `08 B0 00 00 05 96 03 00 00 10 04` (16 bytes asked, Le 4) (N = 2).
    3. `08 B0 00 00 05 96 03 00 00 10` (no Le) (N = 3).
    4. `08 B0 00 00 00 00 05 96 03 00 00 00 01 10` (the whole EF, 256 bytes, whose answer object
       is longer than its extended Le of 272) (N = 4).
    5. SM SELECT EF 0005 with N = 5; then `80 AE 01 00 02 00 00` (SET SESSION KEY with P1 01) and
       `80 AE 00 00 02 00 00` (a key delivery of 2 bytes, not one RSA block).
    6. Observed: the status words of steps 2–5.
    """
    session = open_session(t)
    t.expect(sm_select_ef(0x08, session.wrap(b"\x00\x05")), "SM SELECT EF 0005 (N = 1)")
    ask = bytes.fromhex("9603000010")
    session.counter += 1
    short = t.send(bytes((0x08, 0xB0, 0x00, 0x00, len(ask))) + ask + b"\x04", "SM READ BINARY with Le 4 (N = 2)")
    session.counter += 1
    no_le = t.send(bytes((0x08, 0xB0, 0x00, 0x00, len(ask))) + ask, "SM READ BINARY without Le (N = 3)")
    session.counter += 1
    whole = bytes.fromhex("9603000000")
    extended = t.send(bytes((0x08, 0xB0, 0x00, 0x00, 0x00, 0x00, len(whole))) + whole + b"\x01\x10",
                      "SM READ BINARY of the whole EF, extended Le 0110 (N = 4)")
    after = t.send(sm_select_ef(0x08, session.wrap(b"\x00\x05")), "SM SELECT EF 0005 (N = 5)")
    key_p1 = t.send(Command(0x80, 0xAE, 0x01, 0x00, bytes(2)).encode(), "SET SESSION KEY with P1 01")
    key_short = t.send(apdus.set_session_key(bytes(2)), "SET SESSION KEY with 2 bytes")
    t.observe(f"le=04:{short.sw:04X} no-le:{no_le.sw:04X} ext-le=0110:{extended.sw:04X} next:{after.sw:04X} "
              f"sk-p1=01:{key_p1.sw:04X} sk-2-bytes:{key_short.sw:04X}",
              "SM READ BINARY with a short, no and an extended Le, the next SM command, SET SESSION KEY P1 01")
