"""Dates typed by people (command-line options, CSV rows, config files): ISO 8601 `YYYY-MM-DD`.

`date.fromisoformat` says only "Invalid isoformat string", and a parser that reports every
refusal as "not of the form YYYY-MM-DD" is wrong for `1980-02-30`, which has that form but is
no day of the calendar. `parse_date` tells the two apart, so a person fixes the right thing.
Part of the package root: it imports nothing of the project, so every subpackage may use it.
"""

from __future__ import annotations

import argparse
import re
from datetime import date

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
_SHAPE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def parse_date(text: str) -> date:
    """The date `text` names, or ValueError with one sentence: "1980-02-30 is not a real date
    (February has no 30th)", or "… is not a date of the form YYYY-MM-DD"."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    shape = _SHAPE.fullmatch(text)
    if shape is None:
        raise ValueError(f"{text!r} is not a date of the form YYYY-MM-DD")
    year, month, day = (int(part) for part in shape.groups())
    raise ValueError(f"{text} is not a real date ({_calendar_problem(year, month, day)})")


def date_argument(text: str) -> date:
    """`parse_date` as an argparse `type=`: argparse prints "argument --birth-date: <sentence>"."""
    try:
        return parse_date(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _calendar_problem(year: int, month: int, day: int) -> str:
    if year == 0:
        return "there is no year 0"
    if not 1 <= month <= 12:
        return f"there is no month {month}; months go from 01 to 12"
    if day == 0:
        return "days start at 01"
    if month == 2 and day == 29:
        return f"{year} is not a leap year, so February has 28 days"
    return f"{MONTHS[month - 1]} has no {_ordinal(day)}"


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"

