"""JPKI: the 公的個人認証AP — its EFs, certificates, keys and the six signature schemes (CI §2, §4, §6).

Signatures are verified with `cryptography` against the public key of the card's own certificate,
so a case passes only if the card signed with the key its certificate certifies.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.codec.digest_info import of_message
from mynacard.conformance import apdus
from mynacard.conformance.card_map import (
    AUTH_PIN,
    EF_AUTH_CA,
    EF_AUTH_CERT,
    EF_AUTH_KEY,
    EF_CERT_AVAILABILITY,
    EF_JPKI_PROTECTED,
    EF_SIGN_CA,
    EF_SIGN_CERT,
    EF_SIGN_KEY,
    EF_TERMINAL_KEY_REF,
    EF_TOKEN_INFO,
    JPKI,
    MAX_PKCS1_INPUT,
    SIGN_PASSWORD,
    TEXT,
    TOKEN_LABEL_MY_NUMBER_CARD,
)
from mynacard.conformance.catalogue.registry import case
from mynacard.conformance.checks import (
    DataError,
    cert_signed_by,
    certificate,
    pkcs1_payload,
    rsa_public_key,
    verifies_pkcs1_sha256,
    verifies_pss_sha256,
)
from mynacard.conformance.context import CaseContext
from mynacard.conformance.model import Profile, Secret

P = [Profile.JPKI]
EXT = Profile.EXTENDED_LENGTH
MESSAGE = b"mynacard conformance: a message to sign"


def _cert(t: CaseContext, fid: int, what: str):  # noqa: ANN202 - an x509.Certificate
    der = t.read_object(fid, what)
    try:
        return certificate(der, what)
    except DataError as exc:
        t.fail(str(exc))


def _public_key(t: CaseContext, fid: int, what: str) -> rsa.RSAPublicKey:
    try:
        return rsa_public_key(_cert(t, fid, what), what)
    except DataError as exc:
        t.fail(str(exc))


def _sign(t: CaseContext, p1: int, data: bytes, label: str, *, p2: int = 0x80) -> bytes:
    signature = t.expect(apdus.compute_signature(data, p1=p1, p2=p2), label).data
    t.check(len(signature) == 256, f"{label}: the signature is {len(signature)} bytes, expected 256 (RSA-2048)")
    return signature


def auth_key_ready(t: CaseContext) -> rsa.RSAPublicKey:
    """Read the auth certificate's key, verify the auth PIN, select the auth key EF."""
    t.select(JPKI)
    key = _public_key(t, EF_AUTH_CERT, "auth certificate (EF 000A)")
    t.select_ef(AUTH_PIN.fid)
    t.verify(AUTH_PIN, select=False)
    t.select_ef(EF_AUTH_KEY)
    return key


@case("JPKI-EF-001", "Exactly the EFs JSA-DUMP enumerated are selectable in the JPKI AP",
      refs=["§4/EF-map", "§2/SELECT-EF", "§6.1/0016", "§6.1/0017", "§6.1/001A"], profiles=P)
def ef_map(t: CaseContext) -> None:
    """
    1. SELECT JPKI. For every FID 0001–001E: SELECT EF → 9000 if it is one of 0001 0002 0005 0006 0008
       0009 000A 000B 0010 0016 0017 0018 0019 001A 001B 001C 001E (CI §4), else 6A82.
    """
    t.select(JPKI)
    assert JPKI.enumerated_efs is not None
    for fid in range(0x0001, 0x001F):
        t.expect(apdus.select_ef(fid), f"SELECT EF {fid:04X}", 0x9000 if fid in JPKI.enumerated_efs else 0x6A82)


@case("JPKI-READ-001", "The auth certificate reads in 256-byte chunks, sized from its header, padded with filler",
      refs=["§2/READ-BINARY", "§4/filler", "§6.1/000A", "§13/A"], profiles=P)
def read_chunks(t: CaseContext) -> None:
    """
    1. SELECT JPKI, SELECT EF 000A. READ BINARY `00 B0 00 00 04` → `30 82 LL LL`.
    2. READ BINARY the whole EF in 256-byte chunks (Le=00) with P1-P2 offsets, until a short chunk
       (or 6B00 exactly at the end): every chunk but the last is 256 bytes.
    3. Bytes 0…LLLL+3 are the certificate; everything after it is filler (all FF, or all 00).
    """
    t.select(JPKI)
    t.select_ef(EF_AUTH_CERT)
    head = t.expect(apdus.read_binary(0, 4), "READ BINARY 4-byte header").data
    t.check(len(head) == 4 and head[:2] == b"\x30\x82", "EF 000A does not start with 30 82 LL LL")
    size = int.from_bytes(head[2:4], "big") + 4
    content = t.read_current("EF 000A")
    t.check(len(content) >= size, f"EF 000A is {len(content)} bytes, shorter than its certificate ({size})")
    filler = content[size:]
    t.check(filler in (b"\xff" * len(filler), b"\x00" * len(filler)),
            "the bytes after the certificate in EF 000A are not filler (FF or 00)")
    t.note(f"EF 000A: {size}-byte certificate in a {len(content)}-byte EF")


