"""The flows of card-interface.md §13 (A–F) and every status word of §3, against a card made by
`mynacard card new`, through the public in-process path (`Card.open(DirectoryStore(dir))`).

Signatures are verified with `cryptography` against the card's own certificates; the integrity
record and the card-face signature against the card-verifiable certificate in EF 0004, itself
verified against the test authority's CV root.
"""

from __future__ import annotations

import hashlib
import shutil

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from mynacard.applet_model.card import Card
from mynacard.applet_model.store import DirectoryStore
from mynacard.ca.authority import load_test_authority
from mynacard.main import main
from mynacard.codec.digest_info import PREFIXES
from mynacard.codec import tlv

MY_NUMBER = "123456789018"
AUTH_PIN, SIGN_PASSWORD, TEXT_PIN = "4321", "PASS2026", "5678"
PERSON = dict(family="試験", given="花子", address="東京都千代田区霞が関二丁目１番２号", birth="1990-03-15", sex="2")

JPKI = "00A4040C0AD392F000260100000001"
TEXT = "00A4040C0AD3921000310001010408"
VISUAL = "00A4040C0AD3921000310001010402"
COMMON = "00A4040C0AD3921000310001010100"
JUKI = "00A4040C0AD3921000310001010401"
SHA256_DI = PREFIXES["sha256"]


@pytest.fixture(scope="session")
def issued_card(tmp_path_factory) -> dict:
    """One card made by `mynacard card new` with non-default values, for the whole session."""
    path = tmp_path_factory.mktemp("issued") / "card"
    env = {"MYNACARD_AUTH_PIN": AUTH_PIN, "MYNACARD_SIGN_PASSWORD": SIGN_PASSWORD, "MYNACARD_TEXT_PIN": TEXT_PIN}
    mp = pytest.MonkeyPatch()
    for k, v in env.items():
        mp.setenv(k, v)
    try:
        status = main(["card", "new", str(path), "--my-number", MY_NUMBER, "--family-name", PERSON["family"],
                       "--given-name", PERSON["given"], "--address", PERSON["address"],
                       "--birth-date", PERSON["birth"], "--sex", PERSON["sex"], "--security-code", "1357",
                       "--expiry", "2036-03-15"])
    finally:
        mp.undo()
    assert status == 0
    return {"path": path, "code_b": "02031520361357", "birth_key": "020315"}


@pytest.fixture
def card(issued_card, tmp_path) -> Card:
    copy = tmp_path / "card"
    shutil.copytree(issued_card["path"], copy)
    return Card.open(DirectoryStore(copy))


def tx(card: Card, apdu: str | bytes) -> tuple[bytes, int]:
    raw = bytes.fromhex(apdu.replace(" ", "")) if isinstance(apdu, str) else apdu
    response = card.execute(raw)
    return response[:-2], int.from_bytes(response[-2:], "big")


def ok(card: Card, *apdus: str | bytes) -> bytes:
    data = b""
    for apdu in apdus:
        data, sw = tx(card, apdu)
        assert sw == 0x9000, f"{apdu!r} -> {sw:04X}"
    return data


def verify_apdu(value: str, p2: str = "80") -> str:
    return f"002000{p2}{len(value):02X}{value.encode().hex()}"


def read_sized(card: Card, header_len: int = 4) -> bytes:
    """Read the current EF as clients do: a header, the BER length, then 256-byte chunks (CI §13 A)."""
    head = ok(card, f"00B00000{header_len:02X}")
    total = tlv.total_size(head)
    data = head
    while len(data) < total:
        n = min(256, total - len(data))
        data += ok(card, f"00B0{len(data):04X}{n % 256:02X}")
    return data[:total]


def tlvs(data: bytes) -> dict[int, tuple[bytes, bytes]]:
    """Consecutive BER-TLVs (codec) as tag → (value, whole TLV); FF filler ends them (CI §4)."""
    return {element.tag: (element.value, element.encoded) for element in tlv.iter_tlvs(data)}


def container(data: bytes) -> dict[int, tuple[bytes, bytes]]:
    outer = tlvs(data)
    assert len(outer) == 1
    (value, _), = outer.values()
    return tlvs(value)


def cv_public_key(cv_cert: bytes, root: rsa.RSAPublicKey) -> rsa.RSAPublicKey:
    """Verify a `7F21` certificate (CI §7.3) and return the key it certifies."""
    inner = container(cv_cert)
    body, body_tlv = inner[0x5F4E]
    signature = inner[0x5F37][0]
    assert len(body) == 297
    root.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
    return rsa_key(body[32:])


