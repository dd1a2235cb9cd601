"""The certificate as a PDF: A4, Japanese (IPA Gothic), the municipal head's attestation and seal,
a copy-deterrent background and a verification code with its QR code (jpki-system.md §6.1, §6.3).

Anti-forgery, as far as a PDF can carry it:
- けん制文字: the page is covered in a fine line screen that a copier cannot reproduce, with
  "複写" set in a coarser screen that a copier does reproduce: on a photocopy the word
  stands out. (The real kiosks' scrambled image and infrared latent image need the printer's
  hardware and are not imitated.)
- the verification code and QR: `GET /centre/v1/verify/{code}` answers what was issued under it
  (document, date, municipality, SHA-256 of the PDF).

What is printed is decided by the caller (`ledger`), which applies §6.2: the 住民票コード never
appears, 個人番号 / 本籍 / 世帯主・続柄 only when asked for and allowed.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from reportlab import rl_config
from reportlab.graphics.barcode import qrencoder
from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from mynacard.ca.era import japanese_era

# Binary streams: ASCII85 only makes the PDF a quarter larger and costs its encoding (reportlab's
# setting is process-wide; nothing else in mynacard uses reportlab).
rl_config.useA85 = 0

FONT = "IPAGothic"
#: Debian's fonts-ipafont-gothic (tools/setup.sh installs it).
FONT_PATHS = (Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"),
              Path("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf"))
SEAL_RED = Color(0.80, 0.10, 0.10)
TILE_FORM = "deterrent-tile"
SCREEN = Color(0.80, 0.80, 0.80)


class FontMissing(RuntimeError):
    """IPA Gothic is not installed."""


@cache
def _font() -> str:
    for path in FONT_PATHS:
        if path.exists():
            pdfmetrics.registerFont(TTFont(FONT, str(path)))
            return FONT
    raise FontMissing("the IPA Gothic font is missing (apt-get install fonts-ipafont-gothic)")


def wareki(day: date) -> str:
    """令和8年11月30日."""
    era, year = japanese_era(day)
    return f"{era.kanji}{'元' if year == 1 else year}年{day.month}月{day.day}日"


@dataclass(frozen=True)
class Page:
    """One certificate: its rows (label, value) per person, and who attests it."""

    title: str
    people: list[list[tuple[str, str]]]
    attestation: str
    municipality: str
    head: str
    issued_on: date
    transaction_id: str
    verification_code: str
    verify_url: str


def _sheets(people: list[list[tuple[str, str]]], height: float) -> list[list[list[tuple[str, str]]]]:
    """The tables of each page: a table that would reach the footer's space starts a new page."""
    sheets: list[list[list[tuple[str, str]]]] = [[]]
    y = height - TOP
    for person in people:
        if sheets[-1] and y - ROW * len(person) < FOOTER:
            sheets.append([])
            y = height - TOP
        sheets[-1].append(person)
        y -= ROW * len(person) + GAP
    return sheets


def render(page: Page) -> tuple[bytes, int]:
    """The PDF and its page count (a large household runs onto further pages, numbered n/N)."""
    font = _font()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=True, pageCompression=1)
    canvas.setTitle(page.title)
    canvas.setAuthor(f"{page.municipality} (mynacard issuance centre)")
    width, height = A4
    sheets = _sheets(page.people, height)
    for number, tables in enumerate(sheets, start=1):
        y = _head(canvas, font, page, width, height, f"{number}/{len(sheets)}")
        for person in tables:
            y = _person(canvas, font, person, y, width)
        if number == len(sheets):
            canvas.setFont(font, 10.5)
            canvas.drawString(20 * mm, y - 8 * mm, page.attestation)
            canvas.drawString(20 * mm, y - 16 * mm, wareki(page.issued_on))
            canvas.setFont(font, 14)
            canvas.drawRightString(width - 45 * mm, y - 30 * mm, f"{page.municipality.split('（')[0]}　{page.head}")
            _seal(canvas, font, page.head, width - 40 * mm, y - 38 * mm)
        _verification(canvas, font, page)
        canvas.showPage()
    canvas.save()
    return out.getvalue(), len(sheets)


#: Height of a table row, the gap after a table, where the first table starts (from the top), and
#: the space kept free at the foot of a page (attestation, seal, QR).
ROW = 8 * mm
GAP = 6 * mm
TOP = 45 * mm
FOOTER = 95 * mm


def _head(canvas: Canvas, font: str, page: Page, width: float, height: float, number: str) -> float:
    _deterrent(canvas, font, width, height)
    canvas.setFont(font, 20)
    canvas.drawCentredString(width / 2, height - 30 * mm, page.title)
    canvas.setFont(font, 9)
    canvas.drawRightString(width - 15 * mm, height - 18 * mm, f"交付番号 {page.transaction_id}　{number}")
    return height - TOP


