"""The card OS's rules, command by command, against a synthetic image (CI §2–§4, §6–§11).

The flows of CI §13 against a card made by `mynacard card new` are in test_card_flows.py.
"""

from __future__ import annotations

import hashlib

import pytest
from conftest import run
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from mynacard.applet_model.card import Card
from mynacard.applet_model.profiles import DEFAULT_PROFILE, apply_behaviours
from mynacard.applet_model.store import MemoryStore
from mynacard.codec.digest_info import PREFIXES

JPKI = "00A4040C0AD392F000260100000001"
TEXT = "00A4040C0AD3921000310001010408"
VISUAL = "00A4040C0AD3921000310001010402"
COMMON = "00A4040C0AD3921000310001010100"
JUKI = "00A4040C0AD3921000310001010401"
SHA256_DI = PREFIXES["sha256"].hex().upper()


def ok(card, *apdus: str) -> bytes:
    """Send APDUs that must all succeed; return the data of the last one."""
    data = b""
    for apdu in apdus:
        data, sw = run(card, apdu)
        assert sw == 0x9000, f"{apdu} -> {sw:04X}"
    return data


def sw(card, apdu: str) -> int:
    return run(card, apdu)[1]


def ascii_hex(text: str) -> str:
    return f"{len(text):02X}" + text.encode().hex()


# -- class byte, INS, malformed (CI §1, §3, §11) ----------------------------------------------

@pytest.mark.parametrize("apdu, expected", [
    ("01A4040C0AD392F000260100000001", 0x6881),  # logical channel 1
    ("03B0000004", 0x6881),
    ("40B0000004", 0x6881),                      # further interindustry class: channels 4-19
    ("0CA4040C0AD392F000260100000001", 0x6882),  # SM on SELECT
    ("0CB0000004", 0x69FC),                      # SM on READ
    ("0820008004" + "31323334", 0x69FC),         # SM on VERIFY
    ("00CB3FFF035C017E08", 0x6D00),              # PIV GET DATA: INS not supported
    ("0012000000", 0x6D00),
    ("FFCA000000", 0x6E00),                      # reader pseudo-APDU reaching the card
    ("80B0000004", 0x6E00),                      # ISO INS with proprietary CLA
    ("00A404", 0x6700),                          # shorter than a header
    ("00A4040C0BD392F000260100000001", 0x6700),  # Lc does not match
    ("10B0000004", 0x6884),                      # command chaining
])
def test_class_and_instruction_errors(card, apdu, expected):
    assert sw(card, apdu) == expected


def test_the_card_always_answers_with_a_status_word(card):
    """Every malformed or unknown APDU gets a two-byte status word, never an exception (CI §3)."""
    for raw in (b"", b"\x00", bytes(4), bytes(range(7)), b"\xff" * 300, bytes.fromhex("00B0800000")):
        assert len(card.execute(raw)) >= 2


# -- SELECT (CI §2, §4, §5) ------------------------------------------------------------------

def test_select_each_application_by_aid(card):
    for apdu in (JPKI, TEXT, VISUAL, COMMON, JUKI):
        assert sw(card, apdu) == 0x9000


@pytest.mark.parametrize("probe", [
    "00A4040007627601FF000000",                    # coolkey
    "00A4040006A00000000101",                      # muscle
    "00A404000BE82B0601040181C31F020100",        # sc-hsm
    "00A4040C0FD23300000045737445494420763335",    # mcrd
    "00A4040009A0000003080000100000",          # PIV
    "00A4040C07A000000116DB00",                    # cac
    "00A404000CF276A288BCFBA69D34F31001",          # isoApplet
    "00A4040009A0000003974254465900",              # gids
    "00A4040006D2760001240100",                    # openpgp
])
def test_other_drivers_probes_get_file_not_found(card, probe):
    """OpenSC's probes of other drivers must fail, or they claim the card (virtual-reader.md §6)."""
    assert sw(card, probe) == 0x6A82


