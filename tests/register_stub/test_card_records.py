"""Every EF and record personalisation writes, parsed back byte by byte and its signatures
verified with `cryptography` against the test authority's anchors (card-interface.md §6–§10)."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from PIL import Image

from mynacard.applet_model.image import CardImage
from mynacard.applet_model.store import DirectoryStore, MemoryStore
from mynacard.ca.authority import Authority

from mynacard.codec import tlv
from mynacard.codec.digest_info import PREFIXES
from register_stub_helpers import SERIAL, read_template

SHA256_PREFIX = PREFIXES["sha256"]


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _verify(public: rsa.RSAPublicKey, signature: bytes, data: bytes) -> None:
    public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())


def _card_key(encoded: bytes) -> rsa.RSAPublicKey:
    """`90 03 01 00 01 91 82 01 00 <n>` read by hand."""
    assert encoded[:9] == bytes.fromhex("900301000191820100") and len(encoded) == 265
    return rsa.RSAPublicNumbers(65537, int.from_bytes(encoded[9:], "big")).public_key()


def _same(a: rsa.RSAPublicKey, b: rsa.RSAPublicKey) -> bool:
    return a.public_numbers() == b.public_numbers()


def _cv_certified_key(cert: bytes, issuer: rsa.RSAPublicKey) -> tuple[bytes, bytes, rsa.RSAPublicKey]:
    """Check a 7F21 (CI §7.3) against its issuer; return (issuer ID, subject ID, certified key)."""
    outer, (body, signature) = read_template(cert)
    assert outer.tag == 0x7F21 and (body.tag, signature.tag) == (0x5F4E, 0x5F37)
    assert len(body.value) == 297 and len(signature.value) == 256
    _verify(issuer, signature.value, body.value)
    return body.value[:16], body.value[16:32], _card_key(body.value[32:])


@pytest.fixture(scope="module")
def image(demo_card) -> CardImage:
    return demo_card.image


@pytest.fixture(scope="module")
def text_record_key(image: CardImage, authority: Authority) -> rsa.RSAPublicKey:
    """The key EF 0004 certifies, checked against the text root (anchor 9000033)."""
    issuer, subject, key = _cv_certified_key(image.applications["text"].files[0x0004], authority.cv.text_root.public_key)
    assert issuer == b"9000033\x08\x05001\x00\x00\x00\x00" and subject == b"9000034\x08\x05001\x00\x00\x00\x00"
    return key


@pytest.fixture(scope="module")
def visual_record_key(image: CardImage, authority: Authority) -> rsa.RSAPublicKey:
    issuer, subject, key = _cv_certified_key(
        image.applications["visual"].files[0x0004], authority.cv.visual_root.public_key
    )
    assert issuer == b"9000023\x08\x05001\x00\x00\x00\x00" and subject == b"9000024\x08\x05001\x00\x00\x00\x00"
    return key


# -- 券面事項入力補助AP ---------------------------------------------------------------------------


def test_text_my_number_file(image: CardImage) -> None:
    """CI §7.1 EF 0001: `FF 10 0C` + 12 ASCII digits + `FF FF`, 17 bytes."""
    assert image.applications["text"].files[0x0001] == b"\xff\x10\x0c123456789018\xff\xff"


def test_text_attributes_file_and_offset_table(image: CardImage) -> None:
    """CI §7.2: FF 20 {DF21 four u16 offsets from the file start to DF22..DF25; DF22 name UTF-8
    with U+3000; DF23 address with full-width digits; DF24 YYYYMMDD; DF25 sex}."""
    data = image.applications["text"].files[0x0002]
    outer, children = read_template(data)
    assert outer.tag == 0xFF20 and len(outer.encoded) == len(data)
    table, *fields = children
    assert table.tag == 0xDF21 and len(table.value) == 8
    offsets = [int.from_bytes(table.value[i : i + 2], "big") for i in range(0, 8, 2)]
    assert offsets == [f.offset for f in fields]
    assert [f.tag for f in fields] == [0xDF22, 0xDF23, 0xDF24, 0xDF25]
    assert fields[0].value.decode() == "見本\u3000花子"
    assert fields[1].value.decode() == "東京都千代田区見本町１－２－３"
    assert (fields[2].value, fields[3].value) == (b"19850412", b"2")
    assert data[:3] == bytes([0xFF, 0x20, len(data) - 3]) and offsets[0] == 0x0E  # as on the test card


def test_text_integrity_record(image: CardImage, text_record_key: rsa.RSAPublicKey) -> None:
    """CI §7.1 EF 0003: FF 30 82 01 4B {DF31 SHA-256 of EF 0001's 17 physical bytes; DF32 SHA-256
    of EF 0002 from DF22 to the end; DF33 sha256WithRSA over the DF31+DF32 TLVs}, 336 bytes."""
    text = image.applications["text"].files
    record = text[0x0003]
    assert len(record) == 336 and record[:5] == bytes.fromhex("FF3082014B")
    _, (df31, df32, df33) = read_template(record)
    assert (df31.tag, df32.tag, df33.tag) == (0xDF31, 0xDF32, 0xDF33)
    assert df31.value == _sha256(text[0x0001])
    attributes = text[0x0002]
    table = tlv.parse_one(attributes, 3)[0]
    assert df32.value == _sha256(attributes[3 + len(table.encoded) :])
    _verify(text_record_key, df33.value, df31.encoded + df32.encoded)
    altered = df32.encoded[:-1] + bytes([df32.encoded[-1] ^ 1])
    with pytest.raises(InvalidSignature):
        _verify(text_record_key, df33.value, df31.encoded + altered)


def test_text_basic_info(image: CardImage) -> None:
    """CI §7.1 EF 0005: FF 40 {DF41 01 03 0E 01; DF42 16-byte key ID; DF43 128 bytes: 32 + 96 FF}."""
    data = image.applications["text"].files[0x0005]
    outer, (df41, df42, df43) = read_template(data)
    assert data[:4] == bytes.fromhex("FF40819E") and len(data) == 162
    assert (df41.tag, df41.value) == (0xDF41, bytes.fromhex("01030E01"))
    assert df42.tag == 0xDF42 and df42.value == b"9000034\x08\x05001\x00\x00\x00\x00"
    assert df43.tag == 0xDF43 and len(df43.value) == 128 and df43.value[32:] == b"\xff" * 96
    assert df43.encoded[:4] == bytes.fromhex("DF438180")


def test_text_sm_key_and_signed_ap_key(image: CardImage, text_record_key: rsa.RSAPublicKey) -> None:
    """CI §7.1 EF 0006: A1 {90 e, 91 n} = the `sm` key; EF 0007: FF 50 82 02 13 {DF51 the `ap`
    key (the one 80 2A 00 00 signs with); DF52 issuer signature over the DF51 TLV}."""
    text = image.applications["text"]
    sm = tlv.parse(text.files[0x0006])
    assert sm.encoded[:4] == bytes.fromhex("A1820109")
    assert _same(_card_key(sm.value), text.keys["sm"].public_key())
    signed = text.files[0x0007]
    assert signed[:5] == bytes.fromhex("FF50820213") and len(signed) == 536
    _, (df51, df52) = read_template(signed)
    assert df51.encoded[:5] == bytes.fromhex("DF51820109") and df52.encoded[:5] == bytes.fromhex("DF52820100")
    assert _same(_card_key(df51.value), text.keys["ap"].public_key())
    _verify(text_record_key, df52.value, df51.encoded)
    assert not _same(text.keys["ap"].public_key(), text.keys["sm"].public_key())


def test_text_ef_0008_and_secrets(image: CardImage, demo_card) -> None:
    """CI §7.1: EF 0008 is 16 FF; PIN `pin`, 照合番号A = My Number, 照合番号B = 14 digits."""
    text = image.applications["text"]
    assert text.files[0x0008] == b"\xff" * 16
    assert text.pins["pin"].matches(b"1234")
    assert text.pins["code-a"].matches(b"123456789018")
    assert text.pins["code-b"].matches(b"60041220362468")
    assert not text.pins["code-b"].matches(b"123456789018")
    assert demo_card.verification_code_b == "60041220362468"


# -- 券面事項確認AP -------------------------------------------------------------------------------


def test_visual_age_record(image: CardImage, visual_record_key: rsa.RSAPublicKey) -> None:
    """CI §8 EF 0001: FF 10 82 02 1E {DF11 YYYYMMDD; DF12 card key; DF13 signature over the
    preceding TLVs}."""
    visual = image.applications["visual"]
    record = visual.files[0x0001]
    assert record[:5] == bytes.fromhex("FF1082021E") and len(record) == 547
    _, (df11, df12, df13) = read_template(record)
    assert (df11.tag, df11.value) == (0xDF11, b"19850412")
    assert df12.tag == 0xDF12 and _same(_card_key(df12.value), visual.keys["card"].public_key())
    assert df13.tag == 0xDF13
    _verify(visual_record_key, df13.value, df11.encoded + df12.encoded)


def test_visual_card_face_layout(image: CardImage) -> None:
    """CI §8.1 EF 0002: FF 20 82 xx xx {DF21 offsets; DF22 birth; DF23 sex; DF24 card key; DF25
    name PNG; DF26 address PNG; DF27 JP2; DF28 signature; DF29 expiry; DF2A security-code PNG}."""
    visual = image.applications["visual"]
    data = visual.files[0x0002]
    outer, (table, *fields) = read_template(data)
    assert data[:3] == b"\xff\x20\x82" and len(outer.encoded) == len(data)
    assert [f.tag for f in fields] == list(range(0xDF22, 0xDF2B))
    offsets = [int.from_bytes(table.value[i : i + 2], "big") for i in range(0, len(table.value), 2)]
    assert table.tag == 0xDF21 and offsets == [f.offset for f in fields]
    by_tag = {f.tag: f.value for f in fields}
    assert (by_tag[0xDF22], by_tag[0xDF23], by_tag[0xDF29]) == (b"19850412", b"2", b"20360412")
    assert _same(_card_key(by_tag[0xDF24]), visual.keys["card"].public_key())
    for tag, mode in ((0xDF25, "1"), (0xDF26, "1"), (0xDF2A, "1"), (0xDF27, "L")):
        picture = Image.open(io.BytesIO(by_tag[tag]))
        assert picture.mode == mode
    assert Image.open(io.BytesIO(by_tag[0xDF2A])).size == (24, 12)
    assert by_tag[0xDF27][4:8] == b"jP  " and Image.open(io.BytesIO(by_tag[0xDF27])).format == "JPEG2000"
    assert len(data) <= 0x2000


def test_visual_card_face_signature_coverage(image: CardImage, visual_record_key: rsa.RSAPublicKey) -> None:
    """CI §8.1: DF28 = PKCS#1 v1.5 over ONE DigestInfo `30 71 … 04 60` holding SHA-256(DF22+DF23+
    DF24 TLVs) ‖ SHA-256(DF25+DF26) ‖ SHA-256(DF27); DF29 and DF2A are not covered."""
    _, (_, *fields) = read_template(image.applications["visual"].files[0x0002])
    raw = {f.tag: f.encoded for f in fields}
    assert [f.tag for f in fields[6:]] == [0xDF28, 0xDF29, 0xDF2A]  # expiry, code after the signature
    signature = fields[6].value
    recovered = visual_record_key.recover_data_from_signature(signature, padding.PKCS1v15(), None)
    expected = (
        bytes.fromhex("3071300d060960864801650304020105000460")
        + _sha256(raw[0xDF22] + raw[0xDF23] + raw[0xDF24])
        + _sha256(raw[0xDF25] + raw[0xDF26])
        + _sha256(raw[0xDF27])
    )
    assert recovered == expected  # exactly these three hashes: DF29 and DF2A are not covered


def test_visual_basic_info(image: CardImage) -> None:
    """CI §8 EF 0003: FF 30 {DF31 06 03 0E 01; DF32 key ID; DF33 version; DF34 municipality code
    (5 ASCII digits); DF35 16-byte key ID + 256 bytes}."""
    data = image.applications["visual"].files[0x0003]
    outer, fields = read_template(data)
    assert data[:5] == bytes.fromhex("FF3082013B") and len(outer.encoded) == len(data) == 320
    by_tag = {f.tag: f.value for f in fields}
    assert [f.tag for f in fields] == [0xDF31, 0xDF32, 0xDF33, 0xDF34, 0xDF35]
    assert by_tag[0xDF31] == bytes.fromhex("06030E01")
    assert by_tag[0xDF32] == b"9000024\x08\x05001\x00\x00\x00\x00"
    assert len(by_tag[0xDF33]) == 1 and by_tag[0xDF34] == b"13101"
    assert len(by_tag[0xDF35]) == 16 + 256


def test_visual_my_number_image_record(image: CardImage, visual_record_key: rsa.RSAPublicKey) -> None:
    """CI §8 EF 0005: FF 40 {DF41 1-bit PNG of the 個人番号 (72×12); DF42 card key; DF43 signature
    over the preceding TLVs}."""
    visual = image.applications["visual"]
    _, (df41, df42, df43) = read_template(visual.files[0x0005])
    picture = Image.open(io.BytesIO(df41.value))
    assert (df41.tag, picture.mode, picture.size) == (0xDF41, "1", (72, 12))
    assert _same(_card_key(df42.value), visual.keys["card"].public_key())
    _verify(visual_record_key, df43.value, df41.encoded + df42.encoded)


def test_visual_secrets(image: CardImage) -> None:
    """CI §8: 生年月日 key = era YYMMDD (1985-04-12 = 昭和60 -> 600412), 照合番号A/B."""
    pins = image.applications["visual"].pins
    assert pins["birth-key"].matches(b"600412")
    assert pins["code-a"].matches(b"123456789018")
    assert pins["code-b"].matches(b"60041220362468")


# -- 公的個人認証AP -------------------------------------------------------------------------------


def test_jpki_certificates_match_the_card_keys(image: CardImage, authority: Authority) -> None:
    """CI §6.1: 0001 signing cert, 0002 its CA, 000A auth cert, 000B its CA, keys in 001A/0017."""
    jpki = image.applications["jpki"]
    sign = x509.load_der_x509_certificate(jpki.files[0x0001])
    auth = x509.load_der_x509_certificate(jpki.files[0x000A])
    sign_ca = x509.load_der_x509_certificate(jpki.files[0x0002])
    auth_ca = x509.load_der_x509_certificate(jpki.files[0x000B])
    assert sign_ca == authority.sign_ca.certificate and auth_ca == authority.auth_ca.certificate
    sign.verify_directly_issued_by(sign_ca)
    auth.verify_directly_issued_by(auth_ca)
    assert _same(sign.public_key(), jpki.keys["sign"].public_key())
    assert _same(auth.public_key(), jpki.keys["auth"].public_key())
    assert jpki.pins["auth-pin"].matches(b"1234") and jpki.pins["sign-password"].matches(b"ABC123")
    assert not jpki.pins["sign-password"].matches(b"abc123")


def test_jpki_token_info(image: CardImage) -> None:
    """CI §6.1 EF 0006: CK_TOKEN_INFO, 160 bytes, 32-bit BE CK_ULONGs, label JPKIAPICCTOKEN2
    space-padded, flags 0x040D, PIN lengths 16/6, memory FFFFFFFF, versions "03"/"01"."""
    info = image.applications["jpki"].files[0x0006]
    assert len(info) == 160
    assert info[:32] == b"JPKIAPICCTOKEN2".ljust(32, b" ")
    assert info[80:96] == b"0" + SERIAL.encode()
    assert info[96:100] == bytes.fromhex("0000040D")
    assert (int.from_bytes(info[116:120], "big"), int.from_bytes(info[120:124], "big")) == (16, 6)
    assert info[124:140] == b"\xff" * 16
    assert info[140:144] == b"0301"


def test_jpki_certificate_availability(image: CardImage) -> None:
    """CI §6.1 EF 0008: `8F 8F 00` on a card with both certificates."""
    assert image.applications["jpki"].files[0x0008] == b"\x8f\x8f\x00"


def test_all_card_keys_are_distinct_rsa_2048(image: CardImage) -> None:
    keys = [k for app in image.applications.values() for k in app.keys.values()]
    assert len(keys) == 6
    assert all(k.key_size == 2048 and k.public_key().public_numbers().e == 65537 for k in keys)
    assert len({k.public_key().public_numbers().n for k in keys}) == 6


# -- 共通AP, 住基AP, MF --------------------------------------------------------------------------


def test_common_and_juki_records(image: CardImage) -> None:
    """CI §9: 共通AP 0001 record = `01 1C` + 15-digit serial + 5-digit municipality + expiry;
    0002 a 16-byte key reference, the same bytes as 住基AP 0002; one PIN in both."""
    common, juki = image.applications["common"], image.applications["juki"]
    assert common.records[0x0001] == [b"\x01\x1c" + f"{SERIAL}13101" .encode() + b"20360412"]
    assert len(common.records[0x0002][0]) == 16 and common.records[0x0002] == juki.records[0x0002]
    assert common.pins["pin"].matches(b"1234") and juki.pins["pin"].matches(b"1234")


def test_mf_objects_chain_to_the_mf_root(image: CardImage, authority: Authority) -> None:
    """CI §10: 00F8 root -> intermediate, 00F7 = intermediate key ID, 7F21 intermediate -> the
    card's 共通AP key (contents without the 7F21 template, as GET DATA returns them)."""
    mf = image.mf_objects
    template = b"\x7f\x21\x82\x02\x33"
    _, upper_subject, intermediate = _cv_certified_key(template + mf[0x00F8], authority.cv.mf_root.public_key)
    assert mf[0x00F7] == upper_subject == b"9000021\x08\x05001\x00\x00\x00\x00"
    lower_issuer, lower_subject, card_key = _cv_certified_key(template + mf[0x7F21], intermediate)
    assert lower_issuer == mf[0x00F7]
    assert lower_subject[:7] == b"9" + SERIAL[-6:].encode()
    assert _same(card_key, image.applications["common"].keys["internal-auth"].public_key())
    assert mf[0x0042] == b"9000020\x08\x05001\x00\x00\x00\x00"
    assert (mf[0x0045], mf[0x00F0], mf[0x00F2]) == (SERIAL.encode(), b"13101", b"20360412")
    assert tlv.parse(mf[0x0066]).tag == 0x73