@case("JPKI-READ-002", "READ BINARY at the end of an EF returns the remaining bytes with 9000; beyond it 6B00",
      refs=["§2/READ-BINARY", "§3/6B00", "§12/EOF"], profiles=P)
def read_eof(t: CaseContext) -> None:
    """
    1. SELECT JPKI, SELECT EF 000A and read it whole (physical size N).
    2. READ BINARY at offset N−3 with Le=00 → 9000 with exactly 3 bytes (fewer than Le at EOF).
    3. READ BINARY at offset N, Le=01 → 6B00; at offset 7FFF → 6B00. 6282 passes as the variant
       MC tolerates (CI §12).
    """
    t.select(JPKI)
    t.select_ef(EF_AUTH_CERT)
    content = t.read_current("EF 000A")
    size = len(content)
    tail = t.expect(apdus.read_binary(size - 3, 256), f"READ BINARY at {size - 3} (3 bytes before the end)").data
    t.check(tail == content[-3:], f"READ BINARY at EOF−3 returned {len(tail)} bytes, expected the last 3")
    variants = {0x6282: "MC also accepts 6282 at the end of file (CI §12)"}
    t.expect(apdus.read_binary(size, 1), f"READ BINARY at {size} (just past the end)", 0x6B00, variants=variants)
    t.expect(apdus.read_binary(0x7FFF, 1), "READ BINARY at 7FFF", 0x6B00, variants=variants)


@case("JPKI-READ-003", "READ BINARY by SFI reads and selects the EF without SELECT",
      refs=["§2/READ-BINARY-SFI", "§2/READ-BINARY"], profiles=P)
def read_sfi(t: CaseContext) -> None:
    """
    1. SELECT JPKI, SELECT EF 000A, read 512 bytes at offsets 0 and 256 (the reference).
    2. SELECT JPKI again (no EF selected). READ BINARY `00 B0 8A 00 00` → the first 256 bytes.
    3. READ BINARY `00 B0 01 00 00` (offset form, current EF) → bytes 256–511: the SFI read
       selected EF 000A.
    4. READ BINARY `00 B0 8A 10 08` → bytes 16–23 (P2 is the offset in the SFI form).
    """
    t.select(JPKI)
    t.select_ef(EF_AUTH_CERT)
    first = t.expect(apdus.read_binary(0, 256), "READ BINARY at 0").data
    second = t.expect(apdus.read_binary(256, 256), "READ BINARY at 256").data
    t.select(JPKI)
    by_sfi = t.expect(apdus.read_binary_sfi(EF_AUTH_CERT, 0, 256), "READ BINARY SFI 0A at 0").data
    t.check(by_sfi == first, "READ BINARY by SFI 0A differs from EF 000A read after SELECT")
    following = t.expect(apdus.read_binary(256, 256), "READ BINARY at 256 after the SFI read").data
    t.check(following == second, "after READ BINARY by SFI, the current EF is not 000A")
    part = t.expect(apdus.read_binary_sfi(EF_AUTH_CERT, 0x10, 8), "READ BINARY SFI 0A at 16, 8 bytes").data
    t.check(part == first[16:24], "READ BINARY SFI with P2=10 does not read from offset 16")


@case("JPKI-READ-004", "READ BINARY with extended Le returns the whole EF in one response",
      refs=["§1/extended", "§2/READ-BINARY", "§2/READ-BINARY-SFI"], profiles=[Profile.JPKI, EXT])
def read_extended(t: CaseContext) -> None:
    """
    1. SELECT JPKI, SELECT EF 000A, read it in 256-byte chunks (the reference).
    2. READ BINARY `00 B0 00 00 00 00 00` (extended Le 65536) → 9000 with the whole EF.
    3. SELECT JPKI. READ BINARY `00 B0 8A 00 00 00 00` (SFI + extended Le, JSA's form) → the whole EF.
    """
    t.select(JPKI)
    t.select_ef(EF_AUTH_CERT)
    reference = t.read_current("EF 000A")
    whole = t.expect(apdus.read_binary(0, 65536, extended=True), "READ BINARY with extended Le").data
    t.check(whole == reference, f"extended READ BINARY returned {len(whole)} bytes, not the {len(reference)}-byte EF")
    t.select(JPKI)
    by_sfi = t.expect(apdus.read_binary_sfi(EF_AUTH_CERT, 0, 65536, extended=True),
                      "READ BINARY SFI 0A with extended Le").data
    t.check(by_sfi == reference, "extended READ BINARY by SFI does not return the whole EF")