def _person(canvas: Canvas, font: str, rows: list[tuple[str, str]], y: float, width: float) -> float:
    """A bordered table of (label, value) rows; returns the y below it."""
    row_height, left, label_width = ROW, 20 * mm, 45 * mm
    canvas.setLineWidth(0.6)
    canvas.rect(left, y - row_height * len(rows), width - 2 * left, row_height * len(rows))
    for i, (label, value) in enumerate(rows):
        top = y - row_height * i
        if i:
            canvas.line(left, top, width - left, top)
        canvas.setFont(font, 9.5)
        canvas.drawString(left + 2 * mm, top - 5.5 * mm, label)
        canvas.setFont(font, 11)
        canvas.drawString(left + label_width, top - 5.5 * mm, value)
    canvas.line(left + label_width - 3 * mm, y, left + label_width - 3 * mm, y - row_height * len(rows))
    return y - row_height * len(rows) - GAP


@cache
def _deterrent_tile() -> ImageReader:
    """One tile of the "複写" pattern as an image, so the word is no text of the document
    (text extraction and screen readers read the certificate, not its background)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(next(p for p in FONT_PATHS if p.exists())), 150)
    word = Image.new("L", (340, 180), 255)
    ImageDraw.Draw(word).text((10, 5), "複写", font=font, fill=222)
    tile = Image.new("L", (520, 440), 255)
    tile.paste(word.rotate(30, expand=True, fillcolor=255), (40, 40))
    return ImageReader(tile)


def _deterrent(canvas: Canvas, font: str, width: float, height: float) -> None:
    """けん制文字: "複写" in a coarse screen (an image) under a fine screen of 45° hairlines, as one
    tile (a form XObject, made once per document) repeated over the page. The hairline step
    divides the tile's sides, so the lines run on across tiles."""
    tile_w, tile_h, step = 65 * mm, 55 * mm, 1.25 * mm
    if not canvas.hasForm(TILE_FORM):
        canvas.beginForm(TILE_FORM, 0, 0, tile_w, tile_h)  # the form's box clips what spills over
        canvas.drawImage(_deterrent_tile(), 0, 0, tile_w, tile_h)
        canvas.setStrokeColor(SCREEN)
        canvas.setLineWidth(0.15)
        path = canvas.beginPath()
        x = -tile_h
        while x < tile_w:
            path.moveTo(x, 0)
            path.lineTo(x + tile_h, tile_h)
            x += step
        canvas.drawPath(path, stroke=1, fill=0)
        canvas.endForm()
    for row in range(int(height // tile_h) + 1):
        for column in range(int(width // tile_w) + 1):
            canvas.saveState()
            canvas.translate(column * tile_w, row * tile_h)
            canvas.doForm(TILE_FORM)
            canvas.restoreState()


def _seal(canvas: Canvas, font: str, head: str, x: float, y: float) -> None:
    """The head's seal (職印): a red square with 〇〇長之印 in two columns, right to left."""
    side = 22 * mm
    text = f"{head}之印"
    half = (len(text) + 1) // 2
    columns = [text[:half], text[half:]]
    canvas.saveState()
    canvas.setStrokeColor(SEAL_RED)
    canvas.setFillColor(SEAL_RED)
    canvas.setLineWidth(1.6)
    canvas.rect(x, y, side, side)
    size = min(side / (half + 0.6), side / 2.4)
    canvas.setFont(font, size)
    for c, column in enumerate(columns):
        cx = x + side * (0.72 if c == 0 else 0.28)
        for r, char in enumerate(column):
            canvas.drawCentredString(cx, y + side - (r + 1) * size - 0.8 * mm, char)
    canvas.restoreState()


def _qr_modules(text: str) -> tuple[tuple[bool, ...], ...]:
    """The QR code's dark modules (error correction M)."""
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(text)
    code.make()
    return tuple(tuple(bool(m) for m in row) for row in code.modules)


def _qr(canvas: Canvas, text: str, x: float, y: float, size: float) -> None:
    """The QR code as one filled path (a run of dark modules is one rectangle), with its quiet zone."""
    modules = _qr_modules(text)
    box = size / (len(modules) + 8)
    path = canvas.beginPath()
    for r, row in enumerate(modules):
        c = 0
        for dark, run in itertools.groupby(row):
            length = len(list(run))
            if dark:
                path.rect(x + (c + 4) * box, y + size - (r + 5) * box, length * box, box)
            c += length
    canvas.saveState()
    canvas.setFillColor(Color(1, 1, 1))  # a clean quiet zone over the background screen
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColor(Color(0, 0, 0))
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


def _verification(canvas: Canvas, font: str, page: Page) -> None:
    _qr(canvas, page.verify_url, 20 * mm, 18 * mm, 26 * mm)
    canvas.setFont(font, 9)
    canvas.drawString(50 * mm, 38 * mm, f"検証コード　{page.verification_code}")
    canvas.drawString(50 * mm, 33 * mm, "この証明書の内容は、QRコードまたは下記で照会できます。")
    canvas.drawString(50 * mm, 28 * mm, page.verify_url)
    canvas.drawString(50 * mm, 21 * mm, "この用紙を複写すると「複写」の文字が現れます。")