def test_image_round_trips_through_a_directory(image: CardImage, tmp_path) -> None:
    """The image is valid for the AP tables and survives the card-image format unchanged."""
    store = DirectoryStore.create(tmp_path / "card", image)
    loaded = store.load_image()
    for name, app in image.applications.items():
        assert loaded.applications[name].files == app.files
        assert loaded.applications[name].records == app.records
    assert loaded.mf_objects == image.mf_objects
    assert loaded.metadata["card-serial"] == SERIAL
    assert not any("123456789018" in value for value in loaded.metadata.values())
    manifest = json.loads((tmp_path / "card" / "card.json").read_text(encoding="utf-8"))
    for app in manifest["applications"].values():
        assert all(ref.startswith("pbkdf2-sha256$") for ref in app["secrets"].values())


def test_a_card_made_this_way_answers_with_its_records(image: CardImage) -> None:
    """CI §13 E through the card model: 照合番号B opens the card face, which reads back whole."""
    from mynacard.applet_model.card import Card

    card = Card.open(MemoryStore(image))
    card.power_up()
    for apdu in ("00A4040C0AD3921000310001010402", "00A4020C020012", "002000800E" + b"60041220362468".hex(),
                 "00A4020C020002"):
        assert card.execute(bytes.fromhex(apdu))[-2:] == b"\x90\x00", apdu
    response = card.execute(bytes.fromhex("00B00000000000"))
    assert response[-2:] == b"\x90\x00"
    face = image.applications["visual"].files[0x0002]
    assert response[: len(face)] == face
    assert date(2036, 4, 12).strftime("%Y%m%d").encode() in face