@case("JPKI-CERT-001", "The auth certificate and auth CA certificate are free, RSA-2048, and chain",
      refs=["§6.1/000A", "§6.1/000B", "§6.1/RSA-2048", "§13/A"], profiles=P)
def auth_certificates(t: CaseContext) -> None:
    """
    1. SELECT JPKI. Read EF 000A and EF 000B sized from their headers (flow A) — no PIN.
    2. Both parse as X.509 DER with RSA-2048 keys.
    3. The auth certificate's signature verifies with the 000B key and its issuer is 000B's subject.
    """
    t.select(JPKI)
    cert = _cert(t, EF_AUTH_CERT, "auth certificate (EF 000A)")
    ca = _cert(t, EF_AUTH_CA, "auth CA certificate (EF 000B)")
    for what, c in (("EF 000A", cert), ("EF 000B", ca)):
        key = c.public_key()
        t.check(isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048, f"{what} does not hold an RSA-2048 key")
    t.check(cert.issuer == ca.subject, "the auth certificate's issuer is not the subject of EF 000B")
    t.check(cert_signed_by(cert, ca), "the auth certificate's signature does not verify with the EF 000B key")


@case("JPKI-CERT-002", "The signing CA certificate is free and RSA-2048",
      refs=["§6.1/0002", "§6.1/RSA-2048"], profiles=P)
def sign_ca(t: CaseContext) -> None:
    """
    1. SELECT JPKI. Read EF 0002 sized from its header, without any PIN → X.509 DER, RSA-2048.
    """
    t.select(JPKI)
    key = _cert(t, EF_SIGN_CA, "signing CA certificate (EF 0002)").public_key()
    t.check(isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048, "EF 0002 does not hold an RSA-2048 key")


@case("JPKI-CERT-003", "The signing certificate cannot be read without the signing password (6982)",
      refs=["§6.1/0001", "§3/6982", "§12/sign-cert", "§2/READ-BINARY-SFI"], profiles=P)
def sign_cert_protected(t: CaseContext) -> None:
    """
    1. SELECT JPKI, SELECT EF 0001 → 9000. READ BINARY `00 B0 00 00 04` → 6982.
    2. SELECT JPKI. READ BINARY by SFI `00 B0 81 00 00` → 6982.
    """
    t.select(JPKI)
    t.select_ef(EF_SIGN_CERT)
    t.expect(apdus.read_binary(0, 4), "READ BINARY EF 0001 without the signing password", 0x6982)
    t.select(JPKI)
    t.expect(apdus.read_binary_sfi(EF_SIGN_CERT, 0, 256), "READ BINARY SFI 01 without the signing password", 0x6982)


@case("JPKI-CERT-004", "After the signing password the signing certificate reads, is RSA-2048 and chains to EF 0002",
      refs=["§6.1/0001", "§6.1/001B", "§2/VERIFY", "§6.1/RSA-2048"], profiles=P, needs=[Secret.SIGN_PASSWORD])
def sign_cert_after_password(t: CaseContext) -> None:
    """
    1. SELECT JPKI, SELECT EF 001B, VERIFY query → 63C5 (else SKIPPED in a non-destructive run),
       VERIFY with the signing password → 9000.
    2. Read EF 0001 sized from its header → X.509 DER, RSA-2048.
    3. Read EF 0002; the signing certificate's issuer is its subject and the signature verifies.
    """
    t.verify(SIGN_PASSWORD)
    cert = _cert(t, EF_SIGN_CERT, "signing certificate (EF 0001)")
    ca = _cert(t, EF_SIGN_CA, "signing CA certificate (EF 0002)")
    key = cert.public_key()
    t.check(isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048, "EF 0001 does not hold an RSA-2048 key")
    t.check(cert.issuer == ca.subject, "the signing certificate's issuer is not the subject of EF 0002")
    t.check(cert_signed_by(cert, ca), "the signing certificate's signature does not verify with the EF 0002 key")


@case("JPKI-EF-002", "EF 0008 (certificate availability) reads 8F 8F 00 on a card with both certificates",
      refs=["§6.1/0008"], profiles=P)
