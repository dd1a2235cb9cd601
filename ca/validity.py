"""Certificate validity in Japan time (jpki-system.md §1.1, §1.2).

JPKI dates are Japanese calendar days: a certificate "valid until" a day is valid until
23:59:59 JST that day, which X.509 records as 14:59:59Z. The root CAs run ten years; an end
entity ends at the earliest of

- the holder's 5th birthday after the day of issuance (Japan time),
- the card's expiry day,
- for the signing certificate, the user-authentication certificate's end.

Choices where the sources are silent:
- "after issuance" is strict: a certificate issued on a birthday counts from the next one;
- a 29 February birthday falls on 28 February in common years (the earlier day, so the
  certificate never outlives the rule);
- the renewal variant (6th birthday when renewed with under three months left) is not modelled:
  the authority issues first certificates only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from mynacard.ca.errors import AuthorityError

JST = timezone(timedelta(hours=9), "JST")
ROOT_YEARS = 10
END_ENTITY_BIRTHDAYS = 5


def japan_date(moment: datetime) -> date:
    """The calendar day in Japan at `moment` (an aware datetime)."""
    return moment.astimezone(JST).date()


def end_of_japan_day(day: date) -> datetime:
    """23:59:59 JST on `day`, in UTC (e.g. 2033-07-15 -> 2033-07-15T14:59:59Z)."""
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=JST).astimezone(UTC)


def add_years(day: date, years: int) -> date:
    """Same month and day `years` later; 29 February becomes 28 February in common years."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def nth_birthday_after(birth_date: date, day: date, n: int) -> date:
    """The `n`th birthday strictly after `day`."""
    first = add_years(birth_date, day.year - birth_date.year)
    if first <= day:
        first = add_years(birth_date, day.year + 1 - birth_date.year)
    return add_years(birth_date, first.year - birth_date.year + n - 1)


def root_not_after(not_before: datetime) -> datetime:
    """Ten years less a day, ending 23:59:59 JST (signca03: 2023-07-16 → 2033-07-15 14:59:59Z)."""
    start = japan_date(not_before)
    return end_of_japan_day(add_years(start, ROOT_YEARS) - timedelta(days=1))


def end_entity_not_after(
    issued_at: datetime,
    birth_date: date,
    card_expiry: date,
    auth_not_after: datetime | None = None,
) -> datetime:
    """The end of an end-entity certificate issued at `issued_at` (rule in the module doc)."""
    candidates = [
        end_of_japan_day(nth_birthday_after(birth_date, japan_date(issued_at), END_ENTITY_BIRTHDAYS)),
        end_of_japan_day(card_expiry),
    ]
    if auth_not_after is not None:
        candidates.append(auth_not_after)
    not_after = min(candidates)
    if not_after <= issued_at:
        raise AuthorityError(
            "the card expires before the certificate would start; give a later card expiry date"
        )
    return not_after
