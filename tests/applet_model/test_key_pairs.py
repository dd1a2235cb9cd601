"""Private keys against the certificates the image holds for them (issue 8, defect 4; key_pairs.py).

On the demo card: JPKI keys against their X.509 certificates (CI §6.1), the common AP's key
against the CV certificate of MF object 7F21 (CI §10, §7.3 for the key encoding).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mynacard.applet_model.errors import ImageError
from mynacard.applet_model.image import CardImage
from mynacard.applet_model.store import DirectoryStore

DEMO = Path(__file__).resolve().parents[2] / "emulator" / "demo_card"


@pytest.fixture(scope="module")
def demo_image() -> CardImage:
    return DirectoryStore(DEMO).load_image()


def with_key(image: CardImage, app: str, key: str, other: tuple[str, str]) -> CardImage:
    application = image.applications[app]
    keys = {**application.keys, key: image.applications[other[0]].keys[other[1]]}
    return replace(image, applications={**image.applications, app: replace(application, keys=keys)})


def with_file(image: CardImage, app: str, fid: int, content: bytes) -> CardImage:
    application = image.applications[app]
    files = {**application.files, fid: content}
    return replace(image, applications={**image.applications, app: replace(application, files=files)})


@pytest.mark.parametrize("app, key, other, message", [
    ("jpki", "auth", ("jpki", "sign"),
     r"the private key keys/jpki-auth\.pem does not match the certificate in files/jpki-000A\.bin"),
    ("jpki", "sign", ("jpki", "auth"),
     r"the private key keys/jpki-sign\.pem does not match the certificate in files/jpki-0001\.bin"),
    ("common", "internal-auth", ("text", "ap"),
     r"keys/common-internal-auth\.pem does not match the CV certificate in files/mf-7F21\.bin"),
])
def test_a_key_of_another_certificate_is_refused_on_load_and_on_write(demo_image, tmp_path, app, key, other,
                                                                       message):
    wrong = with_key(demo_image, app, key, other)
    with pytest.raises(ImageError, match=message):
        wrong.validate()
    with pytest.raises(ImageError, match=message):
        DirectoryStore.create(tmp_path / "card", wrong)
    assert list(tmp_path.iterdir()) == []


def test_an_ef_without_a_certificate_declares_no_pair(demo_image):
    """A card issued without a signing certificate (CI §6.1 EF 0008) is still a card."""
    with_file(demo_image, "jpki", 0x0001, b"\xff" * 16).validate()


def test_something_that_starts_like_a_certificate_must_be_one(demo_image):
    with pytest.raises(ImageError, match=r"files/jpki-000A\.bin starts like a certificate but is not a readable"):
        with_file(demo_image, "jpki", 0x000A, b"\x30\x82\x01\x00" + bytes(256)).validate()


def test_something_that_starts_like_cv_certificate_contents_must_be_them(demo_image):
    broken = replace(demo_image, mf_objects={**demo_image.mf_objects, 0x7F21: b"\x5f\x4e\x82\x01\x29" + bytes(40)})
    with pytest.raises(ImageError, match=r"files/mf-7F21\.bin starts like a CV certificate but is not a readable"):
        broken.validate()


def test_a_certificate_followed_by_filler_is_read_by_its_der_length(demo_image):
    der = demo_image.applications["jpki"].files[0x000A]
    with_file(demo_image, "jpki", 0x000A, der + b"\xff" * 32).validate()


def test_genuine_records_on_a_chip_with_another_key_stay_possible(demo_image):
    """A copied card (visual `card` key not the one in DF24) is what the clerk check must catch
    (tests/host_verify/test_clerk.py), so the image format does not refuse it."""
    with_key(demo_image, "visual", "card", ("text", "ap")).validate()
