"""card.visual against the demo card in-process (CI §8, flow E of §13)."""

from __future__ import annotations

import hashlib
import io

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from PIL import Image

from mynacard.host.errors import SecurityStatusNotSatisfied


@pytest.mark.parametrize("opener", ["code_b", "code_a"])
def test_card_face_opened_by_either_code(card, demo, opener) -> None:
    """CI §8.1: the card face opens with 照合番号B or A; every element is where it should be."""
    if opener == "code_b":
        card.visual.verify_code_b(demo.code_b)
    else:
        card.visual.verify_code_a(demo.my_number)
    face = card.visual.card_face()
    assert (face.birth_date, face.sex) == (demo.birth_date, demo.sex)
    assert len(face.expiry) == 8 and face.expiry.isdigit()
    assert face.public_key.bits == 2048
    for png in (face.name_png, face.address_png, face.security_code_png):
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert face.photo_jp2[4:8] == b"jP  "  # JP2 container signature box


def test_photo_converts_to_a_viewable_png(card, demo) -> None:
    card.visual.verify_code_b(demo.code_b)
    face = card.visual.card_face()
    with Image.open(io.BytesIO(face.photo_png())) as png, \
            Image.open(io.BytesIO(face.photo_jp2)) as jp2:
        assert png.format == "PNG" and png.size == jp2.size


def test_card_face_signature_covers_the_signed_parts(card, demo) -> None:
    """CI §8.1: DF28 = PKCS#1 v1.5 over DigestInfo(30 71 … 04 60 || three SHA-256 digests)."""
    card.visual.verify_code_b(demo.code_b)
    face = card.visual.card_face()
    digests = b"".join(hashlib.sha256(part).digest() for part in face.signed_parts)
    key = card.visual.cv_certificate().public_key
    em = pow(int.from_bytes(face.signature, "big"), key.exponent, key.modulus).to_bytes(256, "big")
    assert em.startswith(b"\x00\x01\xff")
    assert em.endswith(bytes.fromhex("3071300d060960864801650304020105000460") + digests)


def test_card_signature_proves_the_face_key(card, demo) -> None:
    """CI §8.1: 80 2A 00 00 signs with the card key named in DF24, with no credential."""
    challenge = b"is this chip the one on the face?"
    signature = card.visual.card_signature(challenge)
    card.visual.verify_code_b(demo.code_b)
    card.visual.card_face().public_key.to_cryptography().verify(
        signature, challenge, padding.PKCS1v15(), hashes.SHA256())


def test_age_record_with_the_birth_key(card, demo) -> None:
    """CI §8 EF 0001: opened by the 生年月日 key (era YYMMDD); DF13 signs DF11+DF12."""
    card.visual.verify_birth_key(demo.birth_key)
    record = card.visual.age_record()
    assert record.birth_date == demo.birth_date
    card.visual.cv_certificate().public_key.to_cryptography().verify(
        record.signature, record.signed_part, padding.PKCS1v15(), hashes.SHA256())


def test_my_number_image_needs_code_a(card, demo) -> None:
    """CI §8 EF 0005: 照合番号A only; B does not open it."""
    card.visual.verify_code_b(demo.code_b)
    with pytest.raises(SecurityStatusNotSatisfied, match="照合番号A"):
        card.visual.my_number_image()
    card.visual.verify_code_a(demo.my_number)
    image = card.visual.my_number_image()
    assert image.png.startswith(b"\x89PNG")
    card.visual.cv_certificate().public_key.to_cryptography().verify(
        image.signature, image.signed_part, padding.PKCS1v15(), hashes.SHA256())


def test_free_objects(card) -> None:
    info = card.visual.basic_info()
    assert len(info.municipality_code) == 5 and info.municipality_code.isdigit()
    assert card.visual.cv_certificate().issuer_key_id != card.text.cv_certificate().subject_key_id


def test_face_is_protected(card) -> None:
    with pytest.raises(SecurityStatusNotSatisfied, match="照合番号B"):
        card.visual.card_face()
