"""The 基本4情報 as the signing certificate carries them: six SAN otherNames.

jpki-system.md §1.2: OIDs 1.2.392.200149.8.5.5.1–.6 (jpki-personalData), each value a
UTF8String inside the otherName's `[0] EXPLICIT`:

    .1 name (family U+3000 given)   .2 its substitute-character map (one digit per character)
    .3 sex 1/2/3                    .4 birth `EYYYYMMDD` (era digit, Gregorian year)
    .5 address (from the prefecture) .6 its substitute-character map

A map digit is 1 where the municipality replaced a character outside JIS level 1/2 and
補助漢字 by a substitute (代替文字). We only accept text that needs no substitute, so our maps
are all `0`; text that would need one is refused, since we cannot pick the substitute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from asn1crypto import core
from cryptography import x509

from mynacard.ca.era import japanese_era
from mynacard.ca.errors import AuthorityError

PERSONAL_DATA_ARC = "1.2.392.200149.8.5.5"
NAME_OID = x509.ObjectIdentifier(f"{PERSONAL_DATA_ARC}.1")
NAME_MAP_OID = x509.ObjectIdentifier(f"{PERSONAL_DATA_ARC}.2")
SEX_OID = x509.ObjectIdentifier(f"{PERSONAL_DATA_ARC}.3")
BIRTH_OID = x509.ObjectIdentifier(f"{PERSONAL_DATA_ARC}.4")
ADDRESS_OID = x509.ObjectIdentifier(f"{PERSONAL_DATA_ARC}.5")
ADDRESS_MAP_OID = x509.ObjectIdentifier(f"{PERSONAL_DATA_ARC}.6")

IDEOGRAPHIC_SPACE = "\u3000"
SEX_CODES = {"1": "male", "2": "female", "3": "unknown"}
MAX_ADDRESS_CHARACTERS = 200


def in_jis_repertoire(char: str) -> bool:
    """Whether a character is in JIS X 0208 (levels 1/2) or JIS X 0212 (補助漢字).

    EUC-JP covers both; CP932 adds the usual Unicode mapping variants of the same JIS
    characters (e.g. U+FF0D full-width hyphen-minus, which real cards use in addresses).
    """
    for codec in ("euc_jp", "cp932"):
        try:
            char.encode(codec)
            return True
        except UnicodeEncodeError:
            continue
    return False


def birth_field(birth_date: date) -> str:
    """`EYYYYMMDD`, e.g. 1990-01-02 (平成2) -> `419900102` (jpki-system.md §1.2)."""
    era, _ = japanese_era(birth_date)
    return f"{era.value}{birth_date:%Y%m%d}"


@dataclass(frozen=True)
class PersonalData:
    """The holder's four facts, in the form the SAN needs."""

    name: str
    sex: str
    birth_date: date
    address: str

    def __post_init__(self) -> None:
        if IDEOGRAPHIC_SPACE not in self.name:
            raise AuthorityError("the name must be family and given name separated by U+3000")
        if self.sex not in SEX_CODES:
            raise AuthorityError("sex must be 1 (male), 2 (female) or 3 (unknown)")
        if not self.address or len(self.address) > MAX_ADDRESS_CHARACTERS:
            raise AuthorityError(f"the address must be 1 to {MAX_ADDRESS_CHARACTERS} characters")
        for what, text in (("name", self.name), ("address", self.address)):
            outside = [c for c in text if not in_jis_repertoire(c)]
            if outside:
                raise AuthorityError(
                    f"the {what} has a character outside JIS level 1/2 and 補助漢字 "
                    f"(U+{ord(outside[0]):04X}); write it with the substitute character the "
                    "municipality would use"
                )

    def other_names(self) -> list[x509.OtherName]:
        """The six SAN entries, in OID order."""
        values = (
            (NAME_OID, self.name),
            (NAME_MAP_OID, "0" * len(self.name)),
            (SEX_OID, self.sex),
            (BIRTH_OID, birth_field(self.birth_date)),
            (ADDRESS_OID, self.address),
            (ADDRESS_MAP_OID, "0" * len(self.address)),
        )
        # cryptography adds the [0] EXPLICIT wrapper; the value is the inner DER.
        return [x509.OtherName(oid, core.UTF8String(text).dump()) for oid, text in values]
