"""Card-face images as an issuer makes them (card-interface.md §8, §8.1; jpki-system.md §7):
greyscale JPEG 2000 photo in a JP2 container; 1-bit PNG text images rendered with IPA Gothic."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from mynacard.register_stub import card_face
from mynacard.register_stub.card_face import CardFaceError


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _black_pixels(image: Image.Image) -> int:
    return image.histogram()[0]


def test_demo_photo_is_greyscale_jp2_within_budget() -> None:
    """§8.1 DF27: JPEG 2000 in a JP2 container, greyscale; ours 200×250 and ≤ 4096 bytes."""
    data = card_face.photo_jp2()
    assert data.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n")
    assert len(data) <= card_face.PHOTO_BUDGET
    image = _open(data)
    assert (image.format, image.mode, image.size) == ("JPEG2000", "L", (200, 250))
    darkest, lightest = image.getextrema()
    assert darkest < 80 < 170 < lightest, "a real picture, not a flat grey"


def test_demo_photo_is_deterministic() -> None:
    assert card_face.photo_jp2() == card_face.photo_jp2()


def test_a_colour_photo_becomes_greyscale_at_card_size() -> None:
    source = Image.new("RGB", (640, 480), (200, 30, 30))
    source.paste((20, 40, 220), (200, 0, 440, 480))
    buffer = io.BytesIO()
    source.save(buffer, "PNG")
    data = card_face.photo_jp2(buffer.getvalue())
    image = _open(data)
    assert (image.mode, image.size) == ("L", card_face.PHOTO_SIZE)
    assert data != card_face.photo_jp2()
    assert len(data) <= card_face.PHOTO_BUDGET


def test_a_file_that_is_not_an_image_is_refused() -> None:
    with pytest.raises(CardFaceError, match="not an image"):
        card_face.photo_jp2(b"%PDF-1.7 certainly not a photo")


@pytest.mark.parametrize(
    ("render", "text", "size"),
    [
        (card_face.security_code_png, "2468", (24, 12)),  # §8.1 DF2A: 24×12
        (card_face.my_number_png, "123456789018", (72, 12)),  # §8 EF 0005 DF41: 72×12
    ],
)
def test_digit_images_have_the_card_sizes(render, text: str, size: tuple[int, int]) -> None:
    data = render(text)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = _open(data)
    assert (image.mode, image.size) == ("1", size)
    assert _black_pixels(image) > 20, "the font rendered something"
    assert render(text) == data
    other = render("1" * len(text))
    assert other != data


def test_name_and_address_are_one_bit_pngs() -> None:
    """§8.1 DF25/DF26: PNG, 1-bit greyscale."""
    name = _open(card_face.name_png("見本\u3000花子"))
    address = _open(card_face.address_png("東京都千代田区見本町１－２－３"))
    for image in (name, address):
        assert image.mode == "1"
        assert _black_pixels(image) > 100
    assert name.size[1] == 32 and address.size == (360, 24)
    # The PNG itself is 1 bit per pixel, greyscale (IHDR bit depth 1, colour type 0).
    raw = card_face.name_png("見本\u3000花子")
    assert raw[24:26] == b"\x01\x00"


def test_long_addresses_wrap_and_too_long_ones_are_refused() -> None:
    two_lines = _open(card_face.address_png("東京都千代田区見本町" * 3))
    assert two_lines.size == (360, 48)
    with pytest.raises(CardFaceError, match="4 lines"):
        card_face.address_png("東京都千代田区見本町" * 12)


def test_long_names_shrink_then_are_refused() -> None:
    assert _open(card_face.name_png("寿限無" * 5)).size[0] <= 360
    with pytest.raises(CardFaceError, match="too long"):
        card_face.name_png("寿限無" * 20)


def test_missing_font_says_to_run_setup(tmp_path: Path) -> None:
    with pytest.raises(CardFaceError, match="tools/setup.sh") as caught:
        card_face.security_code_png("2468", font_path=tmp_path / "ipag.ttf")
    assert "fonts-ipafont-gothic" in str(caught.value)
