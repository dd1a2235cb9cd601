"""Japanese eras and the validity rule (jpki-system.md §1.1, §1.2; card-interface.md §8, §12)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mynacard.ca.era import Era, era_yymmdd, japanese_era
from mynacard.ca.errors import AuthorityError
from mynacard.ca.validity import end_entity_not_after, nth_birthday_after, root_not_after


@pytest.mark.parametrize(
    ("day", "era", "year"),
    [
        (date(1980, 2, 17), Era.SHOWA, 55),  # the test card of CI §8 / §12
        (date(1989, 1, 7), Era.SHOWA, 64),
        (date(1989, 1, 8), Era.HEISEI, 1),
        (date(2019, 4, 30), Era.HEISEI, 31),
        (date(2019, 5, 1), Era.REIWA, 1),
        (date(1926, 12, 25), Era.SHOWA, 1),
        (date(1912, 7, 29), Era.MEIJI, 45),
        (date(1912, 7, 30), Era.TAISHO, 1),
    ],
)
def test_era_boundaries(day: date, era: Era, year: int) -> None:
    """Era boundaries fall mid-year; the birth key and 照合番号B depend on them (CI §8, §12)."""
    assert japanese_era(day) == (era, year)


def test_era_yymmdd_is_the_birth_key_of_the_test_card() -> None:
    """CI §8: the test card's 生年月日 key is `550217` for 1980-02-17 (昭和55)."""
    assert era_yymmdd(date(1980, 2, 17)) == "550217"
    assert era_yymmdd(date(2019, 5, 1)) == "010501"


def test_dates_before_meiji_have_no_era() -> None:
    with pytest.raises(AuthorityError, match="before the Meiji era"):
        japanese_era(date(1868, 1, 24))


def test_root_validity_matches_the_real_signing_root() -> None:
    """jpki-system.md §1.1: signca03 runs 2023-07-16 00:50:27Z to 2033-07-15 14:59:59Z."""
    assert root_not_after(datetime(2023, 7, 16, 0, 50, 27, tzinfo=UTC)) == datetime(
        2033, 7, 15, 14, 59, 59, tzinfo=UTC
    )


def test_root_validity_counts_japan_days() -> None:
    """16:00Z on 15 July is already 16 July in Japan, so the root still ends on 2033-07-15 JST."""
    assert root_not_after(datetime(2023, 7, 15, 16, 0, tzinfo=UTC)) == datetime(
        2033, 7, 15, 14, 59, 59, tzinfo=UTC
    )
    assert root_not_after(datetime(2023, 7, 15, 14, 0, tzinfo=UTC)) == datetime(
        2033, 7, 14, 14, 59, 59, tzinfo=UTC
    )


def test_the_test_card_example() -> None:
    """jpki-system.md §1.2: issued 2025-10-27, DOB 02-17, valid to 2030-02-17 (23:59:59 JST)."""
    issued = datetime(2025, 10, 27, 3, 0, tzinfo=UTC)
    assert end_entity_not_after(issued, date(1980, 2, 17), date(2035, 2, 17)) == datetime(
        2030, 2, 17, 14, 59, 59, tzinfo=UTC
    )


def test_issued_on_the_birthday_counts_from_the_next_one() -> None:
    """§1.2 says the 5th birthday *after* issuance: the day of issuance itself does not count."""
    birth = date(1980, 2, 17)
    on_birthday = datetime(2025, 2, 17, 1, 0, tzinfo=UTC)  # 10:00 JST on the birthday
    day_before = datetime(2025, 2, 16, 1, 0, tzinfo=UTC)
    assert end_entity_not_after(on_birthday, birth, date(2040, 1, 1)).year == 2030
    assert end_entity_not_after(day_before, birth, date(2040, 1, 1)).year == 2029


def test_issuance_day_is_the_japan_day() -> None:
    """20:00Z on 16 Feb is 05:00 JST on the 17th, the birthday: counting starts a year later."""
    late_utc = datetime(2025, 2, 16, 20, 0, tzinfo=UTC)
    assert end_entity_not_after(late_utc, date(1980, 2, 17), date(2040, 1, 1)) == datetime(
        2030, 2, 17, 14, 59, 59, tzinfo=UTC
    )


def test_leap_day_birthday_falls_on_28_february_in_common_years() -> None:
    birth = date(2000, 2, 29)
    assert nth_birthday_after(birth, date(2025, 6, 1), 5) == date(2030, 2, 28)
    assert nth_birthday_after(birth, date(2023, 6, 1), 5) == date(2028, 2, 29)
    assert end_entity_not_after(datetime(2025, 6, 1, tzinfo=UTC), birth, date(2040, 1, 1)) == datetime(
        2030, 2, 28, 14, 59, 59, tzinfo=UTC
    )


def test_card_expiry_ends_the_certificate_first() -> None:
    """The earliest of the limits wins: here the card's expiry day (23:59:59 JST)."""
    assert end_entity_not_after(datetime(2025, 10, 27, tzinfo=UTC), date(1980, 2, 17), date(2027, 3, 31)) == (
        datetime(2027, 3, 31, 14, 59, 59, tzinfo=UTC)
    )


def test_auth_certificate_end_limits_the_signing_certificate() -> None:
    auth_end = datetime(2026, 1, 1, 14, 59, 59, tzinfo=UTC)
    assert end_entity_not_after(
        datetime(2025, 10, 27, tzinfo=UTC), date(1980, 2, 17), date(2035, 1, 1), auth_end
    ) == auth_end


def test_an_expired_card_gets_no_certificate() -> None:
    with pytest.raises(AuthorityError, match="card expires"):
        end_entity_not_after(datetime(2025, 10, 27, tzinfo=UTC), date(1980, 2, 17), date(2025, 10, 26))