def cert_availability(t: CaseContext) -> None:
    """
    1. SELECT JPKI, SELECT EF 0008, READ BINARY `00 B0 00 00 03` → 9000, 3 bytes.
    2. Expect byte 0 = 8F (a signing certificate is issued); `8F 8F 00` is what cards show (CI §6.1).
    """
    t.select(JPKI)
    t.select_ef(EF_CERT_AVAILABILITY)
    data = t.expect(apdus.read_binary(0, 3), "READ BINARY EF 0008").data
    t.check(len(data) == 3, f"EF 0008 read {len(data)} bytes, expected 3")
    t.check(data[0] == 0x8F, f"EF 0008 byte 0 is {data[0]:02X}: the card says it has no signing certificate")
    if data != b"\x8f\x8f\x00":
        t.note(f"EF 0008 is {data.hex().upper()}, not the 8F8F00 seen on cards")


@case("JPKI-EF-003", "EF 0006 is a 160-byte CK_TOKEN_INFO labelled JPKIAPICCTOKEN2",
      refs=["§6.1/0006"], profiles=P)
def token_info(t: CaseContext) -> None:
    """
    1. SELECT JPKI, SELECT EF 0006, READ BINARY `00 B0 00 00 A0` → 9000, 160 bytes.
    2. Bytes 0–31 (label) are `JPKIAPICCTOKEN2` padded with spaces: the My Number Card's token label
       (JPKIAPICCTOKEN is the 住基カード, the others are smartphone tokens).
    3. Bytes 32–63 (manufacturer ID), 64–79 (model) and 80–95 (serial number) are printable ASCII.
    """
    t.select(JPKI)
    t.select_ef(EF_TOKEN_INFO)
    data = t.expect(apdus.read_binary(0, 0xA0), "READ BINARY EF 0006, 160 bytes").data
    t.check(len(data) == 160, f"EF 0006 read {len(data)} bytes, expected 160")
    label = data[:32]
    t.check(label == TOKEN_LABEL_MY_NUMBER_CARD.ljust(32, b" "),
            f"the token label is {label.rstrip()!r}, expected JPKIAPICCTOKEN2 padded with spaces")
    t.check(all(0x20 <= b < 0x7F for b in data[32:96]), "manufacturer, model or serial is not printable ASCII")


@case("JPKI-EF-004", "Protected EF 0009 and the key and PIN EFs never return data",
      refs=["§6.1/0009", "§6.1/0017", "§6.1/001A", "§6.1/0018", "§6.1/001B", "§3/6982", "§3/6981"], profiles=P)
def protected_efs(t: CaseContext) -> None:
    """
    1. SELECT JPKI, SELECT EF 0009, READ BINARY `00 B0 00 00 01` → 6982.
    2. For the auth key 0017, the signing key 001A, the auth PIN 0018 and the signing password 001B:
       SELECT → 9000, READ BINARY → 6981 (internal EF) — 6982 is accepted too; data never.
    """
    t.select(JPKI)
    t.select_ef(EF_JPKI_PROTECTED)
    t.expect(apdus.read_binary(0, 1), "READ BINARY EF 0009", 0x6982)
    for fid, what in ((EF_AUTH_KEY, "auth key"), (EF_SIGN_KEY, "signing key"),
                      (AUTH_PIN.fid, "auth PIN"), (SIGN_PASSWORD.fid, "signing password")):
        t.select_ef(fid)
        t.expect(apdus.read_binary(0, 1), f"READ BINARY EF {fid:04X} ({what})", (0x6981, 0x6982))


@case("JPKI-80A2-001", "80 A2 (verify terminal CV certificate) with P1P2 0000, 00AE, 8000, 00B6 answers 6A86",
      refs=["§2/80A2", "§6.1/0016", "§3/6A86"], profiles=P)
def set_public_ic_key(t: CaseContext) -> None:
    """
    1. SELECT JPKI, SELECT EF 0016.
    2. `80 A2 P1 P2 03 7F 21 00` for P1P2 = 0000, 00AE, 8000, 00B6 → 6A86 each (CI §2: unusable
       without a terminal certificate).
    """
    t.select(JPKI)
    t.select_ef(EF_TERMINAL_KEY_REF)
    for p1p2 in (0x0000, 0x00AE, 0x8000, 0x00B6):
        raw = bytes((0x80, 0xA2, p1p2 >> 8, p1p2 & 0xFF, 0x03, 0x7F, 0x21, 0x00))
        t.expect(raw, f"80 A2 {p1p2:04X}", 0x6A86)


@case("JPKI-SIG-001", "P1=00: the auth key signs a SHA-256 DigestInfo; the signature verifies with the auth certificate",
      refs=["§6.2/P1=00", "§2/COMPUTE-DIGITAL-SIGNATURE", "§6.1/0017", "§6.1/0018", "§2/VERIFY", "§13/B"],
      profiles=P, needs=[Secret.AUTH_PIN])
