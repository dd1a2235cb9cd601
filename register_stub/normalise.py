"""Comparison keys for 方法2: the four facts as written on an application form against the register.

The register's own rule, not the clerk check's (host/normalize.py, which the register may not
import, DESIGN.md's dependency rule; and which deliberately keeps variant kanji apart because a
clerk compares a card with a person). The register answers "is this the person?" for a form
filled in by hand, so it also folds what people write differently for the same registered name
or address (jpki-system.md §2.4 step 6: "after normalising old or variant kanji and address
notation"):

- NFKC (full-width/half-width digits, Latin, katakana; ideographic space), all white space
  removed, every dash-like character → `-`;
- old and variant kanji (旧字体・異体字) → the common form, from the table below (髙→高, 﨑→崎,
  邊/邉→辺, 澤→沢, 齋→斎, …); 斎 and 斉 stay apart, as they are different names;
- addresses: the prefecture may be left out; ヶ/ヵ/ケ are one; kanji numerals before 丁目, 番(地)
  and 号 become digits; `N丁目M番地K号`, `N丁目M番K号`, `N-M-K` and `NのM` all become `N-M-K`;
  a leading 大字 is dropped;
- birth dates: ISO `1980-02-17`, `1980/2/17`, `1980年2月17日`, `19800217`, or an era date
  `昭和55年2月17日` / `S55.2.17` (元年 accepted);
- sex: 1/2/3, 男/女, M/F.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from mynacard.ca.era import ERA_STARTS
from mynacard.register_stub.municipalities import PREFECTURES

#: 旧字体・異体字 → 通用字体, for names and addresses (a curated list; extend with care).
VARIANTS = str.maketrans({
    "髙": "高", "﨑": "崎", "嵜": "崎", "邊": "辺", "邉": "辺", "澤": "沢", "齋": "斎", "齊": "斉",
    "濱": "浜", "廣": "広", "德": "徳", "國": "国", "櫻": "桜", "眞": "真", "實": "実", "惠": "恵",
    "榮": "栄", "壽": "寿", "藏": "蔵", "圓": "円", "會": "会", "學": "学", "鐵": "鉄", "縣": "県",
    "萬": "万", "兒": "児", "來": "来", "黑": "黒", "寬": "寛", "淺": "浅", "晉": "晋", "條": "条",
    "冨": "富", "桒": "桑", "𠮷": "吉", "籠": "篭", "龍": "竜", "瀨": "瀬", "嶋": "島",
    "嶌": "島", "峯": "峰", "渕": "淵", "栁": "柳", "槇": "槙", "檜": "桧", "薗": "園",
    "舘": "館", "驒": "騨", "靜": "静", "豐": "豊", "關": "関", "髮": "髪", "佛": "仏", "拜": "拝",
    "ヶ": "ケ", "ヵ": "ケ",
})
_DASHES = str.maketrans({ch: "-" for ch in "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u2500\u2501\ufe58\ufe63\uff0d"})
_WHITESPACE = re.compile(r"\s+")
_PROLONGED_BETWEEN_DIGITS = re.compile(r"(?<=\d)\u30fc(?=\d)")
_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_NUMERAL_BEFORE_UNIT = re.compile(r"([〇零一二三四五六七八九十百千]+)(?=丁目|番地|番|号)")
_BLOCK_UNITS = re.compile(r"(\d+)(?:丁目|番地|番)(?=\d)")
_NUMBER_SIGN = re.compile(r"(\d+)号")
_NO_BETWEEN_DIGITS = re.compile(r"(?<=\d)の(?=\d)")
_PREFECTURE_NAMES = tuple(sorted((kanji for kanji, _ in PREFECTURES.values()), key=len, reverse=True))
_ERA_NAMES = {era.kanji: start for era, start in ERA_STARTS}
_ERA_LETTERS = {"M": "明治", "T": "大正", "S": "昭和", "H": "平成", "R": "令和"}
_SEXES = {"1": "1", "男": "1", "男性": "1", "M": "1", "MALE": "1",
          "2": "2", "女": "2", "女性": "2", "F": "2", "FEMALE": "2", "3": "3"}


class Unreadable(ValueError):
    """An application value that cannot be read as the item it claims to be."""


def fold(text: str) -> str:
    """NFKC, variant kanji folded, dashes unified, white space removed."""
    folded = unicodedata.normalize("NFKC", text).translate(_DASHES).translate(VARIANTS)
    folded = _PROLONGED_BETWEEN_DIGITS.sub("-", folded)
    return _WHITESPACE.sub("", folded)


def name_key(text: str) -> str:
    return fold(text)


def kanji_number(text: str) -> int:
    """`十二` → 12, `二十三` → 23, `百五` → 105, `一〇五` → 105 (positional digits)."""
    if "十" not in text and "百" not in text and "千" not in text:
        return int("".join(str(_KANJI_DIGITS[c]) for c in text))
    total, digit = 0, None
    for char in text:
        unit = {"十": 10, "百": 100, "千": 1000}.get(char)
        if unit is None:
            digit = _KANJI_DIGITS[char]
        else:
            total += (1 if digit is None else digit) * unit
            digit = None
    return total + (digit or 0)


def address_key(text: str) -> str:
    """See the module docstring: `東京都千代田区見本町一丁目2番地3号` → `千代田区見本町1-2-3`."""
    value = fold(text)
    for prefecture in _PREFECTURE_NAMES:
        if value.startswith(prefecture):
            value = value[len(prefecture):]
            break
    if value.startswith("大字"):
        value = value[2:]
    value = _KANJI_NUMERAL_BEFORE_UNIT.sub(lambda m: str(kanji_number(m.group(1))), value)
    value = _BLOCK_UNITS.sub(r"\1-", value)
    value = _NUMBER_SIGN.sub(r"\1", value)
    value = _NO_BETWEEN_DIGITS.sub("-", value)
    value = re.sub(r"(?<=\d)(?:丁目|番地|番)$", "", value)
    return re.sub(r"-{2,}", "-", value).rstrip("-")


def birth_date_key(text: str) -> date:
    value = fold(text)
    era = None
    for name in _ERA_NAMES:
        if value.startswith(name):
            era, value = name, value[len(name):]
            break
    if era is None and value[:1].upper() in _ERA_LETTERS and value[1:2].isdigit():
        era, value = _ERA_LETTERS[value[:1].upper()], value[1:]
    value = value.replace("元", "1", 1) if era else value
    parts = [p for p in re.split(r"[^0-9]+", value) if p]
    if len(parts) == 1 and era is None and len(parts[0]) == 8:
        parts = [parts[0][:4], parts[0][4:6], parts[0][6:]]
    if len(parts) != 3:
        raise Unreadable("the birth date is not a date (write it like 1980-02-17 or 昭和55年2月17日)")
    year, month, day = (int(p) for p in parts)
    if era is not None:
        year += _ERA_NAMES[era].year - 1
    try:
        result = date(year, month, day)
    except ValueError:
        raise Unreadable("the birth date is not a calendar date") from None
    if era is not None and not _in_era(result, era):
        raise Unreadable(f"the birth date does not fall in the {era} era")
    return result


def _in_era(day: date, era: str) -> bool:
    for era_value, start in ERA_STARTS:
        if day >= start:
            return era_value.kanji == era
    return False


def sex_key(text: str) -> str:
    code = _SEXES.get(fold(text).upper())
    if code is None:
        raise Unreadable("sex is 1/2/3, 男/女 or M/F")
    return code
