"""Comparing what an applicant wrote with what the chip holds.

The chip writes the four facts the way the resident register does (jpki-system.md §7, CI §7.2):
name parts separated by an ideographic space (U+3000), addresses with full-width digits and
full-width hyphens, the birth date as Gregorian `YYYYMMDD`, sex as one digit. Applications arrive
typed on ordinary keyboards: half-width digits, ASCII hyphens and spaces, dates with separators or
in a Japanese era. A clerk compares *meaning*, so each field is reduced to a comparison key first.

What is normalised, and why only this:
- NFKC folds full-width/half-width forms of digits, Latin letters, katakana and the ideographic
  space; it does *not* merge distinct kanji (髙 and 高 stay different), because a variant kanji may
  be the legally registered spelling and only a person can decide that it is "the same name".
- Every dash-like character (and the katakana prolonged sound mark between digits, which people
  type for a hyphen in block numbers) becomes `-`.
- All white space is removed from names and addresses: spacing is typography, not identity.

The original strings are always kept next to their keys so a report can show both.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass

#: Characters people and registers use for the hyphen in addresses (after NFKC, which already
#: turns U+FF0D into `-` and U+2011 into U+2010).
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u2500\u2501\ufe58\ufe63"
_DASH_TABLE = str.maketrans({ch: "-" for ch in _DASHES})
#: The katakana prolonged sound mark typed between digits ("1ー2") stands for a hyphen.
_PROLONGED_BETWEEN_DIGITS = re.compile(r"(?<=\d)\u30fc(?=\d)")
_WHITESPACE = re.compile(r"\s+")

#: First Gregorian day of each era (used both ways: era → Gregorian and back for 照合番号B).
ERAS: tuple[tuple[str, datetime.date], ...] = (
    ("令和", datetime.date(2019, 5, 1)),
    ("平成", datetime.date(1989, 1, 8)),
    ("昭和", datetime.date(1926, 12, 25)),
    ("大正", datetime.date(1912, 7, 30)),
    ("明治", datetime.date(1868, 1, 25)),
)
_ERA_LETTERS = {"R": "令和", "H": "平成", "S": "昭和", "T": "大正", "M": "明治"}

_SEX_CODES = {
    "1": "1", "男": "1", "男性": "1", "M": "1", "MALE": "1",
    "2": "2", "女": "2", "女性": "2", "F": "2", "FEMALE": "2",
    "0": "0", "3": "3", "9": "9",
}


class NormalizationError(ValueError):
    """An application value that cannot be read as the field it claims to be."""


def fold(text: str) -> str:
    """NFKC, unified hyphens, no white space: the comparison key of a name or an address."""
    folded = unicodedata.normalize("NFKC", text).translate(_DASH_TABLE)
    folded = _PROLONGED_BETWEEN_DIGITS.sub("-", folded)
    return _WHITESPACE.sub("", folded)


def normalize_name(text: str) -> str:
    return fold(text)


def normalize_address(text: str) -> str:
    return fold(text)


def normalize_my_number(text: str) -> str:
    """Twelve ASCII digits; separators (spaces, hyphens) typed between groups are dropped."""
    digits = fold(text).replace("-", "")
    if not re.fullmatch(r"\d{12}", digits):
        raise NormalizationError("a My Number is 12 digits; the application's value is not")
    return digits


def normalize_birth_date(text: str) -> str:
    """`YYYYMMDD` from `19800217`, `1980-02-17`, `1980/2/17`, `1980年2月17日`, `昭和55年2月17日`,
    `S55.2.17` (full-width or half-width)."""
    value = fold(text)
    era = None
    for name, _ in ERAS:
        if value.startswith(name):
            era, value = name, value[len(name):]
            break
    if era is None and value[:1].upper() in _ERA_LETTERS and value[1:2].isdigit():
        era, value = _ERA_LETTERS[value[:1].upper()], value[1:]
    value = value.replace("元", "1")
    parts = [p for p in re.split(r"[^0-9]+", value) if p]
    if len(parts) == 1 and era is None and len(parts[0]) == 8:
        parts = [parts[0][:4], parts[0][4:6], parts[0][6:]]
    if len(parts) != 3:
        raise NormalizationError("the birth date is not a date (expected e.g. 1980-02-17)")
    year, month, day = (int(p) for p in parts)
    if era is not None:
        year = era_start(era).year + year - 1
    try:
        date = datetime.date(year, month, day)
    except ValueError as exc:
        raise NormalizationError("the birth date is not a calendar date") from exc
    if era is not None and to_era(date)[0] != era:
        raise NormalizationError(f"the birth date does not fall in the {era} era")
    return date.strftime("%Y%m%d")


def normalize_sex(text: str) -> str:
    """One digit as the chip writes it ("1" male, "2" female; "0"/"3"/"9" kept)."""
    code = _SEX_CODES.get(fold(text).upper())
    if code is None:
        raise NormalizationError("sex must be 1/2 (or 男/女, M/F)")
    return code


def era_start(era: str) -> datetime.date:
    for name, start in ERAS:
        if name == era:
            return start
    raise NormalizationError(f"unknown era {era}")


def to_era(date: datetime.date) -> tuple[str, int]:
    """The Japanese era a Gregorian date falls in and the year within it (昭和55 for 1980)."""
    for name, start in ERAS:
        if date >= start:
            return name, date.year - start.year + 1
    raise NormalizationError("dates before the Meiji era have no era year")


def era_yymmdd(yyyymmdd: str) -> str:
    """The 6-digit era date the card uses for 照合番号B and the 生年月日 key (CI §8, §12)."""
    date = datetime.datetime.strptime(yyyymmdd, "%Y%m%d").date()
    _, year = to_era(date)
    return f"{year:02d}{date.month:02d}{date.day:02d}"


_NORMALIZERS = {
    "my_number": normalize_my_number,
    "name": normalize_name,
    "address": normalize_address,
    "birth": normalize_birth_date,
    "sex": normalize_sex,
}

FIELDS: tuple[str, ...] = tuple(_NORMALIZERS)


@dataclass(frozen=True)
class FieldComparison:
    """One field of the application against the chip, originals kept beside their keys."""

    field: str
    application: str
    chip: str
    application_key: str | None
    chip_key: str | None
    equal: bool
    problem: str | None = None


def compare_field(field: str, application: str, chip: str) -> FieldComparison:
    """Compare one field after normalisation; an unreadable application value is unequal."""
    normalize = _NORMALIZERS[field]
    try:
        chip_key = normalize(chip)
    except NormalizationError as exc:
        return FieldComparison(field, application, chip, None, None, False, f"chip value: {exc}")
    try:
        app_key = normalize(application)
    except NormalizationError as exc:
        return FieldComparison(field, application, chip, None, chip_key, False, str(exc))
    return FieldComparison(field, application, chip, app_key, chip_key, app_key == chip_key)