def test_partial_aid_selects_the_first_matching_application(card):
    """JICSAP allows selection by a prefix of the AID (CI §2); the first AP in AID order answers."""
    ok(card, "00A4040C05D392F00026")
    assert sw(card, "00A4020C020018") == 0x9000  # JPKI's auth PIN EF: the JPKI AP is selected


def test_select_mf_after_reset_is_refused_and_in_an_ap_changes_nothing(card):
    """`00 A4 00 00` after reset → 6A86; with an AP selected → 9000, same DF (CI §2)."""
    assert sw(card, "00A40000") == 0x6A86
    ok(card, JPKI, "00A40000")
    assert sw(card, "00A4020C02000A") == 0x9000  # still in JPKI


def test_isd_select_restores_the_mf_state(card):
    ok(card, JPKI, "00A4040C07A0000001510000")
    assert sw(card, "00A4020C02000A") == 0x6A82
    assert sw(card, "00A40000") == 0x6A86


@pytest.mark.parametrize("apdu, expected", [
    ("00A4020C023F00", 0x6A82),        # MF by FID
    ("00A4020C022F10", 0x6A82),
    ("00A4020C022F11", 0x6A82),
    ("00A4020C02001E", 0x9000),        # the MF's one EF
    ("00A4020C0100", 0x6700),
    ("00A4020402000A", 0x6A86),
    ("00A4090C02000A", 0x6A86),
])
def test_select_at_mf_level(card, apdu, expected):
    assert sw(card, apdu) == expected


def test_mf_internal_ef_is_selectable_but_not_readable(card):
    ok(card, "00A4020C02001E")
    assert sw(card, "00B0000001") == 0x6981


def test_select_ef_in_an_ap_and_missing_ef(card):
    ok(card, JPKI)
    for fid in ("0001", "0002", "0005", "0006", "0008", "0009", "000A", "000B", "0010", "0016", "0017",
                "0018", "0019", "001A", "001B", "001C", "001E"):
        assert sw(card, f"00A4020C02{fid}") == 0x9000, fid  # JSA-DUMP's enumeration (CI §4)
    assert sw(card, "00A4020C020003") == 0x6A82


# -- READ BINARY (CI §2, §4) -----------------------------------------------------------------

def test_read_binary_offsets_eof_and_padding(card, synthetic_image):
    content = synthetic_image.applications["jpki"].files[0x000A]
    ok(card, JPKI, "00A4020C02000A")
    assert ok(card, "00B0000004") == content[:4]
    assert ok(card, "00B0010010") == content[0x100:0x110]
    assert ok(card, "00B007F800") == (content + b"\xff" * 0x800)[0x7F8:0x800]  # short at EOF, 9000
    assert ok(card, "00B0040004") == b"\xff" * 4  # padding after the object (CI §4)
    assert sw(card, "00B0080001") == 0x6B00  # offset beyond EOF
    assert sw(card, "00B0000000" + "00") == 0x6700  # READ BINARY does not take data


def test_read_binary_extended_le_returns_the_whole_ef(card, synthetic_image):
    ok(card, JPKI, "00A4020C02000A")
    data = ok(card, "00B00000000000")
    assert len(data) == 0x800 and data.startswith(synthetic_image.applications["jpki"].files[0x000A])


def test_read_binary_by_sfi_selects_the_ef(card, synthetic_image):
    ok(card, JPKI)
    assert ok(card, "00B08B0004") == synthetic_image.applications["jpki"].files[0x000B][:4]
    assert ok(card, "00B0000004") == synthetic_image.applications["jpki"].files[0x000B][:4]  # now current
    assert sw(card, "00B09F0004") == 0x6A86  # SFI 1F
    assert sw(card, "00B0A00004") == 0x6A86


def test_read_binary_refusals(card):
    ok(card, JPKI)
    assert sw(card, "00B0000004") == 0x6986  # no current EF
    ok(card, "00A4020C020018")
    assert sw(card, "00B0000004") == 0x6981  # a PIN EF
    ok(card, "00A4020C020017")
    assert sw(card, "00B0000004") == 0x6981  # a private key
    ok(card, "00A4020C020009")
    assert sw(card, "00B0000004") == 0x6982  # protected, content unknown
    ok(card, "00A4020C020001")
    assert sw(card, "00B0000004") == 0x6982  # signing cert without the signing password