def sign_p1_00(t: CaseContext) -> None:
    """
    1. SELECT JPKI; read the auth certificate (EF 000A) for its public key.
    2. SELECT EF 0018, VERIFY query → 63C3 (else SKIPPED in a non-destructive run), VERIFY auth PIN → 9000.
    3. SELECT EF 0017. `80 2A 00 80 33 <SHA-256 DigestInfo> 00` → 9000 with 256 bytes.
    4. The signature verifies as PKCS#1 v1.5 SHA-256 over the message with the certificate's key.
    """
    key = auth_key_ready(t)
    signature = _sign(t, 0x00, of_message("sha256", MESSAGE), "COMPUTE DIGITAL SIGNATURE P1=00 SHA-256 DigestInfo")
    t.check(verifies_pkcs1_sha256(key, signature, MESSAGE), "the P1=00 signature does not verify with the auth certificate")


@case("JPKI-SIG-002", "P1=00 signs SHA-1, SHA-384 and SHA-512 DigestInfos as given",
      refs=["§6.2/P1=00"], profiles=P, needs=[Secret.AUTH_PIN])
def sign_p1_00_other_hashes(t: CaseContext) -> None:
    """
    1. As JPKI-SIG-001 steps 1–3 for DigestInfos of SHA-1 (35 bytes), SHA-384 (83) and SHA-512 (99).
    2. Each signature opens (PKCS#1 v1.5 type 1) to exactly the DigestInfo sent.
    """
    key = auth_key_ready(t)
    for algorithm in ("sha1", "sha384", "sha512"):
        info = of_message(algorithm, MESSAGE)
        signature = _sign(t, 0x00, info, f"COMPUTE DIGITAL SIGNATURE P1=00 {algorithm.upper()} DigestInfo")
        t.check(pkcs1_payload(key, signature) == info, f"the P1=00 signature over a {algorithm} DigestInfo does not open to it")


@case("JPKI-SIG-003", "P1=01: the card hashes the message with SHA-256 and pads the bare hash",
      refs=["§6.2/P1=01"], profiles=P, needs=[Secret.AUTH_PIN])
def sign_p1_01(t: CaseContext) -> None:
    """
    1. As JPKI-SIG-001 steps 1–2. SELECT EF 0017.
    2. `80 2A 01 80 Lc <message> 00` → 256 bytes, which open (PKCS#1 v1.5 type 1) to SHA-256(message),
       32 bytes, with no DigestInfo.
    """
    key = auth_key_ready(t)
    signature = _sign(t, 0x01, MESSAGE, "COMPUTE DIGITAL SIGNATURE P1=01 over the message")
    t.check(pkcs1_payload(key, signature) == hashlib.sha256(MESSAGE).digest(),
            "the P1=01 signature does not carry the bare SHA-256 of the message")


@case("JPKI-SIG-004", "P1=02: the card wraps a 32-byte SHA-256 hash in a DigestInfo",
      refs=["§6.2/P1=02"], profiles=P, needs=[Secret.AUTH_PIN])
def sign_p1_02(t: CaseContext) -> None:
    """
    1. As JPKI-SIG-001 steps 1–2. SELECT EF 0017.
    2. `80 2A 02 80 20 <SHA-256(message)> 00` → 256 bytes that verify as sha256WithRSA over the message.
    """
    key = auth_key_ready(t)
    signature = _sign(t, 0x02, hashlib.sha256(MESSAGE).digest(), "COMPUTE DIGITAL SIGNATURE P1=02 over a hash")
    t.check(verifies_pkcs1_sha256(key, signature, MESSAGE), "the P1=02 signature is not sha256WithRSA over the message")


@case("JPKI-SIG-005", "P1=03: the card computes sha256WithRSA over the message",
      refs=["§6.2/P1=03"], profiles=P, needs=[Secret.AUTH_PIN])
def sign_p1_03(t: CaseContext) -> None:
    """
    1. As JPKI-SIG-001 steps 1–2. SELECT EF 0017.
    2. `80 2A 03 80 Lc <message> 00` → 256 bytes that verify as sha256WithRSA over the message.
    3. The same with a 255-byte message (the longest a short Lc carries, CI §6.2).
    """
    key = auth_key_ready(t)
    for message in (MESSAGE, bytes(range(255))):
        signature = _sign(t, 0x03, message, f"COMPUTE DIGITAL SIGNATURE P1=03 over {len(message)} bytes")
        t.check(verifies_pkcs1_sha256(key, signature, message),
                f"the P1=03 signature over {len(message)} bytes is not sha256WithRSA")


@case("JPKI-SIG-006", "P1=04: RSASSA-PSS over a 32-byte hash, with a random salt",
      refs=["§6.2/P1=04"], profiles=P, needs=[Secret.AUTH_PIN])
