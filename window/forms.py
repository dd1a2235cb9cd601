"""HTML form bodies (application/x-www-form-urlencoded) read without python-multipart: the
window's forms post only text fields, which the standard library parses."""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import Request

MAX_FORM_BYTES = 64 * 1024


async def form_fields(request: Request) -> dict[str, str]:
    """The form's fields, last value of each, stripped of surrounding blanks; a dependency:
    `fields: Annotated[dict[str, str], Depends(form_fields)]`."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {key: values[-1].strip() for key, values in parsed.items()}