# -- READ RECORD (CI §2, §9) -----------------------------------------------------------------

def test_read_record_forms(card):
    ok(card, COMMON)
    assert ok(card, "00B2010C00").startswith(b"\x01\x1c")  # SFI 1, record 1 (MYNA)
    ok(card, "00A4020C020002")
    assert ok(card, "00B2020400") == bytes(range(16))
    assert sw(card, "00B2030400") == 0x6A83   # no such record
    assert sw(card, "00B2010500") == 0x6A81   # records from P1 onwards: not supported
    assert sw(card, "00B2000400") == 0x6A83
    ok(card, "00A4020C02001C")
    assert sw(card, "00B2010400") == 0x6981   # not a record EF
    ok(card, JPKI, "00A4020C02000A")
    assert sw(card, "00B2010400") == 0x6981


# -- VERIFY (CI §2, §3) ----------------------------------------------------------------------

def test_verify_query_never_consumes_a_try(card):
    ok(card, JPKI, "00A4020C020018")
    assert [sw(card, "00200080") for _ in range(5)] == [0x63C3] * 5


def test_wrong_pins_count_down_block_and_stay_blocked(card):
    """63C2, 63C1, 63C0 on the exhausting try, then 6984; the query answers 63C0 (CI §3)."""
    ok(card, JPKI, "00A4020C020018")
    assert [sw(card, "002000800439393939") for _ in range(4)] == [0x63C2, 0x63C1, 0x63C0, 0x6984]
    assert sw(card, "00200080") == 0x63C0
    assert sw(card, "002000800431323334") == 0x6984  # even the right PIN
    card.reset()
    ok(card, JPKI, "00A4020C020018")
    assert sw(card, "002000800431323334") == 0x6984


def test_correct_pin_resets_the_counter(card):
    ok(card, JPKI, "00A4020C02001B")
    assert sw(card, "00200080" + ascii_hex("WRONG1")) == 0x63C4
    assert sw(card, "00200080" + ascii_hex("WRONG2")) == 0x63C3
    ok(card, "00200080" + ascii_hex("ABC123"))
    assert sw(card, "00200080") == 0x63C5  # 63Cx even when verified (OpenSC #959), CI §3


def test_verify_query_after_success_can_answer_9000(synthetic_image):
    """The other behaviour of CI §12, as a profile option."""
    card = Card.open(MemoryStore(synthetic_image), profile=DEFAULT_PROFILE.with_options(
        verify_query_after_success="ok"))
    ok(card, JPKI, "00A4020C020018", "002000800431323334")
    assert sw(card, "00200080") == 0x9000


def test_verify_by_short_identifier_without_select(card):
    """`00 20 00 98` / `00 20 00 9B` (CI §13 B variant)."""
    ok(card, JPKI)
    assert sw(card, "00200098") == 0x63C3
    ok(card, "0020009B" + ascii_hex("ABC123"))
    assert sw(card, "00200098" + "0439393939") == 0x63C2


def test_verify_refusals(card):
    ok(card, JPKI)
    assert sw(card, "00200080") == 0x6986          # no current EF
    ok(card, "00A4020C02000A")
    assert sw(card, "00200080") == 0x6A88          # not a secret
    assert sw(card, "00200180") == 0x6A86
    assert sw(card, "00200000") == 0x6A86


@pytest.mark.parametrize("reselect", ["keeps", "clears"])
def test_security_status_is_cleared_on_df_change_and_reset(synthetic_image, reselect):
    """CI §4: a verified PIN stops counting when another DF is selected or on reset; re-selecting
    the same AP keeps or clears it as the profile says (CI §12, `reselect`)."""
    card = Card.open(MemoryStore(synthetic_image), profile=apply_behaviours(DEFAULT_PROFILE, {"reselect": reselect}))
    sign = "802A0097" + "33" + SHA256_DI + "11" * 32 + "00"
    ok(card, JPKI, "00A4020C020018", "002000800431323334", sign)
    ok(card, TEXT, JPKI)
    assert sw(card, sign) == 0x6982
    ok(card, "00A4020C020018", "002000800431323334", JPKI)  # re-selecting the same AP
    assert sw(card, sign) == (0x9000 if reselect == "keeps" else 0x6982)
    ok(card, TEXT, JPKI, "00A4020C020018", "002000800431323334")
    card.reset()
    ok(card, JPKI)
    assert sw(card, sign) == 0x6982
    ok(card, "00A4020C020018", "002000800431323334")
    card.power_down()
    card.power_up()
    ok(card, JPKI)
    assert sw(card, sign) == 0x6982


