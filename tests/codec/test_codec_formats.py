"""mynacard.codec's My Number check digit, DigestInfo and CV-certificate layout."""

from __future__ import annotations

import hashlib
import random

import pytest
from stdnum.jp import in_ as stdnum_my_number

from mynacard.codec import cv, digest_info, my_number, tlv
from mynacard.codec.errors import CodecError


class TestMyNumber:
    def test_worked_examples_of_jpki_system_4_1(self) -> None:
        assert my_number.check_digit("12345678901") == 8
        assert my_number.check_digit("12345678900") == 0
        assert my_number.is_valid("123456789018") and my_number.is_valid("537686677188")
        assert not my_number.is_valid("123456789017")

    def test_agrees_with_python_stdnum(self) -> None:
        """python-stdnum's `jp.in_` is an implementation written by others from the same 省令."""
        rng = random.Random(20261130)
        for _ in range(2000):
            base = "".join(rng.choice("0123456789") for _ in range(11))
            assert str(my_number.check_digit(base)) == stdnum_my_number.calc_check_digit(base)
            wrong = base + str((my_number.check_digit(base) + rng.randint(1, 9)) % 10)
            assert my_number.is_valid(wrong) == stdnum_my_number.is_valid(wrong) is False

    @pytest.mark.parametrize("number", ["12345678901", "1234567890180", "１２３４５６７８９０１８",
                                        "12345678901a", ""])
    def test_not_twelve_ascii_digits(self, number: str) -> None:
        assert not my_number.is_valid(number)

    def test_the_error_never_quotes_the_digits(self) -> None:
        with pytest.raises(CodecError) as caught:
            my_number.check_digit("1234567890")
        assert "1234567890" not in str(caught.value)

    @pytest.mark.parametrize(("number", "words"), [("123456789017", "check digit"), ("12345", "12 digits"),
                                                   ("１２３４５６７８９０１８", "12 digits")])
    def test_validate_says_what_is_wrong_without_the_digits(self, number: str, words: str) -> None:
        assert my_number.validate("123456789018") == "123456789018"
        with pytest.raises(CodecError) as caught:
            my_number.validate(number)
        assert words in str(caught.value) and number not in str(caught.value)


class TestDigestInfo:
    @pytest.mark.parametrize("name", digest_info.HASH_NAMES)
    def test_prefix_is_the_der_of_the_hash_oid(self, name: str) -> None:
        """RFC 8017 §9.2 note 1; checked against the DER built by asn1crypto."""
        from asn1crypto import algos, core

        digest = hashlib.new(name, b"x").digest()
        der = algos.DigestInfo({"digest_algorithm": {"algorithm": name, "parameters": core.Null()},
                                "digest": digest}).dump()
        assert digest_info.digest_info(name, digest) == der == digest_info.of_message(name, b"x")
        assert digest_info.announced_hash(der) == name
        assert digest_info.announced_hash(der[:-1]) is None

    def test_card_face_digest_info_holds_three_hashes(self) -> None:
        """CI §8.1: `30 71 … 04 60 <96 bytes>`; one hash gives the usual 51 bytes."""
        three = bytes(96)
        info = digest_info.sha256_digest_info(three)
        assert info[:2] == b"\x30\x71" and info[17:19] == b"\x04\x60" and info.endswith(three)
        one = hashlib.sha256(b"x").digest()
        assert digest_info.sha256_digest_info(one) == digest_info.PREFIXES["sha256"] + one

    def test_wrong_digest_or_hash_is_refused(self) -> None:
        with pytest.raises(CodecError, match="32 bytes, not 20"):
            digest_info.digest_info("sha256", bytes(20))
        with pytest.raises(CodecError, match="not one of"):
            digest_info.digest_info("md5", bytes(16))

    def test_the_card_signs_every_announced_hash(self) -> None:
        """applet_model maps each codec hash name to a `cryptography` algorithm (CI §6.2)."""
        from mynacard.applet_model import rsa_sign

        assert {name: h.name for name, h in rsa_sign._HASHES.items()} == {
            name: name for name in digest_info.HASH_NAMES}


def _certificate(body_len: int = cv.BODY_LENGTH, signature: bytes = bytes(256)) -> bytes:
    issuer, subject = b"9000020\x08\x05001\0\0\0\0", b"9000021\x08\x05001\0\0\0\0"
    key = cv.encode_rsa_key(65537, (1 << 2047) | 1, 256)
    body = (issuer + subject + key + bytes(body_len))[:body_len]
    return cv.encode_certificate(body, signature)


class TestCvCertificate:
    def test_layout_of_ci_7_3(self) -> None:
        """7F21 82 02 33 { 5F4E 82 01 29 <297>; 5F37 82 01 00 <256> } = 568 bytes."""
        der = _certificate()
        assert len(der) == 568 and der[:5] == bytes.fromhex("7F21820233")
        fields = cv.parse_certificate(der + b"\xff" * 8)
        assert fields.encoded == der
        assert cv.key_id_text(fields.issuer_key_id) == "9000020/001"
        assert cv.key_id_shape_ok(fields.subject_key_id)
        assert fields.key.exponent == 65537 and fields.key.modulus.bit_length() == 2048
        assert fields.key.encoded[:9] == bytes.fromhex("900301000191820100")
        contents = cv.parse_contents(tlv.parse(der).value)
        assert (contents.body, contents.signature) == (fields.body, fields.signature)

    def test_a_body_of_the_wrong_size_is_refused(self) -> None:
        with pytest.raises(CodecError, match="297 bytes, this one 296"):
            cv.parse_certificate(_certificate(296))

    def test_another_template_is_refused(self) -> None:
        with pytest.raises(CodecError, match="starts with tag FF20, not 7F21"):
            cv.parse_certificate(bytes.fromhex("FF2000"))
        with pytest.raises(CodecError, match="needs a 5F4E body"):
            cv.parse_certificate(bytes.fromhex("7F2103900101"))

    def test_a_key_without_modulus_is_refused(self) -> None:
        with pytest.raises(CodecError, match="tag 90 .* and 91"):
            cv.decode_rsa_key(bytes.fromhex("9003010001"))
