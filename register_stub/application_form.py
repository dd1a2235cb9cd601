"""The application form a clerk compares a card against (jpki-system.md §7, the clerk check).

At the counter the card's My Number and four facts are checked against what the person wrote on
the application. The form is JSON, the values written as the register holds them (the card's own
form: name with U+3000, address in full-width characters):

    {"format": "mynacard-application-form", "version": 1,
     "my_number": "123456789018", "name": "見本　花子",
     "address": "東京都千代田区見本町１－２－３", "birth_date": "1985-04-12", "sex": "2"}

`birth_date` is ISO 8601 (Gregorian); `sex` is 1 male, 2 female, 3 unknown.
"""

from __future__ import annotations

import json

from mynacard.register_stub.person import Person

FORMAT = "mynacard-application-form"
VERSION = 1


def application_form(person: Person) -> dict[str, object]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "my_number": person.my_number,
        "name": person.name,
        "address": person.card_address,
        "birth_date": person.birth_date.isoformat(),
        "sex": person.sex,
    }


def application_form_json(person: Person) -> bytes:
    return (json.dumps(application_form(person), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