def test_text_ap_key_0012_is_blocked_from_issue(card):
    ok(card, TEXT, "00A4020C020012")
    assert sw(card, "00200080") == 0x63C0
    assert sw(card, "002000800431323334") == 0x6984


# -- which secret opens which EF (CI §7.1, §8) -----------------------------------------------

def test_text_ap_access_matrix(card):
    ok(card, TEXT, "00A4020C020014", "00200080" + ascii_hex("123456789018"))  # 照合番号A
    assert sw(card, "00B0810000") == 0x9000
    assert sw(card, "00B0820000") == 0x6982
    assert sw(card, "00B0830000") == 0x9000
    ok(card, TEXT, "00A4020C020015", "00200080" + ascii_hex("55021720352285"))  # 照合番号B
    assert sw(card, "00B0810000") == 0x6982
    assert sw(card, "00B0820000") == 0x9000
    assert sw(card, "00B0860000") == 0x9000
    ok(card, TEXT, "00200091" + ascii_hex("1234"))                                 # the PIN
    assert [sw(card, f"00B08{n}0000") for n in range(1, 9)] == [0x9000] * 8
    ok(card, TEXT)
    assert [sw(card, f"00B08{n}0000") for n in (1, 2, 3, 6, 7)] == [0x6982] * 5
    assert [sw(card, f"00B08{n}0000") for n in (4, 5, 8)] == [0x9000] * 3


def test_visual_ap_access_matrix(card):
    ok(card, VISUAL, "00200091" + ascii_hex("550217"))              # birth key: age record only
    assert [sw(card, f"00B08{n}0000") for n in (1, 2, 5)] == [0x9000, 0x6982, 0x6982]
    ok(card, VISUAL, "00200092" + ascii_hex("55021720352285"))       # B: face, not the number
    assert [sw(card, f"00B08{n}0000") for n in (1, 2, 5, 6)] == [0x6982, 0x9000, 0x6982, 0x9000]
    ok(card, VISUAL, "00200093" + ascii_hex("123456789018"))         # A: face and number
    assert [sw(card, f"00B08{n}0000") for n in (2, 5, 6)] == [0x9000] * 3
    assert [sw(card, f"00B08{n}0000") for n in (3, 4)] == [0x9000] * 2  # free


# -- changing secrets (CI §2, §9) ------------------------------------------------------------

def test_change_reference_data(card):
    ok(card, JPKI, "00A4020C020018")
    assert sw(card, "002401800435363738") == 0x6982           # not verified
    ok(card, "002000800431323334")
    assert sw(card, "0024018003313233") == 0x6A80             # 3 digits: not the format
    assert sw(card, "00240180043132334A") == 0x6A80           # a letter in a numeric PIN
    assert sw(card, "002400800435363738") == 0x6A86
    ok(card, "002401800435363738")
    ok(card, JPKI, "00A4020C020018")
    assert sw(card, "002000800431323334") == 0x63C2           # the old PIN is wrong now
    ok(card, "002000800435363738")


def test_signing_password_change_checks_its_alphabet(card):
    ok(card, JPKI, "00A4020C02001B", "00200080" + ascii_hex("ABC123"))
    assert sw(card, "00240180" + ascii_hex("abc123")) == 0x6A80   # lower case
    assert sw(card, "00240180" + ascii_hex("AB12")) == 0x6A80     # too short
    ok(card, "00240180" + ascii_hex("NEWPASS9"))


