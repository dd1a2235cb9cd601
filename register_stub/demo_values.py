"""The demo person's and demo card's values as plain literals: the defaults of `mynacard card new`.

They live apart from `person.py` (which builds `DEMO_PERSON` from them) because that module pulls
in the test authority (cryptography) and the register, and `mynacard --help` must not pay for that
just to show the defaults.
"""

from __future__ import annotations

from datetime import date

DEMO_FAMILY_NAME = "見本"
DEMO_GIVEN_NAME = "花子"
DEMO_ADDRESS = "東京都千代田区見本町1-2-3"
DEMO_BIRTH_DATE = date(1985, 4, 12)
#: 性別 code of jpki-system.md: "1" male, "2" female, "3" unknown.
DEMO_SEX = "2"
DEMO_MY_NUMBER = "123456789018"
#: 全国地方公共団体コード of Chiyoda-ku, without its check digit.
DEMO_MUNICIPALITY_CODE = "13101"
DEMO_SECURITY_CODE = "2468"
DEMO_CARD_EXPIRY = date(2036, 4, 12)
