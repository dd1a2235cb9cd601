"""The one redaction policy of APDU traces (mynacard.codec.redaction): secret command data is cut
off whatever its lengths say, and responses of protected EFs are hidden, with the selection
followed as the card follows it (CI §2, §4, §6.1, §7.1, §8, §11)."""

from __future__ import annotations

import random

import pytest

from mynacard.codec.redaction import (
    JPKI_AID,
    PROTECTED_EFS,
    TEXT_AID,
    VISUAL_AID,
    RedactionPolicy,
    command_data_span,
    redact_command,
)

JPKI = "00A4040C0AD392F000260100000001"
TEXT = "00A4040C0AD3921000310001010408"
VISUAL = "00A4040C0AD3921000310001010402"
OK = b"\x90\x00"
MY_NUMBER_EF = bytes.fromhex("FF100C") + b"123456789018" + b"\xff\xff"


@pytest.mark.parametrize(
    ("apdu", "shown"),
    [
        ("002000800431323334", "0020008004 <4 bytes redacted>"),  # VERIFY (CI §13 B)
        ("00200098 06 414243313233", "0020009806 <6 bytes redacted>"),  # VERIFY, SFI form
        ("002401800435363738", "0024018004 <4 bytes redacted>"),  # CHANGE REFERENCE DATA
        ("803200800435363738", "8032008004 <4 bytes redacted>"),  # CHANGE KEY
        ("0C20008010 00112233445566778899AABBCCDDEEFF", "0C20008010 <16 bytes redacted>"),  # SM
        ("00200080000004 31323334", "00200080000004 <4 bytes redacted>"),  # extended Lc
        ("0020008004 31323334 00", "0020008004 <5 bytes redacted>"),  # an Le is not shown either
        ("0020008004 313233", "00200080 <4 bytes redacted>"),  # Lc too long: header only
        ("0020008002 31323334", "00200080 <5 bytes redacted>"),  # Lc too short: header only
        ("00200080 31323334", "00200080 <4 bytes redacted>"),  # no Lc at all
        ("0020008031", "00200080 <1 bytes redacted>"),  # one byte: Le or a digit, never shown
        ("00200080", "00200080"),  # the query carries nothing secret
        ("00A4020C020018", "00A4020C020018"),
    ],
)
def test_secret_bearing_commands_lose_everything_after_the_header(apdu, shown):
    assert redact_command(bytes.fromhex(apdu.replace(" ", ""))).text() == shown


def test_command_data_span_parses_exactly_as_the_card():
    """The policy must see the AID/FID the card sees: compare with the card's own parser on
    seeded random lengths around every boundary (ISO 7816-3 cases 1–4, short and extended)."""
    from mynacard.applet_model.apdu import CommandAPDU, MalformedAPDU

    rng = random.Random(8)
    for _ in range(4000):
        body = bytes(rng.choice((0, 1, 2, 3, 10, 255)) if rng.random() < 0.3 else rng.randrange(256)
                     for _ in range(rng.choice((0, 1, 2, 3, 4, 6, 9, 11, 12, 13, 260))))
        apdu = bytes.fromhex("00A4040C") + body
        try:
            parsed = CommandAPDU.parse(apdu)
        except MalformedAPDU:
            assert command_data_span(apdu) is None
            continue
        span = command_data_span(apdu)
        data = apdu[span[0] : span[0] + span[1]] if span else b""
        assert data == parsed.data, apdu.hex()


def feed(policy: RedactionPolicy, apdu: str, response: bytes) -> bool:
    """True if the response data was hidden."""
    shown = policy.feed(bytes.fromhex(apdu), response)
    assert shown.response is not None
    return shown.response.hidden > 0