def test_change_key_for_the_common_and_juki_pins(card):
    """CHANGE KEY `80 32` changes the 共通AP / 住基AP PIN `001C`; `00 24` does not (CI §2, §9)."""
    ok(card, COMMON, "00A4020C02001C", "002000800431323334")
    assert sw(card, "002401800435363738") == 0x6986
    ok(card, "803200800435363738")
    ok(card, JUKI, "00A4020C02001C")
    assert sw(card, "002000800435363738") == 0x63C2   # a separate key reference from 共通AP's
    ok(card, "002000800431323334")
    ok(card, JPKI, "00A4020C020018", "002000800431323334")
    assert sw(card, "803200800435363738") == 0x6986


def test_the_verification_codes_cannot_be_changed(card):
    ok(card, TEXT, "00A4020C020014", "00200080" + ascii_hex("123456789018"))
    assert sw(card, "00240180" + ascii_hex("999999999999")) == 0x6986


# -- signatures (CI §6.2, §7.1, §8.1) --------------------------------------------------------

def _verify(public_key, scheme, data, signature):
    if scheme == 0:
        public_key.verify(signature, data[19:], padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    elif scheme in (1,):
        recovered = pow(int.from_bytes(signature, "big"), public_key.public_numbers().e,
                        public_key.public_numbers().n).to_bytes(256, "big")
        assert recovered.endswith(b"\x00" + hashlib.sha256(data).digest()) and recovered[:2] == b"\x00\x01"
    elif scheme == 2:
        public_key.verify(signature, data, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    elif scheme == 3:
        public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    elif scheme == 4:
        public_key.verify(signature, data, padding.PSS(padding.MGF1(hashes.SHA256()), 32),
                          Prehashed(hashes.SHA256()))
    else:
        public_key.verify(signature, data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())


@pytest.mark.parametrize("scheme", range(6))
def test_all_six_signature_schemes(card, synthetic_keys, scheme):
    digest = hashlib.sha256(b"document").digest()
    data = {0: bytes.fromhex(SHA256_DI) + digest, 1: b"document", 2: digest, 3: b"document",
            4: digest, 5: b"document"}[scheme]
    ok(card, JPKI, "00A4020C020018", "002000800431323334", "00A4020C020017")
    signature = ok(card, f"802A{scheme:02X}80{len(data):02X}{data.hex()}00")
    assert len(signature) == 256
    _verify(synthetic_keys["jpki/auth"].public_key(), scheme, data, signature)


def test_raw_pkcs1_input_that_is_not_a_digest_info(card, synthetic_keys):
    """P1 00 pads whatever it is given (e.g. a bare TLS-style MD5+SHA1 blob), CI §6.2."""
    data = bytes(range(36))
    ok(card, JPKI, "00200098" + ascii_hex("1234"))
    signature = ok(card, f"802A0097{len(data):02X}{data.hex()}00")
    numbers = synthetic_keys["jpki/auth"].public_key().public_numbers()
    block = pow(int.from_bytes(signature, "big"), numbers.e, numbers.n).to_bytes(256, "big")
    assert block == b"\x00\x01" + b"\xff" * (256 - 3 - 36) + b"\x00" + data


def test_signature_refusals(card):
    di = SHA256_DI + "11" * 32
    ok(card, JPKI)
    assert sw(card, f"802A009A33{di}00") == 0x6982       # signing key without the password
    ok(card, "0020009B" + ascii_hex("ABC123"))
    assert sw(card, f"802A069A33{di}00") == 0x6A86       # no scheme 06
    assert sw(card, "802A029A03AABBCC00") == 0x6700      # scheme 02 wants 32 bytes
    assert sw(card, "802A009AF6" + "AA" * 246 + "00") == 0x6700  # more than k-11
    assert sw(card, f"802A008033{di}00") == 0x6986       # no current EF
    ok(card, "00A4020C02000A")
    assert sw(card, f"802A008033{di}00") == 0x6A88       # current EF is not a key
    assert ok(card, f"802A009A33{di}00")                  # the signing key by SFI
    assert sw(card, f"802A000033{di}00") == 0x6A88       # JPKI has no default key


def test_card_presence_keys_of_the_text_and_visual_aps_need_no_credential(card, synthetic_keys):
    di = bytes.fromhex(SHA256_DI) + hashlib.sha256(b"challenge").digest()
    for select, key in ((TEXT, "text/ap"), (VISUAL, "visual/card")):
        ok(card, select)
        signature = ok(card, f"802A000033{di.hex()}00")
        synthetic_keys[key].public_key().verify(signature, hashlib.sha256(b"challenge").digest(),
                                                padding.PKCS1v15(), Prehashed(hashes.SHA256()))


def test_internal_authenticate_only_with_the_common_ap_key(card, synthetic_keys):
    ok(card, COMMON)
    signature = ok(card, "0088009908" + "0102030405060708" + "00")
    synthetic_keys["common/internal-auth"].public_key().verify(
        signature, bytes.fromhex("0102030405060708"), padding.PKCS1v15(), hashes.SHA256())
    assert sw(card, "0088019908010203040506070800") == 0x6A86
    ok(card, VISUAL)
    assert sw(card, "0088000008010203040506070800") == 0x6985   # 券面 keys: conditions of use
    ok(card, JPKI, "00200098" + ascii_hex("1234"))
    assert sw(card, "0088009708010203040506070800") == 0x6985   # a signing key
    ok(card, COMMON)
    assert sw(card, "802A00990301020300") == 0x6985           # the IA key does not 80 2A


# -- GET CHALLENGE, GET DATA, and the rest (CI §1, §2, §10, §11) -----------------------------

def test_get_challenge(card):
    assert len(ok(card, "0084000008")) == 8
    assert len(ok(card, "0084000000")) == 256
    assert ok(card, "0084000010") != ok(card, "0084000010")
    ok(card, JPKI)
    assert len(ok(card, "0084000001")) == 1
    assert sw(card, "00840000000008") == 0x6985   # extended Le
    assert sw(card, "0084000108") == 0x6A86
    assert sw(card, "00840000") == 0x6700


def test_get_data_at_the_mf(card, synthetic_image):
    assert ok(card, "00CA00F000") == b"13221"
    assert ok(card, "00CA5F5100") == DEFAULT_PROFILE.contact_atr[1:]  # without TS (CI §1)
    assert sw(card, "00CA00F800") == 0x6700              # 512 bytes need extended Le
    assert ok(card, "00CA00F8000000") == synthetic_image.mf_objects[0x00F8]
    assert sw(card, "00CA004500") == 0x6A88              # absent from this image
    assert sw(card, "00CADF3005") == 0x6A88              # setcos's probe gets an error
    ok(card, JPKI)
    assert sw(card, "00CA00F000") == 0x6A88              # MF objects only at MF level
    assert sw(card, "00CA5F5100") == 0x6A88


def test_get_data_options_of_the_profile(synthetic_image):
    card = Card.open(MemoryStore(synthetic_image), profile=DEFAULT_PROFILE.with_options(
        atr_object_at="ap", mf_7f21=False))
    assert sw(card, "00CA5F5100") == 0x6A88
    assert sw(card, "00CA7F21000000") == 0x6A88          # an older card without 7F21 (CI §10)
    ok(card, TEXT)
    assert ok(card, "00CA5F5100") == DEFAULT_PROFILE.contact_atr[1:]


@pytest.mark.parametrize("select, expected", [(JPKI, 0x6982), (JUKI, 0x6982), (COMMON, 0x66F1),
                                              (VISUAL, 0x66F1), (TEXT, 0x6982)])
def test_set_session_key_without_secure_messaging(card, select, expected):
    """CI §11: SET SESSION KEY answers per AP; the text AP needs its PIN first."""
    ok(card, select)
    assert sw(card, "80AE0000020102") == expected


def test_unusable_proprietary_commands(card):
    ok(card, JPKI)
    for p1p2 in ("0000", "00AE", "8000", "00B6"):
        assert sw(card, f"80A2{p1p2}020102") == 0x6A86   # CI §2
    assert sw(card, "80FC000000") == 0x6700
    assert sw(card, "00C0000010") == 0x6985              # no 61xx is ever pending
