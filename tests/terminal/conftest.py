"""Fixtures for the kiosk tests: residents with their own cards, the test centre stand-in,
and a kiosk with simulated devices.

Cards are personalised once per session (keys from one small pool, never generated per test);
each test gets its own copy of a card image, so retry counters spent in one test stay there.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from centre_double import TOKEN, CentreDouble, Resident
from kiosk_harness import ResidentCard
from mynacard.terminal.centre_client import HttpCentre

FAMILY = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤",
          "吉田", "山田", "佐々木", "山口", "松本", "井上", "木村", "林", "斎藤", "清水", "森"]
ROMAN = ["SATO", "SUZUKI", "TAKAHASHI", "TANAKA", "ITO", "WATANABE", "YAMAMOTO", "NAKAMURA",
         "KOBAYASHI", "KATO", "YOSHIDA", "YAMADA", "SASAKI", "YAMAGUCHI", "MATSUMOTO", "INOUE",
         "KIMURA", "HAYASHI", "SAITO", "SHIMIZU", "MORI"]
#: Index of the resident who has filed a move-out (転出): refused at the kiosk (§6.2).
MOVED_OUT = 20


@pytest.fixture(scope="session")
def terminal_keys() -> list[rsa.RSAPrivateKey]:
    return [rsa.generate_private_key(65537, 2048) for _ in range(6)]


@pytest.fixture(scope="session")
def auth_ca() -> x509.Certificate:
    from mynacard.ca.authority import load_test_authority

    return load_test_authority().auth_ca.certificate


@pytest.fixture(scope="session")
def resident_cards(tmp_path_factory: pytest.TempPathFactory,
                   terminal_keys: list[rsa.RSAPrivateKey]) -> list[ResidentCard]:
    """21 residents, each with a card (index MOVED_OUT has filed a move-out)."""
    from mynacard.applet_model.store import DirectoryStore
    from mynacard.ca.authority import load_test_authority
    from mynacard.ca.keys import KeyPool
    from mynacard.register_stub import my_number
    from mynacard.register_stub.person import DEMO_PINS, CardDetails, Person

    authority = load_test_authority()
    root = tmp_path_factory.mktemp("resident-cards")
    cards = []
    for i, (family, roman) in enumerate(zip(FAMILY, ROMAN, strict=True)):
        base = f"{31415926000 + i * 7:011d}"
        person = Person(family_name=family, given_name="一郎" if i % 2 else "花子",
                        address=f"東京都千代田区見本町2-{i + 1}-5", birth_date=date(1980, 1, 1 + i),
                        sex="1" if i % 2 else "2", my_number=base + str(my_number.check_digit(base)),
                        municipality_code="13101")
        from mynacard.register_stub.personalise import personalise

        made = personalise(person, CardDetails(date(2035, 1, 1), "1357"), DEMO_PINS,
                           authority=authority, key_source=KeyPool(terminal_keys))
        target = root / f"card-{i:02d}"
        DirectoryStore.create(target, made.image)
        resident = Resident(name=person.name, name_roman=f"{roman} {'ICHIRO' if i % 2 else 'HANAKO'}",
                            address=person.card_address, my_number=person.my_number,
                            refusal="moved_out" if i == MOVED_OUT else None)
        cards.append(ResidentCard(target, made.auth_certificate.serial, resident))
    return cards


@pytest.fixture(scope="session")
def demo_resident() -> tuple[int, Resident]:
    """The packaged demo card's auth certificate serial and its resident (見本 花子)."""
    from mynacard.emulator.demo import packaged_demo_card
    from mynacard.register_stub.person import DEMO_PERSON

    der = (packaged_demo_card() / "files" / "jpki-000A.bin").read_bytes()
    serial = x509.load_der_x509_certificate(der).serial_number
    return serial, Resident(DEMO_PERSON.name, "MIHON HANAKO", DEMO_PERSON.card_address,
                            DEMO_PERSON.my_number)


@pytest.fixture
def centre(resident_cards: list[ResidentCard], demo_resident: tuple[int, Resident],
           auth_ca: x509.Certificate) -> Iterator[CentreDouble]:
    residents = {card.serial: card.resident for card in resident_cards}
    residents[demo_resident[0]] = demo_resident[1]
    double = CentreDouble(residents, auth_ca).start()
    yield double
    double.close()


@pytest.fixture
def centre_client(centre: CentreDouble) -> HttpCentre:
    return HttpCentre(centre.url, TOKEN, timeout=5)


