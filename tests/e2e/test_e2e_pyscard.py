"""pyscard through pcscd and vpcd to the emulated card: every flow of card-interface.md §13, and
what a client sees when the card is pulled out or loses power (issue 3, "Must show")."""

from __future__ import annotations

import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from smartcard.CardConnection import CardConnection
from smartcard.Exceptions import CardConnectionException

from e2e_harness import COMMON, JPKI, SHA256_DIGEST_INFO, TEXT, VISUAL, Client, demo, outer_value, tlv_children

DEMO = demo()


@pytest.fixture
def client(reader_name):
    c = Client(reader_name)
    yield c
    try:
        c.close()
    except CardConnectionException:
        pass  # the test took the card away


def test_atr_and_protocol_are_the_card_profiles(client, reader_card):
    """CI §1: contact T=1 ATR (vpcd reports the ATR we give it)."""
    from mynacard.applet_model.profiles import PROFILES

    assert bytes(client.connection.getATR()) == PROFILES["contact-2024"].atr
    assert client.connection.getProtocol() == CardConnection.T1_protocol


def test_flow_a_read_certificates_without_pin(client, card_dir):
    """CI §13 A: auth cert, auth CA, sign CA readable without PIN; sign cert needs the password."""
    client.ok(JPKI)
    for fid in (0x000A, 0x000B, 0x0002):
        client.select_ef(fid)
        der = client.read_sized()
        cert = x509.load_der_x509_certificate(der)
        assert cert.public_key().key_size == 2048
    client.select_ef(0x0001)
    assert client.send("00B0000004") == (b"", 0x6982)  # CI §6.1


def _auth_cert(client: Client) -> x509.Certificate:
    client.select_ef(0x000A)
    return x509.load_der_x509_certificate(client.read_sized())


def test_flow_b_verify_auth_pin_and_sign(client):
    """CI §13 B and §6.2: the signature verifies against the auth certificate."""
    client.ok(JPKI)
    cert = _auth_cert(client)
    client.select_ef(0x0018)
    assert client.send("00200080") == (b"", 0x63C3)
    client.ok("00200080", DEMO.auth_pin.encode())
    client.select_ef(0x0017)
    message = b"mynacard e2e"
    digest_info = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    signature = client.ok("802A0080" + f"{len(digest_info):02X}" + digest_info.hex() + "00")
    assert len(signature) == 256
    cert.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())


def test_flow_b_signing_key_without_select(client):
    """CI §13 B variant: VERIFY 80|SFI 1B and COMPUTE DIGITAL SIGNATURE 80|SFI 1A."""
    client.ok(JPKI)
    client.ok("0020009B", DEMO.sign_password.encode())
    client.select_ef(0x0001)
    cert = x509.load_der_x509_certificate(client.read_sized())  # readable once the password is verified
    message = b"signed with the signing key"
    digest_info = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    signature = client.ok("802A009A" + f"{len(digest_info):02X}" + digest_info.hex() + "00")
    cert.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())


def test_flow_b_wrong_pins_count_down_and_block(client):
    """CI §3: 63C2, 63C1, 63C0 on the exhausting try, then 6984."""
    client.ok(JPKI)
    client.select_ef(0x0018)
    answers = [client.send("00200080", b"9999")[1] for _ in range(4)]
    assert answers == [0x63C2, 0x63C1, 0x63C0, 0x6984]


def _my_number(client: Client) -> str:
    client.ok(TEXT)
    client.select_ef(0x0011)
    client.ok("00200080", DEMO.text_pin.encode())
    client.select_ef(0x0001)
    data = client.ok("00B0000011")
    assert data[:3] == b"\xff\x10\x0c" and data[15:] == b"\xff\xff"  # CI §7.1
    return data[3:15].decode()


def test_flow_c_read_my_number(client):
    """CI §13 C."""
    assert _my_number(client) == DEMO.my_number


def test_flow_d_read_the_four_facts(client):
    """CI §13 D and §7.2: header then the rest from offset 7; DF21 offsets point at DF22–DF25."""
    _my_number(client)
    client.select_ef(0x0002)
    header = client.ok("00B0000007")
    assert header[:2] == b"\xff\x20"
    rest = client.ok("00B00007" + "00")
    record = header + rest
    fields = tlv_children(outer_value(record))
    offsets = [int.from_bytes(fields[0xDF21][i : i + 2], "big") for i in range(0, 8, 2)]
    assert [record[o : o + 2] for o in offsets] == [b"\xdf\x22", b"\xdf\x23", b"\xdf\x24", b"\xdf\x25"]
    assert fields[0xDF22].decode() == DEMO.name
    assert fields[0xDF23].decode() == DEMO.address
    assert fields[0xDF24].decode() == DEMO.birth_date
    assert fields[0xDF25].decode() == DEMO.sex


def _card_face(client: Client, extended: bool) -> dict[int, bytes]:
    my_number = _my_number(client)
    client.ok(VISUAL)
    client.select_ef(0x0013)
    client.ok("00200080", my_number.encode())
    if extended:
        face = client.ok("00B08200000000")  # CI §13 E, extended SFI read
    else:
        client.select_ef(0x0002)
        face = client.read_sized(header_len=7)
    return tlv_children(outer_value(face))


