"""CV certificates and the signed records of the 券面 APs (CI §7.1, §7.3, §8, §8.1)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.utils import NoDigestInfo

from host_verify_pki import CV_ROOT_ID, card_key_encoding, cv_certificate, key, key_id, text_ap, tlv, visual_ap
from mynacard.codec.cv import key_id_text
from mynacard.host import cvc
from mynacard.host.cvc import RecordInvalid
from mynacard.host.errors import CardDataError
from mynacard.host.records import (
    AgeRecord,
    ApKeyRecord,
    CardFace,
    CvCertificate,
    FourFacts,
    IntegrityRecord,
    MyNumberImage,
    MyNumberRecord,
    RsaPublicKey,
)

NAME = "山田\u3000太郎"
ADDRESS = "東京都千代田区千代田１－１－１０１"


@pytest.fixture(scope="module")
def text():
    return text_ap("123456789018", NAME, ADDRESS, "19800217", "1")


@pytest.fixture(scope="module")
def visual():
    return visual_ap("19800217", "1", b"\x00\x00\x00\x0cjP  \r\n" + bytes(range(256)) * 8,
                     b"\x89PNG\r\n\x1a\nNAME", b"\x89PNG\r\n\x1a\nADDRESS")


def flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1:]


def issuer_key(trust, ef0004: bytes):
    cert = CvCertificate.parse(ef0004, "the CV certificate")
    cvc.verify_cv_certificate(cert, trust.cv_roots, "the CV certificate")
    return cert.public_key


# --- CV certificates (CI §7.3) -------------------------------------------------------------------


def test_cv_certificate_verifies_against_the_pinned_root(trust, text):
    cert = CvCertificate.parse(text.ef0004, "the CV certificate")
    assert cert.issuer_key_id == CV_ROOT_ID
    assert key_id_text(cert.subject_key_id) == "9100033/001"
    assert cvc.verify_cv_certificate(cert, trust.cv_roots, "x").label == "cv-test"


def test_cv_certificate_of_an_unpinned_issuer_is_refused(trust):
    forged = cv_certificate(key_id("9999999"), "forger", key_id("9100033"), "text-issuer")
    with pytest.raises(RecordInvalid, match="9999999/001, which is not a pinned CV root"):
        cvc.verify_cv_certificate(CvCertificate.parse(forged, "x"), trust.cv_roots, "x")


def test_cv_certificate_signed_by_another_key_under_the_root_id_is_refused(trust):
    """The key ID is not a secret: a forger can name the root; only its key can sign."""
    forged = cv_certificate(CV_ROOT_ID, "forger", key_id("9100033"), "forger")
    with pytest.raises(RecordInvalid, match="does not verify"):
        cvc.verify_cv_certificate(CvCertificate.parse(forged, "x"), trust.cv_roots, "x")


def test_cv_certificate_body_is_fixed_size():
    with pytest.raises(RecordInvalid, match="297"):
        CvCertificate.parse(bytes.fromhex("7f2109") + bytes.fromhex("5f4e03010203") + bytes.fromhex("5f3700"), "x")


# --- text AP (CI §7.1, §7.2) ---------------------------------------------------------------------


def test_text_records_verify(trust, text):
    k = issuer_key(trust, text.ef0004)
    facts = FourFacts.parse(text.ef0002)
    assert (facts.name, facts.address, facts.birth_date, facts.sex) == (NAME, ADDRESS, "19800217", "1")
    my_number = MyNumberRecord.parse(text.ef0001)
    assert my_number.number == "123456789018"
    check = cvc.verify_text_integrity(IntegrityRecord.parse(text.ef0003), k, my_number=my_number, four_facts=facts)
    assert check.my_number_file and check.attributes_file


def test_integrity_with_only_code_b(trust, text):
    """照合番号B opens EF 0002 and 0003 but not 0001: the My Number digest stays unchecked."""
    k = issuer_key(trust, text.ef0004)
    check = cvc.verify_text_integrity(IntegrityRecord.parse(text.ef0003), k, four_facts=FourFacts.parse(text.ef0002))
    assert check.my_number_file is None and check.attributes_file


def test_one_byte_changed_in_the_four_facts_is_detected(trust, text):
    k = issuer_key(trust, text.ef0004)
    index = text.ef0002.index("千代田".encode()) + 2
    tampered = FourFacts.parse(flip(text.ef0002, index))
    with pytest.raises(RecordInvalid, match="four-facts file .* does not match"):
        cvc.verify_text_integrity(IntegrityRecord.parse(text.ef0003), k, four_facts=tampered)


def test_one_byte_changed_in_the_my_number_is_detected(trust, text):
    k = issuer_key(trust, text.ef0004)
    with pytest.raises(RecordInvalid, match="My Number file .* does not match"):
        cvc.verify_text_integrity(IntegrityRecord.parse(text.ef0003), k,
                                  my_number=MyNumberRecord.parse(flip(text.ef0001, 5)))


def test_the_my_number_digest_covers_the_filler(trust, text):
    k = issuer_key(trust, text.ef0004)
    with pytest.raises(RecordInvalid, match="My Number file"):
        cvc.verify_text_integrity(IntegrityRecord.parse(text.ef0003), k,
                                  my_number=MyNumberRecord.parse(text.ef0001[:15] + b"\x00\x00"))


def test_a_forged_integrity_record_is_detected(trust, text):
    k = issuer_key(trust, text.ef0004)
    with pytest.raises(RecordInvalid, match="integrity record .* does not verify"):
        cvc.verify_text_integrity(IntegrityRecord.parse(flip(text.ef0003, 10)), k)


def test_offset_table_is_checked_not_trusted(text):
    index = text.ef0002.index(bytes.fromhex("df21")) + 3  # first offset, high byte
    with pytest.raises(RecordInvalid, match="offset table"):
        FourFacts.parse(flip(text.ef0002, index + 1))


def test_ap_key_record_and_presence(trust, text):
    k = issuer_key(trust, text.ef0004)
    record = ApKeyRecord.parse(text.ef0007)
    cvc.verify_record(record, k)
    ap_key = record.public_key
    challenge = b"fresh challenge!"
    answer = key("text-ap").sign(cvc.presence_digest_info(challenge), padding.PKCS1v15(), NoDigestInfo())
    cvc.verify_presence(ap_key, challenge, answer, "the text AP")
    with pytest.raises(RecordInvalid, match="challenge"):
        cvc.verify_presence(ap_key, b"another challenge", answer, "the text AP")
    with pytest.raises(RecordInvalid, match="AP key record"):
        cvc.verify_record(ApKeyRecord.parse(flip(text.ef0007, 40)), k)


# --- visual AP (CI §8, §8.1) ---------------------------------------------------------------------


def test_card_face_verifies(trust, visual):
    k = issuer_key(trust, visual.ef0004)
    face = CardFace.parse(visual.ef0002)
    cvc.verify_card_face(face, k)
    assert face.birth_date == "19800217" and face.sex == "1" and face.expiry == "20350217"
    assert face.signed_digest_info[:2] == b"\x30\x71" and face.signed_digest_info[17:19] == b"\x04\x60"


@pytest.mark.parametrize("what", ["photo", "name image", "birth", "card key"])
def test_one_byte_changed_in_a_covered_part_is_detected(trust, visual, what):
    k = issuer_key(trust, visual.ef0004)
    marker, skip = {"photo": (b"jP  ", 10), "name image": (b"NAME", 2), "birth": (b"19800217", 3),
                    "card key": (bytes.fromhex("918201"), 10)}[what]
    index = visual.ef0002.index(marker) + skip
    with pytest.raises(RecordInvalid, match="card face .* does not match"):
        cvc.verify_card_face(CardFace.parse(flip(visual.ef0002, index)), k)


def test_expiry_is_not_covered_by_the_signature(trust, visual):
    """CI §8.1: DF29 (expiry) sits after DF28 and is not signed."""
    k = issuer_key(trust, visual.ef0004)
    index = visual.ef0002.index(b"20350217")
    face = CardFace.parse(visual.ef0002[:index] + b"2099" + visual.ef0002[index + 4:])
    cvc.verify_card_face(face, k)
    assert face.expiry == "20990217"


def test_age_record_and_my_number_image(trust, visual):
    k = issuer_key(trust, visual.ef0004)
    age, image = AgeRecord.parse(visual.ef0001), MyNumberImage.parse(visual.ef0005)
    cvc.verify_record(age, k)
    cvc.verify_record(image, k)
    face = CardFace.parse(visual.ef0002)
    assert age.birth_date == "19800217"
    assert age.public_key == face.public_key and image.public_key == face.public_key
    with pytest.raises(RecordInvalid, match="age record"):
        cvc.verify_record(AgeRecord.parse(flip(visual.ef0001, 8)), k)
    with pytest.raises(RecordInvalid, match="My Number image"):
        cvc.verify_record(MyNumberImage.parse(flip(visual.ef0005, 12)), k)


def test_card_presence_with_the_face_key(trust, visual):
    face = CardFace.parse(visual.ef0002)
    challenge = bytes(range(32))
    answer = key("card").sign(challenge, padding.PKCS1v15(), hashes.SHA256())
    cvc.verify_presence(face.public_key, challenge, answer, "the card-face AP")
    copied_card = key("text-ap").sign(challenge, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(RecordInvalid):
        cvc.verify_presence(face.public_key, challenge, copied_card, "the card-face AP")


# --- one parser for the card API and the verifier (CI §7.2, §7.3, §8) ------------------------------


def test_a_card_key_is_the_same_key_however_it_is_encoded():
    """The clerk compares the card keys of DF12, DF24 and DF42 (CI §8) by their numbers."""
    public = key("card").public_key()
    encoded = card_key_encoding(public)
    n = public.public_numbers().n.to_bytes(256, "big")
    padded = tlv(0x90, b"\x00\x01\x00\x01") + tlv(0x91, b"\x00" + n)
    assert RsaPublicKey.parse(encoded, "x") == RsaPublicKey.parse(padded, "x")
    assert RsaPublicKey.parse(encoded, "x") != RsaPublicKey.parse(card_key_encoding(key("clone").public_key()), "x")


def test_a_malformed_record_is_one_error_for_the_card_api_and_the_verifier(text):
    """The typed API (CardDataError) and the verifier (RecordInvalid) get the same exception,
    naming the record and what is wrong."""
    index = text.ef0002.index(bytes.fromhex("df21")) + 3
    with pytest.raises(CardDataError, match=r"four facts \(card-info AP EF 0002\): offset \d+ in the DF21") as caught:
        FourFacts.parse(flip(text.ef0002, index + 1))
    assert isinstance(caught.value, RecordInvalid)
