"""The real centre for kiosk tests and the kiosk benchmark: the CA service, the register and the
issuance centre as `mynacard serve` mounts them (tests/register/register_server.py), and
residents put on that register with cards it issued."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1] / "register"))  # after tests/terminal: its conftest stays `conftest`

from centre_double import Resident
from kiosk_harness import ResidentCard
from register_server import Services, birth, issue_card, write_card

__all__ = ["Services", "register_resident"]


def register_resident(services: Services, target: Path, family: str, given: str, roman: str,
                      address: str, born: str, sex: str) -> ResidentCard:
    """Put a resident on the register and issue their card through it (the centre maps its auth
    certificate back to them); the card image goes to `target`."""
    with services.register("clerk") as clerk:
        created = birth(clerk, family=family, given=given, born=born, sex=sex, address=address)
        card = issue_card(clerk, created["resident_code"])
    write_card(card, target)
    return ResidentCard(target, int(card["auth_serial"], 16),
                        Resident(f"{family}\u3000{given}", roman, address, created["my_number"]),
                        resident_code=created["resident_code"])
