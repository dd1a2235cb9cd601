"""Municipalities (全国地方公共団体コード, 5-digit form without its check digit).

The signing certificate names the holder's residence in romanised form (`L=Tokyo-to,
L=Kiyose-shi` on a test card, jpki-system.md §1.2) and its CRLDP is partitioned by prefecture and
city. The prefecture follows from the code's first two digits; city names come from a small
built-in table, or from `--city-roman` for any other municipality.
"""

from __future__ import annotations

from dataclasses import dataclass

from mynacard.register_stub.errors import IssuanceError


class MunicipalityError(IssuanceError):
    """A municipality code or name the card cannot be made with."""


#: JIS X 0401 prefecture codes 01–47: (kanji, romanised).
PREFECTURES: dict[str, tuple[str, str]] = {
    "01": ("北海道", "Hokkaido"), "02": ("青森県", "Aomori-ken"), "03": ("岩手県", "Iwate-ken"),
    "04": ("宮城県", "Miyagi-ken"), "05": ("秋田県", "Akita-ken"), "06": ("山形県", "Yamagata-ken"),
    "07": ("福島県", "Fukushima-ken"), "08": ("茨城県", "Ibaraki-ken"), "09": ("栃木県", "Tochigi-ken"),
    "10": ("群馬県", "Gunma-ken"), "11": ("埼玉県", "Saitama-ken"), "12": ("千葉県", "Chiba-ken"),
    "13": ("東京都", "Tokyo-to"), "14": ("神奈川県", "Kanagawa-ken"), "15": ("新潟県", "Niigata-ken"),
    "16": ("富山県", "Toyama-ken"), "17": ("石川県", "Ishikawa-ken"), "18": ("福井県", "Fukui-ken"),
    "19": ("山梨県", "Yamanashi-ken"), "20": ("長野県", "Nagano-ken"), "21": ("岐阜県", "Gifu-ken"),
    "22": ("静岡県", "Shizuoka-ken"), "23": ("愛知県", "Aichi-ken"), "24": ("三重県", "Mie-ken"),
    "25": ("滋賀県", "Shiga-ken"), "26": ("京都府", "Kyoto-fu"), "27": ("大阪府", "Osaka-fu"),
    "28": ("兵庫県", "Hyogo-ken"), "29": ("奈良県", "Nara-ken"), "30": ("和歌山県", "Wakayama-ken"),
    "31": ("鳥取県", "Tottori-ken"), "32": ("島根県", "Shimane-ken"), "33": ("岡山県", "Okayama-ken"),
    "34": ("広島県", "Hiroshima-ken"), "35": ("山口県", "Yamaguchi-ken"), "36": ("徳島県", "Tokushima-ken"),
    "37": ("香川県", "Kagawa-ken"), "38": ("愛媛県", "Ehime-ken"), "39": ("高知県", "Kochi-ken"),
    "40": ("福岡県", "Fukuoka-ken"), "41": ("佐賀県", "Saga-ken"), "42": ("長崎県", "Nagasaki-ken"),
    "43": ("熊本県", "Kumamoto-ken"), "44": ("大分県", "Oita-ken"), "45": ("宮崎県", "Miyazaki-ken"),
    "46": ("鹿児島県", "Kagoshima-ken"), "47": ("沖縄県", "Okinawa-ken"),
}

#: A few cities by code: romanised name. Any other municipality needs `--city-roman`.
CITIES: dict[str, str] = {
    "01100": "Sapporo-shi",
    "13101": "Chiyoda-ku",
    "13104": "Shinjuku-ku",
    "13113": "Shibuya-ku",
    "13221": "Kiyose-shi",
    "14100": "Yokohama-shi",
    "23100": "Nagoya-shi",
    "26100": "Kyoto-shi",
    "27100": "Osaka-shi",
    "40130": "Fukuoka-shi",
    "47201": "Naha-shi",
}


@dataclass(frozen=True)
class Municipality:
    code: str
    prefecture: str
    prefecture_roman: str
    city_roman: str


def municipality(code: str, city_roman: str | None = None) -> Municipality:
    """Resolve a 5-digit code; `city_roman` overrides or supplies the romanised city name."""
    if len(code) != 5 or not code.isascii() or not code.isdigit():
        raise MunicipalityError("a municipality code has 5 digits, e.g. 13101 for Chiyoda-ku")
    prefecture = PREFECTURES.get(code[:2])
    if prefecture is None:
        raise MunicipalityError(f"municipality code {code} does not start with a prefecture code 01–47")
    city = city_roman or CITIES.get(code)
    if city is None:
        raise MunicipalityError(
            f"municipality {code} is not in the built-in table; give its romanised name with "
            "--city-roman (e.g. --city-roman Kiyose-shi)"
        )
    if not city.isascii() or not city.strip():
        raise MunicipalityError("the romanised city name must be ASCII, e.g. Kiyose-shi")
    return Municipality(code, prefecture[0], prefecture[1], city.strip())
