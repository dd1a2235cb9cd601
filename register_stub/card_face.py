"""The card face as a card issuer makes it (card-interface.md §8, §8.1; jpki-system.md §7).

- 顔写真: greyscale JPEG 2000 in a JP2 container. We use 200×250 px (4:5, roughly the printed
  photo at 220 dpi) and at most 4096 bytes, so the whole card face EF stays well inside the
  8 KB the visual AP declares (low resolution, as jpki-system.md §7 says the card's is).
- 氏名 / 住所: rendered from the text as 1-bit greyscale PNG with IPA Gothic (Debian's
  fonts-ipafont-gothic, installed by tools/setup.sh): the name on one 32-px line (font 28 px,
  shrunk down to 16 px for long names), the address on up to four 24-px lines of 360 px.
- security code: 24×12 1-bit PNG (the size on the card surveyed, CI §8.1), 4 digits at 12 px.
- 個人番号 image of visual EF 0005: 72×12 1-bit PNG (CI §8), 12 digits at 12 px.

Everything is deterministic: the same input gives the same bytes (the demo photo included).
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from mynacard.register_stub.errors import IssuanceError

FONT_PATH = Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf")

PHOTO_SIZE = (200, 250)
PHOTO_BUDGET = 4096
NAME_HEIGHT, NAME_MAX_WIDTH, NAME_FONT_SIZES = 32, 360, range(28, 15, -2)
ADDRESS_LINE_HEIGHT, ADDRESS_WIDTH, ADDRESS_FONT_SIZE, ADDRESS_MAX_LINES = 24, 360, 20, 4
SECURITY_CODE_SIZE = (24, 12)
MY_NUMBER_IMAGE_SIZE = (72, 12)
SMALL_DIGITS_FONT_SIZE = 12
TEXT_MARGIN = 4
JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"


class CardFaceError(IssuanceError):
    """The card face cannot be made (font missing, photo unreadable, text too long)."""


def _font(size: int, font_path: Path | None) -> ImageFont.FreeTypeFont:
    font_path = font_path or FONT_PATH
    if not font_path.is_file():
        raise CardFaceError(
            f"the Japanese font {font_path} (Debian package fonts-ipafont-gothic) is missing; "
            "run tools/setup.sh"
        )
    return ImageFont.truetype(str(font_path), size)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _render_line(
    text: str, size: tuple[int, int], font: ImageFont.FreeTypeFont, margin: int = TEXT_MARGIN
) -> Image.Image:
    """Black text on white, 1 bit per pixel (no anti-aliasing), vertically centred."""
    image = Image.new("1", size, 1)
    left, top, _, bottom = font.getbbox(text)
    y = (size[1] - (bottom - top)) // 2 - top
    ImageDraw.Draw(image).text((margin - left, y), text, font=font, fill=0)
    return image


def name_png(name: str, font_path: Path | None = None) -> bytes:
    """氏名 image: one line, as wide as the text (largest font size that fits 360 px)."""
    for size in NAME_FONT_SIZES:
        font = _font(size, font_path)
        width = int(font.getlength(name)) + 2 * TEXT_MARGIN
        if width <= NAME_MAX_WIDTH:
            return _png(_render_line(name, (width, NAME_HEIGHT), font))
    raise CardFaceError(f"the name is too long for the card face (at most about {NAME_MAX_WIDTH // 16} characters)")


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines, line = [], ""
    for char in text:
        if line and font.getlength(line + char) > width:
            lines.append(line)
            line = ""
        line += char
    return [*lines, line] if line else lines


def address_png(address: str, font_path: Path | None = None) -> bytes:
    """住所 image: wrapped to 360 px, at most four lines."""
    font = _font(ADDRESS_FONT_SIZE, font_path)
    lines = _wrap(address, font, ADDRESS_WIDTH - 2 * TEXT_MARGIN)
    if not lines or len(lines) > ADDRESS_MAX_LINES:
        raise CardFaceError(f"the address does not fit {ADDRESS_MAX_LINES} lines of the card face")
    image = Image.new("1", (ADDRESS_WIDTH, ADDRESS_LINE_HEIGHT * len(lines)), 1)
    for i, line in enumerate(lines):
        image.paste(_render_line(line, (ADDRESS_WIDTH, ADDRESS_LINE_HEIGHT), font), (0, i * ADDRESS_LINE_HEIGHT))
    return _png(image)


def _digits_png(digits: str, size: tuple[int, int], font_path: Path | None) -> bytes:
    font = _font(SMALL_DIGITS_FONT_SIZE, font_path)
    if font.getlength(digits) > size[0]:
        raise CardFaceError(f"{len(digits)} digits do not fit a {size[0]}×{size[1]} image")
    return _png(_render_line(digits, size, font, margin=0))


def security_code_png(code: str, font_path: Path | None = None) -> bytes:
    """The 4-digit security code, 24×12 (DF2A of the card face, CI §8.1)."""
    return _digits_png(code, SECURITY_CODE_SIZE, font_path)


def my_number_png(number: str, font_path: Path | None = None) -> bytes:
    """The 12-digit My Number, 72×12 (DF41 of visual EF 0005, CI §8)."""
    return _digits_png(number, MY_NUMBER_IMAGE_SIZE, font_path)


def demo_photo() -> Image.Image:
    """A drawn head-and-shoulders portrait, the same every time (no real person's face)."""
    scale = 2
    w, h = PHOTO_SIZE[0] * scale, PHOTO_SIZE[1] * scale
    image = Image.linear_gradient("L").resize((w, h)).point(lambda v: 215 - v // 8)
    draw = ImageDraw.Draw(image)
    draw.ellipse((40, 340, 360, 640), fill=70)  # shoulders
    draw.rectangle((165, 280, 235, 380), fill=170)  # neck
    draw.ellipse((110, 90, 290, 320), fill=185)  # face
    draw.chord((100, 70, 300, 260), 180, 360, fill=45)  # hair
    for x in (155, 245):
        draw.ellipse((x - 12, 190, x + 12, 204), fill=40)  # eyes
    draw.line((200, 205, 193, 245, 205, 248), fill=130, width=4)  # nose
    draw.arc((170, 250, 230, 285), 20, 160, fill=90, width=4)  # mouth
    return image.resize(PHOTO_SIZE, Image.Resampling.LANCZOS)


def _encode_jp2(image: Image.Image) -> bytes:
    """Lossy JPEG 2000 (JP2 box container) under PHOTO_BUDGET bytes."""
    ratio = PHOTO_SIZE[0] * PHOTO_SIZE[1] / PHOTO_BUDGET
    for _ in range(30):
        out = io.BytesIO()
        image.save(out, "JPEG2000", quality_mode="rates", quality_layers=[ratio], irreversible=True)
        data = out.getvalue()
        if len(data) <= PHOTO_BUDGET:
            return data
        ratio *= 1.15
    raise CardFaceError("the photo cannot be compressed to the card's size")


def photo_jp2(source: bytes | None = None) -> bytes:
    """The card's 顔写真 from any image Pillow reads (None: the demo photo).

    Converted to greyscale, cropped to 4:5 around the upper centre (where a face is), resized to
    200×250 and encoded as JPEG 2000 in a JP2 container.
    """
    if source is None:
        image = demo_photo()
    else:
        try:
            with Image.open(io.BytesIO(source)) as opened:
                opened.load()
                image = ImageOps.exif_transpose(opened).convert("L")
        except (UnidentifiedImageError, OSError):
            raise CardFaceError("the photo is not an image file Pillow can read (use JPEG or PNG)") from None
        image = ImageOps.fit(image, PHOTO_SIZE, Image.Resampling.LANCZOS, centering=(0.5, 0.4))
    data = _encode_jp2(image)
    if not data.startswith(JP2_SIGNATURE):
        raise CardFaceError("Pillow wrote a bare JPEG 2000 codestream where a JP2 file was needed")
    return data