def sign_p1_04(t: CaseContext) -> None:
    """
    1. As JPKI-SIG-001 steps 1–2. SELECT EF 0017.
    2. `80 2A 04 80 20 <SHA-256(message)> 00` twice → two 256-byte signatures.
    3. Both verify as RSASSA-PSS (SHA-256, MGF1-SHA-256, any salt length); they differ (random salt).
    """
    key = auth_key_ready(t)
    digest = hashlib.sha256(MESSAGE).digest()
    first = _sign(t, 0x04, digest, "COMPUTE DIGITAL SIGNATURE P1=04 over a hash")
    second = _sign(t, 0x04, digest, "COMPUTE DIGITAL SIGNATURE P1=04 over the same hash")
    t.check(verifies_pss_sha256(key, first, digest) and verifies_pss_sha256(key, second, digest),
            "the P1=04 signature is not RSASSA-PSS-SHA256 over the hash")
    t.check(first != second, "two P1=04 signatures of the same hash are equal: the PSS salt is not random")


@case("JPKI-SIG-007", "P1=05: the card hashes the message and signs with RSASSA-PSS",
      refs=["§6.2/P1=05"], profiles=P, needs=[Secret.AUTH_PIN])
def sign_p1_05(t: CaseContext) -> None:
    """
    1. As JPKI-SIG-001 steps 1–2. SELECT EF 0017.
    2. `80 2A 05 80 Lc <message> 00` → 256 bytes that verify as RSASSA-PSS over SHA-256(message).
    """
    key = auth_key_ready(t)
    signature = _sign(t, 0x05, MESSAGE, "COMPUTE DIGITAL SIGNATURE P1=05 over the message")
    t.check(verifies_pss_sha256(key, signature, hashlib.sha256(MESSAGE).digest()),
            "the P1=05 signature is not RSASSA-PSS over SHA-256 of the message")


@case("JPKI-SIG-008", "An unknown signature scheme P1 answers 6A86",
      refs=["§6.2/P1-other", "§3/6A86"], profiles=P, needs=[Secret.AUTH_PIN])
def sign_bad_p1(t: CaseContext) -> None:
    """
    1. As JPKI-SIG-001 steps 1–2. SELECT EF 0017.
    2. `80 2A P1 80 33 <DigestInfo> 00` with P1 = 06, 80, FF → 6A86 each.
    """
    auth_key_ready(t)
    for p1 in (0x06, 0x80, 0xFF):
        t.expect(apdus.compute_signature(of_message("sha256", MESSAGE), p1=p1), f"COMPUTE DIGITAL SIGNATURE P1={p1:02X}",
                 0x6A86)


@case("JPKI-SIG-009", "Signing input of a wrong length is refused with 6700 or 6985",
      refs=["§6.2/bad-length", "§3/6700", "§3/6985"], profiles=P, needs=[Secret.AUTH_PIN])
def sign_bad_length(t: CaseContext) -> None:
    """
    1. As JPKI-SIG-001 steps 1–2. SELECT EF 0017.
    2. P1=00 with 246 bytes (more than k−11 = 245) → 6700 or 6985.
    3. P1=02 with 31 and 33 bytes (not a SHA-256 hash) → 6700 or 6985 each.
    4. P1=04 with 31 bytes → 6700 or 6985.
    """
    auth_key_ready(t)
    bad = ((0x00, MAX_PKCS1_INPUT + 1), (0x02, 31), (0x02, 33), (0x04, 31))
    for p1, length in bad:
        t.expect(apdus.compute_signature(bytes(length), p1=p1), f"COMPUTE DIGITAL SIGNATURE P1={p1:02X} with {length} bytes",
                 (0x6700, 0x6985))


@case("JPKI-SIG-010", "Signing without the PIN is refused with 6982, for both keys",
      refs=["§3/6982", "§6.1/0017", "§6.1/001A", "§2/COMPUTE-DIGITAL-SIGNATURE"], profiles=P)
def sign_without_pin(t: CaseContext) -> None:
    """
    1. SELECT JPKI, SELECT EF 0017, `80 2A 00 80 33 <DigestInfo> 00` → 6982.
    2. SELECT EF 001A, the same → 6982.
    3. `80 2A 00 97 …` and `80 2A 00 9A …` (keys by SFI) → 6982 each.
    """
    t.select(JPKI)
    info = of_message("sha256", MESSAGE)
    t.select_ef(EF_AUTH_KEY)
    t.expect(apdus.compute_signature(info), "sign with the auth key, no PIN", 0x6982)
    t.select_ef(EF_SIGN_KEY)
    t.expect(apdus.compute_signature(info), "sign with the signing key, no password", 0x6982)
    t.expect(apdus.compute_signature(info, p2=0x80 | EF_AUTH_KEY), "sign with key SFI 17, no PIN", 0x6982)
    t.expect(apdus.compute_signature(info, p2=0x80 | EF_SIGN_KEY), "sign with key SFI 1A, no password", 0x6982)


