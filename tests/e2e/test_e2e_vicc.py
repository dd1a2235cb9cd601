"""vsmartcard's own `vicc` runs the mynacard card through its SmartcardOS interface (issue 3;
virtual-reader.md §4.2): Debian's VirtualICC connects to a vpcd slot, its OS replaced by our
`Card`, and pyscard talks to it through pcscd like to any card.

Debian's module needs the workaround of virtual-reader.md §4.3 (its folder on the path and
pycryptodome), which tools/setup.sh provides.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from smartcard.Exceptions import CardConnectionException, NoCardException
from smartcard.System import readers

from mynacard.applet_model.card import Card
from mynacard.applet_model.store import DirectoryStore
from mynacard.codec.digest_info import PREFIXES

pytestmark = pytest.mark.e2e

VICC_MODULES = Path("/usr/lib/python3/site-packages/virtualsmartcard")
RUN_VICC = """
import sys
from virtualsmartcard.VirtualSmartcard import VirtualICC
from mynacard.applet_model.card import Card
from mynacard.applet_model.store import DirectoryStore

vicc = VirtualICC(None, "iso7816", "localhost", int(sys.argv[2]))
vicc.os = Card.open(DirectoryStore(sys.argv[1]))
vicc.run()
"""
JPKI = "00A4040C0AD392F000260100000001"
DIGEST_INFO_SHA256 = PREFIXES["sha256"]


def _connect(reader_name: str, deadline: float):
    while True:
        reader = next((r for r in readers() if str(r) == reader_name), None)
        try:
            if reader is None:
                raise NoCardException("reader not listed yet")
            connection = reader.createConnection()
            connection.connect()
            return connection
        except (NoCardException, CardConnectionException):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def vicc_reader(card_dir: Path) -> Iterator[str]:
    if not (VICC_MODULES / "virtualsmartcard" / "VirtualSmartcard.py").is_file():
        pytest.skip("Debian's python3-virtualsmartcard is not installed (bash tools/setup.sh)")
    from mynacard.emulator.pcscd import PcscdLease
    from mynacard.emulator.slots import lease_slot

    pcscd = PcscdLease()
    info = pcscd.acquire()
    lease = lease_slot(info.slots, None, "vicc compatibility test")
    env = dict(os.environ, PYTHONPATH=str(VICC_MODULES))
    vicc = subprocess.Popen([sys.executable, "-c", RUN_VICC, str(card_dir), str(lease.slot.port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield lease.slot.reader
    finally:
        vicc.terminate()
        vicc.wait(timeout=10)
        lease.release()
        pcscd.release()


def transmit(connection, apdu: str | bytes) -> tuple[bytes, int]:
    raw = bytes.fromhex(apdu) if isinstance(apdu, str) else apdu
    data, sw1, sw2 = connection.transmit(list(raw))
    return bytes(data), (sw1 << 8) | sw2


def test_vicc_serves_the_card_to_pcsc_clients(vicc_reader: str, card_dir: Path) -> None:
    connection = _connect(vicc_reader, time.monotonic() + 15)
    try:
        assert bytes(connection.getATR()) == Card.open(DirectoryStore(card_dir)).atr
        assert transmit(connection, JPKI)[1] == 0x9000
        assert transmit(connection, "00A4020C02000A")[1] == 0x9000
        head, sw = transmit(connection, "00B0000004")
        size = 4 + int.from_bytes(head[2:4], "big")
        der = head
        while len(der) < size:
            chunk, sw = transmit(connection, bytes((0, 0xB0, len(der) >> 8, len(der) & 0xFF, min(256, size - len(der)) % 256)))
            der += chunk
        certificate = x509.load_der_x509_certificate(der)
        assert transmit(connection, "00A4020C020018")[1] == 0x9000
        assert transmit(connection, "00200080")[1] == 0x63C3
        assert transmit(connection, "002000800439393939")[1] == 0x63C2   # a wrong PIN costs a try
        assert transmit(connection, "002000800431323334")[1] == 0x9000
        digest = hashlib.sha256(b"signed through vicc").digest()
        assert transmit(connection, "00A4020C020017")[1] == 0x9000
        signature, sw = transmit(connection, b"\x80\x2A\x00\x80\x33" + DIGEST_INFO_SHA256 + digest + b"\x00")
        assert sw == 0x9000
        certificate.public_key().verify(signature, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        assert transmit(connection, "0012000000")[1] == 0x6D00
    finally:
        connection.disconnect()