def rsa_key(encoded: bytes) -> rsa.RSAPublicKey:
    parts = tlvs(encoded)
    return rsa.RSAPublicNumbers(int.from_bytes(parts[0x90][0], "big"),
                                int.from_bytes(parts[0x91][0], "big")).public_key()


def cv_root(issuer_key_id: bytes) -> rsa.RSAPublicKey:
    anchors = {bytes(key_id): key for key_id, key in load_test_authority().cv.anchors().items()}
    return anchors[issuer_key_id]


# -- A. read the auth certificate (no PIN) ---------------------------------------------------

def test_flow_a_reads_the_certificates_without_a_pin(card):
    ok(card, JPKI, "00A4020C02000A")
    auth = x509.load_der_x509_certificate(read_sized(card))
    ok(card, "00A4020C02000B")
    auth_ca = x509.load_der_x509_certificate(read_sized(card))
    auth.verify_directly_issued_by(auth_ca)
    ok(card, "00A4020C020002")
    sign_ca = x509.load_der_x509_certificate(read_sized(card))
    assert sign_ca.subject != auth_ca.subject
    ok(card, "00A4020C020001")
    assert tx(card, "00B0000004")[1] == 0x6982  # the signing cert needs the signing password


# -- B. verify a PIN and sign ----------------------------------------------------------------

@pytest.mark.parametrize("which", ["auth", "sign"])
def test_flow_b_verify_and_sign_verifies_against_the_cards_certificate(card, which):
    pin_ef, key_ef, cert_ef, secret = {"auth": ("0018", "0017", "000A", AUTH_PIN),
                                       "sign": ("001B", "001A", "0001", SIGN_PASSWORD)}[which]
    ok(card, JPKI, f"00A4020C02{pin_ef}")
    assert tx(card, "00200080")[1] == (0x63C3 if which == "auth" else 0x63C5)
    ok(card, verify_apdu(secret), f"00A4020C02{cert_ef}")
    certificate = x509.load_der_x509_certificate(read_sized(card))
    digest = hashlib.sha256(b"flow B").digest()
    ok(card, f"00A4020C02{key_ef}")
    signature = ok(card, f"802A0080 33 {(SHA256_DI + digest).hex()} 00")
    certificate.public_key().verify(signature, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))