@case("JPKI-SIG-011", "VERIFY and COMPUTE DIGITAL SIGNATURE by SFI work without SELECT EF (auth key)",
      refs=["§6.2/SFI", "§2/VERIFY-SFI", "§13/B"], profiles=P, needs=[Secret.AUTH_PIN])
def sign_by_sfi(t: CaseContext) -> None:
    """
    1. SELECT JPKI; read the auth certificate. SELECT JPKI again (no EF selected).
    2. VERIFY query `00 20 00 98` → 63C3 (else SKIPPED in a non-destructive run);
       `00 20 00 98 04 <auth PIN>` → 9000.
    3. `80 2A 00 97 33 <DigestInfo> 00` → 256 bytes verifying with the auth certificate.
    """
    t.select(JPKI)
    key = _public_key(t, EF_AUTH_CERT, "auth certificate (EF 000A)")
    t.select(JPKI)
    t.verify(AUTH_PIN, select=False, by_sfi=True)
    signature = _sign(t, 0x00, of_message("sha256", MESSAGE), "sign with key SFI 17", p2=0x80 | EF_AUTH_KEY)
    t.check(verifies_pkcs1_sha256(key, signature, MESSAGE), "the signature by SFI does not verify with the auth certificate")


@case("JPKI-SIG-012", "The signing key signs after the signing password; the signature verifies with the signing certificate",
      refs=["§6.1/001A", "§6.1/001B", "§6.2/P1=00", "§6.2/SFI", "§13/B"], profiles=P, needs=[Secret.SIGN_PASSWORD])
def sign_with_signing_key(t: CaseContext) -> None:
    """
    1. SELECT JPKI, SELECT EF 001B, VERIFY query → 63C5, VERIFY with the signing password → 9000.
    2. Read the signing certificate (EF 0001) for its public key.
    3. SELECT EF 001A. `80 2A 00 80 33 <SHA-256 DigestInfo> 00` → 256 bytes verifying with it.
    4. `80 2A 00 9A 33 <DigestInfo> 00` (key by SFI) → 256 bytes verifying with it.
    """
    t.verify(SIGN_PASSWORD)
    cert = _cert(t, EF_SIGN_CERT, "signing certificate (EF 0001)")
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    t.select_ef(EF_SIGN_KEY)
    info = of_message("sha256", MESSAGE)
    signature = _sign(t, 0x00, info, "sign with the signing key (EF 001A selected)")
    t.check(verifies_pkcs1_sha256(key, signature, MESSAGE), "the signing key's signature does not verify with EF 0001")
    by_sfi = _sign(t, 0x00, info, "sign with key SFI 1A", p2=0x80 | EF_SIGN_KEY)
    t.check(verifies_pkcs1_sha256(key, by_sfi, MESSAGE), "the signature by SFI 1A does not verify with EF 0001")


@case("JPKI-SIG-013", "The auth PIN does not open the signing key, nor the signing password the auth key",
      refs=["§6.1/0017", "§6.1/001A", "§3/6982"], profiles=P, needs=[Secret.AUTH_PIN, Secret.SIGN_PASSWORD])
def keys_kept_apart(t: CaseContext) -> None:
    """
    1. SELECT JPKI, VERIFY the auth PIN → 9000. SELECT EF 001A, sign → 6982. SELECT EF 0001,
       READ BINARY → 6982.
    2. Warm reset (re-selecting JPKI may keep the auth PIN verified, CI §12). SELECT JPKI, VERIFY
       the signing password → 9000. SELECT EF 0017, sign → 6982.
    """
    info = of_message("sha256", MESSAGE)
    t.verify(AUTH_PIN)
    t.select_ef(EF_SIGN_KEY)
    t.expect(apdus.compute_signature(info), "sign with the signing key after the auth PIN only", 0x6982)
    t.select_ef(EF_SIGN_CERT)
    t.expect(apdus.read_binary(0, 4), "READ BINARY EF 0001 after the auth PIN only", 0x6982)
    t.reset()
    t.verify(SIGN_PASSWORD)
    t.select_ef(EF_AUTH_KEY)
    t.expect(apdus.compute_signature(info), "sign with the auth key after the signing password only", 0x6982)


@case("JPKI-STATE-001", "Selecting another DF clears a verified PIN",
      refs=["§4/status-cleared-select", "§3/6982"], profiles=[Profile.JPKI, Profile.TEXT], needs=[Secret.AUTH_PIN])