def test_the_my_number_ef_after_select_by_fid_and_the_ef_next_to_it():
    policy = RedactionPolicy()
    assert not feed(policy, TEXT, OK)
    assert not feed(policy, "00A4020C020001", OK)
    assert feed(policy, "00B0000011", MY_NUMBER_EF + OK)
    assert feed(policy, "00B0000302", b"\x33\x34" + OK)  # any part of it, at any offset
    assert not feed(policy, "00A4020C020004", OK)
    assert not feed(policy, "00B0000004", bytes.fromhex("7F218202") + OK)  # CV certificate: free


def test_a_failed_select_by_aid_leaves_the_card_in_its_ap():
    """Issue 8 defect 3: the host tracer forgot the AP on a failed SELECT and showed EF 0001."""
    policy = RedactionPolicy()
    feed(policy, TEXT, OK)
    feed(policy, "00A4020C020001", OK)
    feed(policy, "00A4040C07A0000000031010", b"\x6a\x82")  # unknown AID: still in the text AP
    assert feed(policy, "00B0000002", b"\xff\x10" + OK)
    feed(policy, "00A4040C0A" + JPKI_AID.hex(), b"\x67\x00")  # refused JPKI select: still text AP
    assert feed(policy, "00B0000002", b"\xff\x10" + OK)
    feed(policy, "00A4020C020004", b"\x6a\x82")  # failed SELECT by FID: EF 0001 still current
    assert feed(policy, "00B0000002", b"\xff\x10" + OK)


def test_sfi_reads_select_their_ef():
    policy = RedactionPolicy()
    feed(policy, TEXT, OK)
    assert feed(policy, "00B08100000000", MY_NUMBER_EF + OK)  # CI §13 C, JSA variant
    assert not feed(policy, "00B08400000000", b"\x7f\x21" + OK)
    assert not feed(policy, "00B0000002", b"\x7f\x21" + OK)  # EF 0004 is current now
    feed(policy, VISUAL, OK)
    assert feed(policy, "00B08500000000", b"\xff\x40\x82\x01\x00\x89PNG" + OK)  # My Number image
    assert feed(policy, "00B08200000000", b"\xff\x20" + OK)  # card face
    assert not feed(policy, "00B08300000000", b"\xff\x30" + OK)  # AP basic info: free


def test_a_refused_sfi_read_has_selected_its_ef_a_missing_one_has_not():
    policy = RedactionPolicy()
    feed(policy, TEXT, OK)
    feed(policy, "00A4020C020004", OK)
    feed(policy, "00B0810000", b"\x69\x82")  # refused, but the card selected EF 0001 first
    assert feed(policy, "00B0000003", b"\x31\x32\x33" + OK)
    feed(policy, "00B0840000", b"\x6b\x00")  # offset beyond EF 0004: selected all the same
    assert not feed(policy, "00B0000003", b"\x7f\x21\x82" + OK)
    feed(policy, "00B0810000", b"\x6a\x82")  # "not found": nothing changed (EF 0004 current)
    assert not feed(policy, "00B0000003", b"\x7f\x21\x82" + OK)
    feed(policy, "00B0810000", b"\x6f\x00")  # unknown failure: either
    assert feed(policy, "00B0000003", b"\x7f\x21\x82" + OK)


def test_ef_0001_of_jpki_is_the_signing_certificate_and_is_protected():
    policy = RedactionPolicy()
    feed(policy, JPKI, OK)
    feed(policy, "00A4020C020001", OK)
    assert feed(policy, "00B0000004", bytes.fromhex("30820500") + OK)  # names the holder
    feed(policy, "00A4020C02000A", OK)
    assert not feed(policy, "00B0000004", bytes.fromhex("30820500") + OK)  # auth certificate: free


def test_partial_aid_selection_is_every_ap_it_could_name():
    """CI §2: JICSAP allows selection by AID prefix."""
    policy = RedactionPolicy()
    feed(policy, "00A4040C07D3921000310001", OK)
    feed(policy, "00A4020C020005", OK)
    assert feed(policy, "00B0000010", bytes(16) + OK)


