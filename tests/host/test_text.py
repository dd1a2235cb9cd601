"""card.text against the demo card in-process (CI §7, flows C and D of §13)."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from mynacard.host.errors import SecurityStatusNotSatisfied


def test_my_number_and_four_facts_with_the_pin(card, demo) -> None:
    """CI §7.1–7.2: the PIN opens both; the four facts are found through the DF21 table."""
    card.text.verify_pin(demo.text_pin)
    record = card.text.my_number_record()
    assert record.number == demo.my_number and record.check_digit_valid
    assert len(record.physical) == 17 and record.physical.startswith(b"\xff\x10\x0c")
    facts = card.text.four_facts()
    assert (facts.name, facts.address, facts.birth_date, facts.sex) == (
        demo.name, demo.address, demo.birth_date, demo.sex)
    assert "\u3000" in facts.name  # family and given name separated by an ideographic space


def test_code_a_opens_the_my_number_only(card, demo) -> None:
    """CI §7.1: 照合番号A opens EF 0001, not EF 0002."""
    card.text.verify_code_a(demo.my_number)
    assert card.text.my_number() == demo.my_number
    with pytest.raises(SecurityStatusNotSatisfied, match="照合番号B"):
        card.text.four_facts()


def test_code_b_opens_the_four_facts_only(card, demo) -> None:
    """CI §7.1: 照合番号B opens EF 0002, not EF 0001."""
    card.text.verify_code_b(demo.code_b)
    assert card.text.four_facts().birth_date == demo.birth_date
    with pytest.raises(SecurityStatusNotSatisfied, match="照合番号A"):
        card.text.my_number()


def test_nothing_without_a_secret(card) -> None:
    with pytest.raises(SecurityStatusNotSatisfied):
        card.text.my_number()
    with pytest.raises(SecurityStatusNotSatisfied):
        card.text.integrity_record()


def test_integrity_record_covers_the_raw_bytes(card, demo) -> None:
    """CI §7.1 EF 0003: DF31 = SHA-256 of the 17 physical bytes of EF 0001, DF32 = SHA-256 of
    EF 0002 after the DF21 table, DF33 signs DF31+DF32 with the key the CV certificate holds."""
    card.text.verify_pin(demo.text_pin)
    record = card.text.integrity_record()
    assert len(record.raw) == 336
    assert record.my_number_digest == hashlib.sha256(card.text.my_number_record().physical).digest()
    assert record.four_facts_digest == hashlib.sha256(card.text.four_facts().signed_part).digest()
    cv = card.text.cv_certificate()
    cv.public_key.to_cryptography().verify(record.signature, record.signed_part,
                                           padding.PKCS1v15(), hashes.SHA256())


def test_free_objects(card) -> None:
    """CI §7.1/§7.3: the CV certificate and basic info need no secret."""
    cv = card.text.cv_certificate()
    assert cv.raw.startswith(b"\x7f\x21") and len(cv.body) == 297
    assert cv.public_key.bits == 2048 and len(cv.signature) == 256
    info = card.text.basic_info()
    assert info.raw.startswith(b"\xff\x40") and len(info.elements[0xDF41]) == 4


def test_ap_key_record_and_presence_signature(card, demo) -> None:
    """CI §7.1: EF 0007 DF51 is the AP key; 80 2A 00 00 needs no credential and verifies with it;
    its DF52 signature is by the CV-certified key."""
    card.text.verify_pin(demo.text_pin)
    record = card.text.ap_key_record()
    challenge = b"clerk challenge"
    signature = card.text.ap_signature(challenge)
    record.public_key.to_cryptography().verify(signature, challenge, padding.PKCS1v15(),
                                               hashes.SHA256())
    card.text.cv_certificate().public_key.to_cryptography().verify(
        record.signature, record.signed_part, padding.PKCS1v15(), hashes.SHA256())
    assert card.text.sm_public_key().bits == 2048


def test_change_text_pin(card, reopen, demo) -> None:
    card.text.change_pin(demo.text_pin, "4321")
    with reopen() as again:
        again.text.verify_pin("4321")
        assert again.text.my_number() == demo.my_number


def test_my_number_never_reaches_the_trace(card, traced, demo) -> None:
    """DESIGN.md: the My Number and PINs never appear in traces (here host's own trace)."""
    card.text.verify_code_a(demo.my_number)
    card.text.my_number()
    dump = "\n".join(e.line() for e in traced.entries)
    assert demo.my_number.encode().hex().upper() not in dump
    assert "redacted" in dump
