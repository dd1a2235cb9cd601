"""Japanese eras (和暦), needed in three places of the card and its certificates.

- the signing certificate's date of birth `EYYYYMMDD` (jpki-system.md §1.2: E = era digit,
  1 Meiji … 5 Reiwa, YYYY Gregorian);
- the 券面事項確認AP birth-date key, `YYMMDD` in the era year (card-interface.md §8);
- 照合番号B, whose first six digits are that same era date (card-interface.md §12).
"""

from __future__ import annotations

import enum
from datetime import date

from mynacard.ca.errors import AuthorityError


class Era(enum.IntEnum):
    """An era; the value is the digit the signing certificate uses (jpki-system.md §1.2)."""

    MEIJI = 1
    TAISHO = 2
    SHOWA = 3
    HEISEI = 4
    REIWA = 5

    @property
    def kanji(self) -> str:
        return {1: "明治", 2: "大正", 3: "昭和", 4: "平成", 5: "令和"}[self.value]


#: First Gregorian day of each era, latest first. Meiji counts from 1868-01-25 (明治元年1月1日).
ERA_STARTS: tuple[tuple[Era, date], ...] = (
    (Era.REIWA, date(2019, 5, 1)),
    (Era.HEISEI, date(1989, 1, 8)),
    (Era.SHOWA, date(1926, 12, 25)),
    (Era.TAISHO, date(1912, 7, 30)),
    (Era.MEIJI, date(1868, 1, 25)),
)


def japanese_era(day: date) -> tuple[Era, int]:
    """The era `day` falls in and the year within it (1 for the first, partial, year)."""
    for era, start in ERA_STARTS:
        if day >= start:
            return era, day.year - start.year + 1
    raise AuthorityError(f"{day.isoformat()} is before the Meiji era; no era date exists for it")


def era_yymmdd(day: date) -> str:
    """`YYMMDD` with YY the era year: the birth-date key (CI §8), e.g. 1980-02-17 -> `550217`."""
    _, year = japanese_era(day)
    if year > 99:
        raise AuthorityError(f"the era year of {day.isoformat()} does not fit in two digits")
    return f"{year:02d}{day.month:02d}{day.day:02d}"
