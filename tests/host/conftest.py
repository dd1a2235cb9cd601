"""Fixtures for host's tests: a fresh copy of the demo card per test, opened in-process through
the emulator's `mynacard.transports` entry point (exactly what `--card DIR` does), with host's
APDU trace around it so a test can prove what was and was not sent. `card_dir` (a private copy of
the demo card) and the pcscd fixtures (`reader_card`, `reader_name`) come from the emulator's
pytest plugin.

Tests may reach behind the host (the card's directory, the demo person's facts from
register_stub); host's code itself never does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from mynacard.emulator.pytest_plugin import parametrize_card_behaviours

from mynacard.host.card import MyNumberCard
from mynacard.host.trace import TracingTransport
from mynacard.host.transport import open_transport


@dataclass(frozen=True)
class DemoSecrets:
    my_number: str
    code_b: str
    birth_key: str
    auth_pin: str
    sign_password: str
    text_pin: str
    juki_pin: str
    name: str
    address: str
    birth_date: str
    sex: str


@pytest.fixture(scope="session")
def demo() -> DemoSecrets:
    """The documented demo values (README / docs/test-authority.md), derived where they live."""
    from mynacard.ca.era import era_yymmdd
    from mynacard.register_stub.person import (
        DEMO_CARD_EXPIRY,
        DEMO_PERSON,
        DEMO_PINS,
        DEMO_SECURITY_CODE,
        verification_code_b,
    )

    p = DEMO_PERSON
    return DemoSecrets(
        my_number=p.my_number,
        code_b=verification_code_b(p.birth_date, DEMO_CARD_EXPIRY, DEMO_SECURITY_CODE),
        birth_key=era_yymmdd(p.birth_date),
        auth_pin=DEMO_PINS.auth_pin,
        sign_password=DEMO_PINS.sign_password,
        text_pin=DEMO_PINS.text_pin,
        juki_pin=DEMO_PINS.juki_pin,
        name=p.name,
        address=p.card_address,
        birth_date=p.birth_date.strftime("%Y%m%d"),
        sex=str(p.sex),
    )


@pytest.fixture
def traced(card_dir: Path) -> TracingTransport:
    transport = TracingTransport(open_transport(f"emulator:{card_dir}"))
    yield transport
    transport.close()


@pytest.fixture
def card(traced: TracingTransport) -> MyNumberCard:
    """A detected demo card; the trace starts empty after detection."""
    c = MyNumberCard(traced)
    c.detect()
    traced.entries.clear()
    return c


@pytest.fixture
def reopen(card_dir: Path):
    """Opens a second session on the same card (counters persist, verified PINs do not)."""
    opened: list[MyNumberCard] = []

    def open_again(**kwargs: object) -> MyNumberCard:
        c = MyNumberCard(TracingTransport(open_transport(f"emulator:{card_dir}")), **kwargs)
        opened.append(c)
        return c

    yield open_again
    for c in opened:
        c.close()


#: The CI §12 behaviours the host's card access depends on: re-SELECT of the same AP (the host
#: never re-selects, and must work whether or not a card would clear a PIN on it) and the VERIFY
#: query of a verified secret (63Cx or 9000). The host sends no GET DATA, so `atr-object` and
#: `mf-7f21` are not its concern (conformance observes them).
HOST_BEHAVIOURS = ("reselect", "verify-query")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that uses the emulated card runs against each side of each behaviour above."""
    parametrize_card_behaviours(metafunc, HOST_BEHAVIOURS)