def status_cleared_on_select(t: CaseContext) -> None:
    """
    1. SELECT JPKI, VERIFY the auth PIN → 9000, SELECT EF 0017, sign → 9000 (the PIN works).
    2. SELECT the 券面事項入力補助AP, SELECT JPKI, SELECT EF 0017, sign → 6982.
    """
    info = of_message("sha256", MESSAGE)
    t.verify(AUTH_PIN)
    t.select_ef(EF_AUTH_KEY)
    _sign(t, 0x00, info, "sign right after VERIFY")
    t.select(TEXT)
    t.select(JPKI)
    t.select_ef(EF_AUTH_KEY)
    t.expect(apdus.compute_signature(info), "sign after selecting another DF and JPKI again", 0x6982)


@case("JPKI-STATE-002", "A warm reset clears a verified PIN",
      refs=["§4/status-cleared-reset", "§3/6982"], profiles=P, needs=[Secret.AUTH_PIN])
def status_cleared_on_reset(t: CaseContext) -> None:
    """
    1. SELECT JPKI, VERIFY the auth PIN → 9000, SELECT EF 0017, sign → 9000.
    2. Warm reset. SELECT JPKI, SELECT EF 0017, sign → 6982.
    """
    info = of_message("sha256", MESSAGE)
    t.verify(AUTH_PIN)
    t.select_ef(EF_AUTH_KEY)
    _sign(t, 0x00, info, "sign right after VERIFY")
    t.reset()
    t.select(JPKI)
    t.select_ef(EF_AUTH_KEY)
    t.expect(apdus.compute_signature(info), "sign after a warm reset", 0x6982)


@case("JPKI-STATE-003", "Leaving the field clears a verified PIN",
      refs=["§4/status-cleared-field", "§3/6982"], profiles=P, needs=[Secret.AUTH_PIN], robot=True)
def status_cleared_on_power(t: CaseContext) -> None:
    """
    1. SELECT JPKI, VERIFY the auth PIN → 9000, SELECT EF 0017, sign → 9000.
    2. Robot: remove the card and insert it again.
    3. SELECT JPKI, SELECT EF 0017, sign → 6982.
    """
    info = of_message("sha256", MESSAGE)
    t.verify(AUTH_PIN)
    t.select_ef(EF_AUTH_KEY)
    _sign(t, 0x00, info, "sign right after VERIFY")
    t.power_cycle()
    t.select(JPKI)
    t.select_ef(EF_AUTH_KEY)
    t.expect(apdus.compute_signature(info), "sign after the card left the field", 0x6982)


@case("JPKI-AUTH-001", "INTERNAL AUTHENTICATE is not answered in the JPKI AP",
      refs=["§2/INTERNAL-AUTHENTICATE"], profiles=P)
def no_internal_authenticate(t: CaseContext) -> None:
    """
    1. SELECT JPKI. `00 88 00 99 08 <8 bytes> 00` → any status but 9000 (only 共通AP key 0019
       answers, CI §2), and no data.
    """
    t.select(JPKI)
    response = t.send(apdus.internal_authenticate(bytes(8)), "INTERNAL AUTHENTICATE in JPKI")
    t.check(response.sw != 0x9000 and not response.data,
            f"INTERNAL AUTHENTICATE in JPKI answered {response.sw:04X} with {len(response.data)} bytes")


@case("JPKI-SM-001", "The JPKI AP refuses secure messaging: SM SELECT 6882, SM READ/VERIFY 69FC, SET SESSION KEY 6982",
      refs=["§11/other-APs", "§3/6882", "§3/69FC", "§2/SET-SESSION-KEY", "§3/6982"], profiles=P)
def jpki_refuses_sm(t: CaseContext) -> None:
    """
    1. Reset. `08 A4 04 0C 0A <JPKI AID>` (SM CLA) → 6882.
    2. SELECT JPKI, `08 A4 02 0C 02 00 0A` → 6882.
    3. SELECT EF 000A, `08 B0 00 00 04` → 69FC; SELECT EF 0018, `08 20 00 80` → 69FC.
    4. `80 AE 00 00 02 00 00` → 6982 (CI §11: SET SESSION KEY in JPKI).
    """
    t.expect(apdus.select_aid(JPKI.aid, cla=0x08), "SELECT JPKI with SM CLA 08", 0x6882)
    t.select(JPKI)
    t.expect(apdus.select_ef(EF_AUTH_CERT, cla=0x08), "SELECT EF with SM CLA 08", 0x6882)
    t.select_ef(EF_AUTH_CERT)
    t.expect(apdus.read_binary(0, 4, cla=0x08), "READ BINARY with SM CLA 08", 0x69FC)
    t.select_ef(AUTH_PIN.fid)
    t.expect(apdus.verify(0x80, cla=0x08), "VERIFY query with SM CLA 08", 0x69FC)
    t.expect(apdus.set_session_key(b"\x00\x00"), "SET SESSION KEY in JPKI", 0x6982)