def test_secure_messaging_select_leaves_any_ef_current():
    """CI §11: under SM the FID is inside the cryptogram; an SM answer is a cryptogram under a
    session key whose delivery is redacted, so it is shown; a plain READ after it is not."""
    policy = RedactionPolicy()
    feed(policy, TEXT, OK)
    feed(policy, "00A4020C020004", OK)
    assert not feed(policy, "08A4020C13861101" + "AB" * 16, OK)
    assert not feed(policy, "08B00000000005960300000000", bytes.fromhex("861101") + bytes(range(16)) + OK)
    assert feed(policy, "00B0000002", b"\x41\x42" + OK)  # plain READ of an EF the trace cannot name
    delivery = redact_command(bytes.fromhex("80AE0000000100") + bytes(256))
    assert (delivery.shown, delivery.hidden) == (bytes.fromhex("80AE0000000100"), 256)


def test_get_response_continues_a_protected_read():
    policy = RedactionPolicy()
    feed(policy, TEXT, OK)
    feed(policy, "00A4020C020002", OK)
    policy.feed(bytes.fromhex("00B0000000"), b"\x61\x10")  # the data waits for GET RESPONSE
    assert feed(policy, "00C0000010", bytes(16) + OK)
    assert not feed(policy, "00C0000010", bytes(16) + OK)  # nothing pending any more


def test_no_answer_means_perhaps():
    policy = RedactionPolicy()
    feed(policy, TEXT, OK)
    feed(policy, "00A4020C020001", OK)
    assert policy.feed(bytes.fromhex(JPKI), None).response is None  # the transport failed
    assert feed(policy, "00B0000002", b"\xff\x10" + OK)  # maybe still in the text AP


def test_power_cycle_forgets_the_selection_but_the_content_check_remains():
    policy = RedactionPolicy()
    feed(policy, TEXT, OK)
    feed(policy, "00A4020C020001", OK)
    policy.power_cycle()
    assert not feed(policy, "00B0000002", b"\xff\x10" + OK)
    assert feed(policy, "00B0000011", MY_NUMBER_EF + OK)  # looks like the My Number EF anyway


def test_response_text_keeps_length_and_status_word():
    policy = RedactionPolicy()
    assert policy.feed(b"\x00\xb0\x00\x00\x11", MY_NUMBER_EF + OK).response_text == "<17 bytes redacted> 9000"
    assert policy.feed(b"\x00\xb0\x00\x00\x02", b"\x30\x82" + OK).response_text == "3082 9000"
    assert policy.feed(b"\x00\xb0\x00\x00\x02", b"\x6a\x82").response_text == "6A82"


def test_protected_efs_are_the_ones_the_card_model_guards():
    """The policy's table agrees with the card model: every EF the card opens only after a secret
    is protected, and every free EF is not (CI §6.1, §7.1, §8)."""
    from mynacard.applet_model.access import FREE
    from mynacard.applet_model.aps import APPLICATIONS
    from mynacard.applet_model.files import RecordEF, TransparentEF

    guarded = {}
    for app in APPLICATIONS.values():
        efs = frozenset(ef.fid for ef in app.files
                        if isinstance(ef, TransparentEF | RecordEF) and ef.read != FREE)
        if efs:
            guarded[app.aid] = efs
    protected = {aid: efs for aid, efs in PROTECTED_EFS.items()}
    # JPKI 0009 is an opaque EF on the model (CI §6.1: "unknown, protected"): protected anyway.
    assert protected.pop(JPKI_AID) - {0x0009} == guarded.pop(JPKI_AID)
    assert protected == guarded
    assert {0x0001, 0x0002, 0x0003} <= PROTECTED_EFS[TEXT_AID]  # My Number, four facts, digests
    assert {0x0001, 0x0002, 0x0005} <= PROTECTED_EFS[VISUAL_AID]  # birth date, face, My Number image
