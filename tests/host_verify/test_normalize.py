"""Application data against chip data after normalisation (jpki-system.md §2.4 step 6, §7)."""

from __future__ import annotations

import pytest

from mynacard.host.normalize import (
    NormalizationError,
    compare_field,
    era_yymmdd,
    normalize_birth_date,
    normalize_my_number,
    normalize_sex,
)

CHIP_NAME = "山田\u3000太郎"  # family and given name separated by U+3000 (CI §7.2)
CHIP_ADDRESS = "東京都千代田区千代田１－１－１０１"  # full-width digits and hyphens (CI §7.2)


@pytest.mark.parametrize("typed", ["山田 太郎", "山田太郎", "山田\u3000太郎", " 山田  太郎 "])
def test_name_spacing_does_not_matter(typed):
    result = compare_field("name", typed, CHIP_NAME)
    assert result.equal
    assert result.application == typed and result.chip == CHIP_NAME  # originals kept


@pytest.mark.parametrize("typed", [
    "東京都千代田区千代田1-1-101",
    "東京都千代田区千代田１ー１ー１０１",  # prolonged sound mark typed for a hyphen
    "東京都千代田区千代田1−1−101",  # U+2212 minus sign
    "東京都千代田区千代田1‐1‐101",  # U+2010 hyphen
    "東京都 千代田区 千代田 1-1-101",
])
def test_address_width_hyphens_and_spaces_are_folded(typed):
    assert compare_field("address", typed, CHIP_ADDRESS).equal


def test_prolonged_sound_mark_inside_words_is_kept():
    # ー is a hyphen only between digits; in a katakana building name it is a letter.
    assert not compare_field("address", "東京都千代田区メゾン-1", "東京都千代田区メゾンー1").equal


def test_variant_kanji_are_not_merged():
    """髙 and 高 are different registered spellings: a person decides, the tool reports."""
    result = compare_field("name", "高橋\u3000一郎", "髙橋\u3000一郎")
    assert not result.equal
    assert result.application_key == "高橋一郎" and result.chip_key == "髙橋一郎"


def test_a_different_address_is_reported_with_both_keys():
    result = compare_field("address", "東京都千代田区千代田1-1-102", CHIP_ADDRESS)
    assert not result.equal
    assert result.chip_key == "東京都千代田区千代田1-1-101"


@pytest.mark.parametrize("typed", ["19800217", "1980-02-17", "1980/2/17", "１９８０年２月１７日",
                                   "昭和55年2月17日", "S55.2.17", "s55-02-17"])
def test_birth_date_forms(typed):
    assert normalize_birth_date(typed) == "19800217"


def test_first_year_of_an_era():
    assert normalize_birth_date("平成元年1月8日") == "19890108"


@pytest.mark.parametrize("typed", ["1980-02-30", "19800217x1", "昭和65年1月1日", "平成1年1月7日", "yesterday"])
def test_impossible_birth_dates_are_refused(typed):
    with pytest.raises(NormalizationError):
        normalize_birth_date(typed)


def test_unreadable_application_value_is_unequal_with_a_reason():
    result = compare_field("birth", "unknown", "19800217")
    assert not result.equal and result.problem and "birth date" in result.problem


@pytest.mark.parametrize("typed,code", [("1", "1"), ("男", "1"), ("M", "1"), ("female", "2"), ("女性", "2"), ("２", "2"), ("9", "9")])
def test_sex(typed, code):
    assert normalize_sex(typed) == code


def test_my_number_groups_and_width():
    assert normalize_my_number("1234 5678 9018") == "123456789018"
    assert normalize_my_number("１２３４-５６７８-９０１８") == "123456789018"
    with pytest.raises(NormalizationError) as err:
        normalize_my_number("12345678901")
    assert "12345678901" not in str(err.value)  # never echoes a (partial) My Number


@pytest.mark.parametrize("birth,code", [("19800217", "550217"), ("19890107", "640107"),
                                        ("19890108", "010108"), ("20190501", "010501"), ("20190430", "310430")])
def test_era_dates_for_code_b(birth, code):
    """照合番号B and the 生年月日 key use the Japanese-era year (CI §8, §12)."""
    assert era_yymmdd(birth) == code


def test_full_width_latin_letters_in_building_names():
    assert compare_field("address", "東京都港区芝1-2-3 ABCマンション101",
                         "東京都港区芝１－２－３　ＡＢＣマンション１０１").equal
    assert compare_field("name", "ｽｽﾞｷ ｲﾁﾛｳ", "スズキ\u3000イチロウ").equal  # half-width katakana
