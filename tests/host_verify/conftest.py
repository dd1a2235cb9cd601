"""Fixtures for host verification tests: a session-wide test PKI and trust built from it."""

from __future__ import annotations

import pytest

from mynacard.emulator.pytest_plugin import parametrize_card_behaviours

from host_verify_pki import CV_ROOT_ID, Pki, build_pki, key
from host_verify_cards import Demo
from mynacard.host.trust import CVRoot, PinnedRoot, Purpose, Trust, TrustStore


@pytest.fixture(scope="session")
def pki() -> Pki:
    return build_pki()


@pytest.fixture(scope="session")
def trust(pki: Pki) -> Trust:
    signing = TrustStore(Purpose.SIGNING, (
        PinnedRoot(pki.sign_root_old, "test", "sign-test-old"),
        PinnedRoot(pki.sign_root_new, "test", "sign-test-new"),
    ))
    auth = TrustStore(Purpose.AUTH, (
        PinnedRoot(pki.auth_root_old, "test", "auth-test-old"),
        PinnedRoot(pki.auth_root_new, "test", "auth-test-new"),
    ))
    cv = {CV_ROOT_ID: CVRoot(CV_ROOT_ID, key("cv-root").public_key(), "test", "cv-test")}
    return Trust(signing, auth, cv)


# --- the demo card (tests may reach behind the host; host's code never does) ---------------------


@pytest.fixture(scope="session")
def demo() -> Demo:
    from mynacard.register_stub.person import (
        DEMO_CARD_EXPIRY, DEMO_PERSON, DEMO_PINS, DEMO_SECURITY_CODE, verification_code_b,
    )

    p = DEMO_PERSON
    return Demo(
        code_b=verification_code_b(p.birth_date, DEMO_CARD_EXPIRY, DEMO_SECURITY_CODE),
        code_a=p.my_number,
        text_pin=DEMO_PINS.text_pin,
        sign_password=DEMO_PINS.sign_password,
        application={"my_number": p.my_number, "name": p.name, "address": p.card_address,
                     "birth": p.birth_date.isoformat(), "sex": p.sex},
    )


@pytest.fixture(scope="session")
def demo_image():
    """The packaged demo card image, loaded once (never written: each test gets its own store)."""
    from mynacard.applet_model.store import DirectoryStore
    from mynacard.emulator.demo import packaged_demo_card

    return DirectoryStore(packaged_demo_card()).load_image()


#: The CI §12 behaviours the host's card access depends on: re-SELECT of the same AP (the host
#: never re-selects, and must work whether or not a card would clear a PIN on it) and the VERIFY
#: query of a verified secret (63Cx or 9000). The host sends no GET DATA, so `atr-object` and
#: `mf-7f21` are not its concern (conformance observes them).
HOST_BEHAVIOURS = ("reselect", "verify-query")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that uses the emulated card runs against each side of each behaviour above."""
    parametrize_card_behaviours(metafunc, HOST_BEHAVIOURS)