def test_flow_b_variant_without_selects(card):
    """`00 20 00 98` + `80 2A 00 97`, `00 20 00 9B` + `80 2A 00 9A` (CI §13 B)."""
    ok(card, JPKI, "00A4020C02000A")
    auth = x509.load_der_x509_certificate(read_sized(card))
    digest = hashlib.sha256(b"variant").digest()
    ok(card, verify_apdu(AUTH_PIN, "98"))
    auth.public_key().verify(ok(card, f"802A009733{(SHA256_DI + digest).hex()}00"), digest,
                             padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    ok(card, verify_apdu(SIGN_PASSWORD, "9B"), "00A4020C020001")
    sign = x509.load_der_x509_certificate(read_sized(card))
    sign.public_key().verify(ok(card, f"802A009A33{(SHA256_DI + digest).hex()}00"), digest,
                             padding.PKCS1v15(), Prehashed(hashes.SHA256()))


def test_flow_b_wrong_pin_sequence(card):
    ok(card, JPKI, "00A4020C020018")
    assert [tx(card, verify_apdu("0000"))[1] for _ in range(4)] == [0x63C2, 0x63C1, 0x63C0, 0x6984]


# -- C, D: the text AP -----------------------------------------------------------------------

def test_flow_c_reads_the_my_number(card):
    ok(card, TEXT, "00A4020C020011", verify_apdu(TEXT_PIN), "00A4020C020001")
    assert ok(card, "00B0000011") == b"\xff\x10\x0c" + MY_NUMBER.encode() + b"\xff\xff"


def test_flow_c_jsa_variant(card):
    ok(card, TEXT, verify_apdu(TEXT_PIN, "91"))
    assert ok(card, "00B08100000000")[3:15] == MY_NUMBER.encode()


def test_flow_d_reads_the_four_facts_with_the_offset_table(card):
    ok(card, TEXT, "00A4020C020011", verify_apdu(TEXT_PIN), "00A4020C020002")
    head = ok(card, "00B0000007")
    data = head + ok(card, f"00B00007{tlv.total_size(head) - 7:02X}")
    facts = container(data)
    offsets = facts[0xDF21][0]
    assert len(offsets) == 8
    for i, tag in enumerate((0xDF22, 0xDF23, 0xDF24, 0xDF25)):
        at = int.from_bytes(offsets[2 * i:2 * i + 2], "big")
        assert data[at:at + 2] == tag.to_bytes(2, "big")  # each offset points at its TLV
    assert facts[0xDF22][0].decode() == PERSON["family"] + "\u3000" + PERSON["given"]
    assert facts[0xDF23][0].decode() == PERSON["address"]
    assert facts[0xDF24][0] == b"19900315"
    assert facts[0xDF25][0] == b"2"


def test_text_ap_integrity_record_verifies_against_the_cv_certificate(card):
    """EF 0003: SHA-256 of EF 0001's 17 physical bytes and of EF 0002 after DF21 (CI §7.1)."""
    ok(card, TEXT, verify_apdu(TEXT_PIN, "91"))
    number_ef = ok(card, "00B0810000")
    facts_ef = ok(card, "00B08200000000")
    record = ok(card, "00B08300000000")
    cv = ok(card, "00B08400000000")
    assert len(number_ef) == 17 and len(record) == 336
    fields = container(record)
    assert fields[0xDF31][0] == hashlib.sha256(number_ef).digest()
    facts_value = tlvs(facts_ef)[0xFF20][0]
    after_table = facts_value[len(tlvs(facts_value)[0xDF21][1]):]
    assert fields[0xDF32][0] == hashlib.sha256(after_table).digest()
    issuer = container(cv)[0x5F4E][0][:16]
    key = cv_public_key(cv, cv_root(issuer))
    key.verify(fields[0xDF33][0], fields[0xDF31][1] + fields[0xDF32][1], padding.PKCS1v15(), hashes.SHA256())


def test_text_ap_presence_key_answers_a_challenge(card):
    """80 2A 00 00 signs with the key whose public half is EF 0007 DF51 (CI §7.1)."""
    ok(card, TEXT, verify_apdu(TEXT_PIN, "91"))
    public = rsa_key(container(ok(card, "00B08700000000"))[0xDF51][0])
    digest = hashlib.sha256(b"presence").digest()
    public.verify(ok(card, f"802A000033{(SHA256_DI + digest).hex()}00"), digest, padding.PKCS1v15(),
                  Prehashed(hashes.SHA256()))


# -- E. the face photo -----------------------------------------------------------------------

@pytest.mark.parametrize("code", ["A", "B"])
def test_flow_e_reads_the_card_face_and_its_signature_verifies(card, issued_card, code):
    pin_ef, value = ("0013", MY_NUMBER) if code == "A" else ("0012", issued_card["code_b"])
    ok(card, VISUAL, f"00A4020C02{pin_ef}", verify_apdu(value), "00A4020C020002")
    face = read_sized(card, 7)
    fields = container(face)
    assert fields[0xDF27][0].startswith(bytes.fromhex("0000000C6A5020200D0A870A"))  # JP2 signature
    assert fields[0xDF25][0].startswith(b"\x89PNG") and fields[0xDF26][0].startswith(b"\x89PNG")
    assert fields[0xDF22][0] == b"19900315" and fields[0xDF23][0] == b"2"
    assert fields[0xDF29][0] == b"20360315"
    # §8.1: three SHA-256 in one DigestInfo (30 71 … 04 60), PKCS#1 v1.5, key certified in EF 0004.
    hashed = b"".join(hashlib.sha256(b"".join(fields[t][1] for t in group)).digest()
                      for group in ((0xDF22, 0xDF23, 0xDF24), (0xDF25, 0xDF26), (0xDF27,)))
    cv = ok(card, "00B08400000000")
    key = cv_public_key(cv, cv_root(container(cv)[0x5F4E][0][:16]))
    block = pow(int.from_bytes(fields[0xDF28][0], "big"), key.public_numbers().e,
                key.public_numbers().n).to_bytes(256, "big")
    assert block.startswith(b"\x00\x01\xff") and block.endswith(hashed)
    assert block[-98:-96] == b"\x04\x60" and b"\x00\x30\x71" in block
    # The card key of DF24 answers a challenge with no credential: the card is present.
    digest = hashlib.sha256(b"presence").digest()
    rsa_key(fields[0xDF24][0]).verify(ok(card, f"802A000033{(SHA256_DI + digest).hex()}00"), digest,
                                      padding.PKCS1v15(), Prehashed(hashes.SHA256()))


def test_flow_e_extended_read_in_one_response(card):
    ok(card, VISUAL, verify_apdu(MY_NUMBER, "93"))
    whole = ok(card, "00B08200000000")
    assert len(whole) == 0x2000 and whole[:2] == b"\xff\x20"


def test_birth_key_opens_the_age_record_only(card, issued_card):
    ok(card, VISUAL, verify_apdu(issued_card["birth_key"], "91"))
    record = container(ok(card, "00B08100000000"))
    assert record[0xDF11][0] == b"19900315"
    assert tx(card, "00B0820000")[1] == 0x6982


# -- F. PIN status ----------------------------------------------------------------------------

def test_flow_f_pin_status_of_every_secret(card):
    expected = [(TEXT, "0011", 0x63C3), (TEXT, "0014", 0x63CA), (TEXT, "0015", 0x63CA),
                (VISUAL, "0013", 0x63CA), (VISUAL, "0012", 0x63CA), (VISUAL, "0011", 0x63CA),
                (JPKI, "0018", 0x63C3), (JPKI, "001B", 0x63C5), (COMMON, "001C", 0x63C3), (JUKI, "001C", 0x63C3)]
    for select, ef, sw in expected:
        ok(card, select, f"00A4020C02{ef}")
        assert tx(card, "00200080")[1] == sw, (select, ef)
    for select, ef, sw in expected:  # and again: the query spent nothing
        ok(card, select, f"00A4020C02{ef}")
        assert tx(card, "00200080")[1] == sw


def test_common_ap_record_and_mf_objects(card):
    ok(card, COMMON)
    record = ok(card, "00B2010C00")
    assert record[:2] == b"\x01\x1c" and record[2:].isdigit() and len(record) == 30
    assert record[17:22] == b"13101"
    assert record[22:] == b"20360315"
    ok(card, "00A4040C07A0000001510000")
    assert ok(card, "00CA00F200") == b"20360315"


# -- every status word of CI §3 that the card gives ---------------------------------------

SW_CASES = [
    ("9000", [JPKI], "00A4020C02000A", 0x9000),
    ("63Cx query", [JPKI, "00A4020C020018"], "00200080", 0x63C3),
    ("63Cx wrong", [JPKI, "00A4020C020018"], verify_apdu("0000"), 0x63C2),
    ("63C0 exhausting", [JPKI, "00A4020C020018", verify_apdu("0000"), verify_apdu("0000")], verify_apdu("0000"), 0x63C0),
    ("6984 blocked", [JPKI, "00A4020C020018"] + [verify_apdu("0000")] * 3, verify_apdu(AUTH_PIN), 0x6984),
    ("6982 signing cert", [JPKI, "00A4020C020001"], "00B0000004", 0x6982),
    ("6982 sign without VERIFY", [JPKI, "00A4020C02001A"], "802A008033" + (SHA256_DI + bytes(32)).hex() + "00", 0x6982),
    ("6982 SET SESSION KEY", [TEXT], "80AE0000020102", 0x6982),
    ("6A82 EF", [JPKI], "00A4020C020003", 0x6A82),
    ("6A82 3F00", [], "00A4020C023F00", 0x6A82),
    ("6A82 AID", [], "00A4040C07A0000000030000", 0x6A82),
    ("6A86 scheme", [JPKI, verify_apdu(AUTH_PIN, "98")], "802A0997" + "0101" + "00", 0x6A86),
    ("6A86 select MF after reset", [], "00A40000", 0x6A86),
    ("6B00", [JPKI, "00A4020C020008"], "00B0000301", 0x6B00),
    ("6700 signing input", [JPKI, verify_apdu(AUTH_PIN, "98")], "802A029703AABBCC00", 0x6700),
    ("6700 short Le GET DATA", [], "00CA00F800", 0x6700),
    ("6985 IA with 券面 key", [VISUAL], "0088000004AABBCCDD00", 0x6985),
    ("6985 extended GET CHALLENGE", [], "00840000000008", 0x6985),
    ("6A88 GET DATA", [], "00CA123400", 0x6A88),
    ("6A83 no record", [COMMON], "00B2050C00", 0x6A83),
    ("6A81 multi-record", [COMMON], "00B2010D00", 0x6A81),
    ("6981 internal EF", [JPKI, "00A4020C020017"], "00B0000004", 0x6981),
    ("6881 channel", [], "01A4040C0AD392F000260100000001", 0x6881),
    ("6882 SM SELECT", [], "0CA4040C0AD392F000260100000001", 0x6882),
    ("69FC SM READ", [JPKI, "00A4020C02000A"], "0CB0000004", 0x69FC),
    ("66F1 SET SESSION KEY", [COMMON], "80AE0000020102", 0x66F1),
    ("6D00", [], "00CB3FFF035C017E08", 0x6D00),
]


@pytest.mark.parametrize("name, setup, apdu, expected", SW_CASES, ids=[c[0] for c in SW_CASES])
def test_every_status_word(card, name, setup, apdu, expected):
    """CI §3: each status word where the card gives it (6300: JICSAP, not on this card; 6987/6988 need
    an SM session: test_card_secure_messaging.py)."""
    for step in setup:
        tx(card, step)
    assert tx(card, apdu)[1] == expected