@pytest.mark.parametrize("extended", [False, True], ids=["256-byte-chunks", "extended-le"])
def test_flow_e_read_the_face_photo(client, extended):
    """CI §13 E and §8.1: DF27 is a JPEG 2000 (JP2) photo; DF22 the birth date."""
    face = _card_face(client, extended)
    assert face[0xDF27][:12] == bytes.fromhex("0000000C6A5020200D0A870A")  # JP2 signature box
    assert face[0xDF22].decode() == DEMO.birth_date
    assert face[0xDF25][:4] == b"\x89PNG"


def test_flow_e_with_code_b(client):
    """CI §13 E: or 照合番号B (EF 0012) instead of A."""
    client.ok(VISUAL)
    client.select_ef(0x0012)
    client.ok("00200080", DEMO.code_b.encode())
    client.select_ef(0x0002)
    assert client.ok("00B0000002") == b"\xff\x20"


def test_flow_f_pin_status_never_spends_a_try(client):
    """CI §13 F: the VERIFY query of every secret answers 63Cx, twice the same."""
    queries = [(TEXT, 0x0011), (TEXT, 0x0014), (TEXT, 0x0015), (VISUAL, 0x0013), (VISUAL, 0x0012),
               (JPKI, 0x0018), (JPKI, 0x001B), (COMMON, 0x001C)]
    seen = {}
    for _ in range(2):
        for aid, fid in queries:
            client.ok(aid)
            client.select_ef(fid)
            _, sw = client.send("00200080")
            assert sw & 0xFFF0 == 0x63C0 and sw & 0xF > 0, f"{aid} {fid:04X}: {sw:04X}"
            assert seen.setdefault((aid, fid), sw) == sw
    assert seen[(JPKI, 0x0018)] == 0x63C3 and seen[(JPKI, 0x001B)] == 0x63C5


def test_unknown_aid_and_absent_objects_get_errors(client):
    """CI §3 / virtual-reader.md §6: what OpenSC's other drivers probe must fail."""
    assert client.send("00A4040006A00000000101" + "00")[1] == 0x6A82  # muscle's AID
    assert client.send("00CADF3005")[1] == 0x6A88  # setcos: GET DATA of an object the MF lacks
    assert client.send("00EE000000")[1] == 0x6D00  # an INS the card does not know


def test_removal_mid_session_raises_card_removed(client, remove_card, insert_card, reader_name):
    client.ok(JPKI)
    remove_card()
    with pytest.raises(CardConnectionException, match="Card was removed"):
        client.send("00A4020C020018")
    insert_card()
    again = Client(reader_name)
    again.ok(JPKI)
    again.close()


def test_removal_in_the_middle_of_a_wrong_verify_still_spends_the_try(client, reader_card, reader_name):
    """The card is pulled after executing: no answer, and the try stays spent."""
    client.ok(JPKI)
    client.select_ef(0x0018)
    reader_card.remove_during(ins=0x20)
    with pytest.raises(CardConnectionException):
        client.send("00200080", b"9999")
    reader_card.wait_removed()
    reader_card.insert()
    again = Client(reader_name)
    again.ok(JPKI)
    again.select_ef(0x0018)
    assert again.send("00200080")[1] == 0x63C2
    again.close()


def test_torn_write_during_a_wrong_verify_never_gives_a_try_back(client, reader_card, reader_name):
    """Issue 3: the card loses power mid-write; after restart the counter is ≤ before."""
    client.ok(JPKI)
    client.select_ef(0x0018)
    client.send("00200080", b"9999")
    _, before = client.send("00200080")
    assert before == 0x63C2
    reader_card.torn_write()
    with pytest.raises(CardConnectionException):
        client.send("00200080", b"9999")
    reader_card.wait_removed()
    assert reader_card.status()["last_event"] == "lost power in the middle of a command (torn write)"
    reader_card.insert()
    again = Client(reader_name)
    again.ok(JPKI)
    again.select_ef(0x0018)
    _, after = again.send("00200080")
    assert after & 0xFFF0 == 0x63C0 and after & 0xF <= before & 0xF
    assert again.send("00200080", DEMO.auth_pin.encode())[1] == 0x9000  # and the card still works
    again.close()


def test_reset_from_the_control_side_drops_the_security_status(client, reset_card):
    client.ok(JPKI)
    client.ok("0020009B", DEMO.sign_password.encode())
    client.select_ef(0x0001)
    assert client.send("00B0000004")[1] == 0x9000
    reset_card()
    assert client.send("00B0000004")[1] != 0x9000  # back at the MF, password forgotten


def test_delay_fault_answers_late_but_answers(client, reader_card, apdu_trace_path):
    client.ok(JPKI)
    reader_card.delay(200, ins=0xA4)
    client.select_ef(0x0018)
    assert "# fault: delaying INS A4 by 200 ms" in apdu_trace_path.read_text()


def test_trace_through_pcscd_redacts_the_pin_and_the_my_number(client, apdu_trace_path):
    _my_number(client)
    trace = apdu_trace_path.read_text()
    assert "0020008004 <4 bytes redacted> -> 9000" in trace
    assert "<17 bytes redacted> 9000" in trace
    assert DEMO.my_number not in trace and DEMO.my_number.encode().hex().upper() not in trace
    assert DEMO.text_pin.encode().hex().upper() not in trace
