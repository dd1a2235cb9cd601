"""A synthetic card image for testing the card OS on its own, independent of personalisation.

Contents are placeholders of the right sizes; the tests here are about the OS's rules (CI §2–§4),
while tests/test_card_flows.py walks the flows of a card made by `mynacard card new`.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.applet_model.aps import APPLICATIONS
from mynacard.applet_model.card import Card
from mynacard.applet_model.files import RecordEF, TransparentEF
from mynacard.applet_model.image import ApplicationImage, CardImage
from mynacard.applet_model.profiles import DEFAULT_PROFILE
from mynacard.applet_model.secrets import PinReference
from mynacard.applet_model.store import MemoryStore
from mynacard.codec import cv

SECRETS = {
    "jpki": {"auth-pin": "1234", "sign-password": "ABC123"},
    "text": {"pin": "1234", "code-a": "123456789018", "code-b": "55021720352285"},
    "visual": {"birth-key": "550217", "code-b": "55021720352285", "code-a": "123456789018"},
    "common": {"pin": "1234"},
    "juki": {"pin": "1234"},
}


@pytest.fixture(scope="session")
def synthetic_keys() -> dict[str, rsa.RSAPrivateKey]:
    names = [f"{app.name}/{k.name}" for app in APPLICATIONS.values() for k in app.keys]
    return {n: rsa.generate_private_key(public_exponent=65537, key_size=2048) for n in names}


@pytest.fixture(scope="session")
def synthetic_image(synthetic_keys) -> CardImage:
    apps = {}
    for app in APPLICATIONS.values():
        image = ApplicationImage()
        for ef in app.files:
            if isinstance(ef, TransparentEF) and ef.required:
                # A recognisable pattern: byte i of EF f is (f + i) mod 256, half the EF long.
                image.files[ef.fid] = bytes((ef.fid + i) % 256 for i in range(max(1, ef.size // 2)))
            if isinstance(ef, RecordEF):
                image.records[ef.fid] = [b"\x01\x1c" + b"4000000127198431322120350217", bytes(range(16))]
        image.keys = {k.name: synthetic_keys[f"{app.name}/{k.name}"] for k in app.keys}
        image.pins = {n: PinReference.create(v) for n, v in SECRETS[app.name].items()}
        apps[app.name] = image
    # 7F21 certifies the common AP's key (CI §10; applet_model/key_pairs.py checks the pair).
    internal = synthetic_keys["common/internal-auth"].public_key().public_numbers()
    cv_contents = cv.encode_contents(bytes(32) + cv.encode_rsa_key(internal.e, internal.n, 256), bytes(256))
    mf = {0x0042: bytes(16), 0x00F0: b"13221", 0x00F8: bytes(range(256)) * 2, 0x7F21: cv_contents}
    return CardImage(DEFAULT_PROFILE, apps, mf, {"purpose": "card OS tests"})


@pytest.fixture
def card(synthetic_image) -> Card:
    return Card.open(MemoryStore(synthetic_image))


def run(card: Card, hex_apdu: str) -> tuple[bytes, int]:
    """Send one APDU given as hex (spaces allowed); returns (data, SW)."""
    response = card.execute(bytes.fromhex(hex_apdu.replace(" ", "")))
    return response[:-2], int.from_bytes(response[-2:], "big")
