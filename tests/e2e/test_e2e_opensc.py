"""OpenSC as an independent client of the emulated card through pcscd (issue 3, "Must show";
virtual-reader.md §6 for what OpenSC 0.23 sends and expects)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from e2e_harness import demo

DEMO = demo()

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("opensc-tool", "pkcs15-tool", "pkcs11-tool", "openssl")),
    reason="OpenSC or openssl is not installed; run `bash tools/setup.sh`",
)

#: The probes of the drivers OpenSC tries before jpki (virtual-reader.md §6); all must fail.
PROBES = [
    "00A4040007627601FF000000",  # coolkey
    "00A4040006A00000000101",  # muscle
    "00A404000BE82B0601040181C31F020100",  # sc-hsm
    "00A4040C0FD23300000045737445494420763335",  # mcrd
    "00CADF3005",  # setcos
    "00CB3FFF035C017E08",  # PIV-II
    "00A4040009A0000003080000100000",  # PIV-II
    "00A4040C07A000000116DB0000",  # cac
    "00A404000CF276A288BCFBA69D34F31001",  # isoApplet
    "00A4040009A0000003974254465900",  # gids
    "00A4040006D2760001240100",  # openpgp
]


def tool(*args: str, check: bool = True) -> str:
    for _ in range(5):
        result = subprocess.run(args, capture_output=True, text=True, timeout=60)
        # PKCS#11 slot lists race with readers changing under them (other test sessions insert and
        # remove cards in the other virtual readers): OpenSC then fails C_GetSlotList; ask again.
        if "CKR_BUFFER_TOO_SMALL" not in result.stdout + result.stderr:
            break
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}): {result.stdout}{result.stderr}")
    return result.stdout + result.stderr


def pkcs11_slots(reader: str) -> dict[str, str]:
    """token label -> PKCS#11 slot id, for the tokens in our reader (`pkcs11-tool -L`)."""
    listing = tool("pkcs11-tool", "-L")
    found = re.findall(r"Slot \d+ \((0x[0-9a-f]+)\): (.+)\n\s+token label\s+: (.+)", listing)
    return {label.strip(): slot for slot, name, label in found if name.strip() == reader}


def test_opensc_tool_names_the_card_jpki(reader_name):
    assert tool("opensc-tool", "-r", reader_name, "-n").strip() == "jpki"


def test_probes_of_other_drivers_all_get_errors(reader_name, apdu_trace_path):
    """virtual-reader.md §6: a card that said 9000 to these would be claimed by another driver."""
    tool("opensc-tool", "-r", reader_name, "-n")
    answers = dict(re.findall(r"\] ([0-9A-F]+) -> (?:[0-9A-F]* )?([0-9A-F]{4}) \(", apdu_trace_path.read_text()))
    for probe in PROBES:
        assert probe in answers, f"OpenSC did not send {probe}"
        assert answers[probe] in ("6A82", "6A88", "6D00"), f"{probe} -> {answers[probe]}"
    assert answers["00A4040C0AD392F000260100000001"] == "9000"


def test_pkcs15_lists_two_pins_two_keys_four_certificates(reader_name):
    listing = tool("pkcs15-tool", "-r", reader_name, "-D")
    assert re.findall(r"Tries left\s+: (\d+)", listing) == ["3", "5"]
    assert len(re.findall(r"^PIN \[", listing, re.M)) == 2
    assert len(re.findall(r"^Private RSA Key \[", listing, re.M)) == 2
    assert len(re.findall(r"^X.509 Certificate \[", listing, re.M)) == 4


@pytest.mark.parametrize(
    ("label", "key_id", "pin"),
    [("JPKI (User Authentication PIN)", "01", DEMO.auth_pin),
     ("JPKI (Digital Signature PIN)", "02", DEMO.sign_password)],
    ids=["auth-key", "signing-key"],
)
def test_pkcs11_signature_verifies_with_openssl_against_the_card_certificate(reader_name, tmp_path: Path,
                                                                              label, key_id, pin):
    slot = pkcs11_slots(reader_name)[label]
    message, signature, cert, pub = (tmp_path / n for n in ("msg", "sig", "cert.der", "key.pem"))
    message.write_bytes(b"signed through PKCS#11, pcscd and vpcd")
    tool("pkcs11-tool", "--slot", slot, "--login", "--pin", pin, "--sign", "--mechanism", "SHA256-RSA-PKCS",
         "--id", key_id, "-i", str(message), "-o", str(signature))
    tool("pkcs11-tool", "--slot", slot, "--login", "--pin", pin, "--read-object", "--type", "cert",
         "--id", key_id, "-o", str(cert))
    pub.write_text(tool("openssl", "x509", "-inform", "DER", "-in", str(cert), "-pubkey", "-noout"))
    out = tool("openssl", "dgst", "-sha256", "-verify", str(pub), "-signature", str(signature), str(message))
    assert "Verified OK" in out
    assert len(signature.read_bytes()) == 256


def test_wrong_pin_shows_the_tries_dropping(reader_name):
    slot = pkcs11_slots(reader_name)["JPKI (User Authentication PIN)"]
    out = tool("pkcs11-tool", "--slot", slot, "--login", "--pin", "9999", "-O", check=False)
    assert "CKR_PIN_INCORRECT" in out
    listing = tool("pkcs15-tool", "-r", reader_name, "-D")
    assert re.findall(r"Tries left\s+: (\d+)", listing) == ["2", "5"]


def test_a_contactless_atr_profile_is_still_recognised_by_aid(reader_card, reader_name):
    """CI §1/§1.1: OpenSC detects the card by SELECTing the JPKI AID whatever the ATR."""
    from mynacard.applet_model.profiles import PROFILES

    reader_card.reinsert(profile="contactless-06")
    atr = tool("opensc-tool", "-r", reader_name, "-a").strip().replace(":", "").upper()
    assert bytes.fromhex(atr) == PROFILES["contactless-06"].atr
    assert tool("opensc-tool", "-r", reader_name, "-n").strip() == "jpki"
