"""HTML form bodies (application/x-www-form-urlencoded) read without python-multipart: the
window's forms post only text fields, which the standard library parses."""

from __future__ import annotations

import unicodedata
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import Depends, Request

from mynacard.codec import my_number

MAX_FORM_BYTES = 64 * 1024


async def form_fields(request: Request) -> dict[str, str]:
    """The form's fields, last value of each, stripped of surrounding blanks; a dependency:
    `fields: Annotated[dict[str, str], Depends(form_fields)]`."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {key: values[-1].strip() for key, values in parsed.items()}


def my_number_digits(typed: str) -> str:
    """A typed My Number as the register reads it: full-width folded, spaces and hyphens dropped."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", typed) if ch not in " -")


def my_number_problem(typed: str) -> str | None:
    """Why a typed My Number cannot be one (12 digits, the codec's check digit), bilingual, or None.
    The window asks before it calls the register, so a typing mistake is sent nowhere and leaves
    no access record claiming a comparison; the sentence never repeats the digits."""
    digits = my_number_digits(typed)
    if len(digits) != my_number.LENGTH or not digits.isascii() or not digits.isdigit():
        return "個人番号は12桁です。 The My Number has 12 digits."
    if not my_number.is_valid(digits):
        return ("個人番号の検査用数字が合いません（入力誤りがないか確認してください）。 "
                "This is not a valid My Number: its check digit is wrong (check for a typing mistake).")
    return None


#: A route parameter: the posted form's fields.
Fields = Annotated[dict[str, str], Depends(form_fields)]
