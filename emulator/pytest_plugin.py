"""pytest plugin `mynacard` (entry point `pytest11`): a My Number Card for tests, in-process or in
a virtual reader through pcscd. docs/emulator.md, "Testing with the pytest plugin", shows usage.

Every test gets its own copy of the demo card image (copying is cheap; keys are never generated
per test), so counters spent by one test never leak into another.

Card behaviours (the sides of CI §12 where real cards disagree, docs/card-model.md):
    card_behaviours        KEY → VALUE applied to the test's card (`card_dir`, so every transport
                           below): by default what `pytest --mynacard-behaviour reselect=clears`
                           (repeatable) gives; override the fixture — e.g. parametrised over
                           `behaviour_variants("reselect")` — to choose per test

In-process:
    card_dir               a fresh copy of the demo card image (Path), with `card_behaviours`
    inprocess_transport    an InProcessTransport over that card (host's Transport protocol)
    apdu_trace_path        the test's APDU trace file (both transports write it, secrets redacted)

Through pcscd (tests using these are marked `e2e` and skip only if pcscd or vpcd is not installed):
    virtual_reader         session: pcscd (started if none runs, stopped at the end only if this
                           session started it and no other mynacard process uses it) + one slot
    reader_card            the test's card in that slot (exchanged for the previous test's card at
                           once), with insert()/remove()/reinsert(profile)/reset() and faults
                           (delay, remove_during, torn_write)
    reader_name            the PC/SC reader name to connect to
    insert_card / remove_card / reset_card   the card's insert/remove/reset, as callables

This module is imported by every pytest run in an environment where mynacard is installed, so it
imports nothing heavy at module level.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mynacard.emulator.inprocess import InProcessTransport
    from mynacard.emulator.pcscd import PcscdLease, ReaderSlot
    from mynacard.emulator.slot import VirtualSlot
    from mynacard.emulator.slots import SlotLease

#: Fixtures that need pcscd; tests using them get the `e2e` marker.
E2E_FIXTURES = {"virtual_reader", "reader_card", "reader_name", "insert_card", "remove_card", "reset_card"}

#: How long pcscd may take to see an insertion or removal (it polls vpcd every 400 ms).
PRESENCE_TIMEOUT = 5.0


def pytest_addoption(parser: pytest.Parser) -> None:
    from mynacard.applet_model.profiles import choices_summary

    parser.getgroup("mynacard").addoption(
        "--mynacard-behaviour", action="append", default=[], metavar="KEY=VALUE", dest="mynacard_behaviour",
        help=f"give every test's emulated card this side of a CI §12 behaviour ({choices_summary()})")


def behaviour_variants(*keys: str) -> list[dict[str, str]]:
    """The card's defaults, then each other side of each named behaviour alone: the parameters for a
    test that must hold against every card (`card_behaviours` parametrised over these)."""
    from mynacard.applet_model.profiles import BEHAVIOURS

    out: list[dict[str, str]] = [{}]
    for key in keys:
        out += [{key: v.value} for v in BEHAVIOURS[key].variants[1:]]
    return out


def behaviour_id(choice: dict[str, str]) -> str:
    """A test ID part for one `behaviour_variants` entry: `default` or `reselect=clears`."""
    return ",".join(f"{k}={v}" for k, v in sorted(choice.items())) or "default"


def parametrize_card_behaviours(metafunc: pytest.Metafunc, keys: tuple[str, ...]) -> None:
    """For a conftest's `pytest_generate_tests`: run every test that uses the card once per
    `behaviour_variants(*keys)` — unless the test names its own keys (`@pytest.mark.card_behaviours(
    "reselect")`; no keys: not parametrised) or its module does (a `CARD_BEHAVIOURS` tuple), or the
    run fixes them with `--mynacard-behaviour`."""
    if "card_behaviours" not in metafunc.fixturenames or metafunc.config.getoption("mynacard_behaviour"):
        return
    marker = metafunc.definition.get_closest_marker("card_behaviours")
    if marker is not None:
        keys = tuple(marker.args)
    else:
        keys = getattr(metafunc.module, "CARD_BEHAVIOURS", keys)
    variants = behaviour_variants(*keys)
    if len(variants) > 1:
        metafunc.parametrize("card_behaviours", variants, ids=[behaviour_id(v) for v in variants])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "card_behaviours(*keys): the CI §12 behaviours a test runs against "
                            "each side of (parametrize_card_behaviours)")
    config.addinivalue_line("markers", "e2e: end-to-end through pcscd + vpcd (mynacard's virtual reader)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)


# -- in-process ---------------------------------------------------------------------------------


@pytest.fixture
def card_behaviours(request: pytest.FixtureRequest) -> dict[str, str]:
    """The CI §12 behaviours of the test's card (from `--mynacard-behaviour`; none: the card's own)."""
    from mynacard.applet_model.profiles import parse_choices

    try:
        return parse_choices(request.config.getoption("mynacard_behaviour"))
    except ValueError as exc:
        raise pytest.UsageError(f"--mynacard-behaviour: {exc}") from None


@pytest.fixture
def card_dir(tmp_path: Path, card_behaviours: dict[str, str]) -> Path:
    """A fresh, writable copy of the demo card image for this test, with `card_behaviours`."""
    from mynacard.emulator.demo import copy_card, packaged_demo_card

    path = copy_card(packaged_demo_card(), tmp_path / "card")
    if card_behaviours:
        from mynacard.applet_model.profiles import apply_behaviours
        from mynacard.applet_model.store import DirectoryStore

        store = DirectoryStore(path)
        store.replace_profile(apply_behaviours(store.load_image().profile, card_behaviours))
    return path


@pytest.fixture
def apdu_trace_path(tmp_path: Path) -> Path:
    """Where this test's card transports append their APDU trace."""
    return tmp_path / "apdu-trace.log"


@pytest.fixture
def inprocess_transport(card_dir: Path, apdu_trace_path: Path) -> Iterator[InProcessTransport]:
    """The test's card in-process, as a Transport; its counters are written to `card_dir`."""
    from mynacard.emulator.inprocess import InProcessTransport
    from mynacard.emulator.trace import ApduTracer

    tracer = ApduTracer.open(apdu_trace_path)
    transport = InProcessTransport.from_directory(card_dir, tracer=tracer)
    yield transport
    transport.close()
    tracer.close()


# -- through pcscd ------------------------------------------------------------------------------


class VirtualReader:
    """The session's pcscd lease and slot."""

    def __init__(self, pcscd: PcscdLease, lease: SlotLease) -> None:
        self.pcscd = pcscd
        self.lease = lease
        #: The slot's VirtualSlot, kept across tests so a card can be exchanged in no time.
        self.slot_in_use: VirtualSlot | None = None

    @property
    def slot(self) -> ReaderSlot:
        return self.lease.slot

    @property
    def reader(self) -> str:
        return self.lease.slot.reader

    @property
    def started_pcscd(self) -> bool:
        return self.pcscd.started


@pytest.fixture(scope="session")
def virtual_reader() -> Iterator[VirtualReader]:
    """pcscd with a vpcd slot leased for this session (skips if pcscd/vpcd are not installed)."""
    from mynacard.emulator.errors import PcscdNotInstalled
    from mynacard.emulator.pcscd import PcscdLease, check_installed
    from mynacard.emulator.slots import lease_slot

    try:
        check_installed()
    except PcscdNotInstalled as exc:
        pytest.skip(str(exc))
    pcscd = PcscdLease()
    info = pcscd.acquire()
    try:
        lease = lease_slot(info.slots, None, "pytest session")
    except BaseException:
        pcscd.release()
        raise
    reader = VirtualReader(pcscd, lease)
    try:
        yield reader
    finally:
        if reader.slot_in_use is not None:
            reader.slot_in_use.remove()
        lease.release()
        pcscd.release()


class ReaderCard:
    """The test's card in the session's virtual reader: insert, remove, reset, inject faults.

    `insert` and `remove` return once PC/SC clients see the change, so a test can connect (or
    expect NoCardException) right after.
    """

    def __init__(self, slot: VirtualSlot, card_dir: Path, trace_path: Path) -> None:
        self.slot = slot
        self.card_dir = card_dir
        self.trace_path = trace_path

    @property
    def reader(self) -> str:
        return self.slot.reader

    def insert(self) -> None:
        self.slot.insert()
        self.wait_present()

    def wait_present(self) -> None:
        from mynacard.emulator.pcsc_state import wait_for_presence

        if not wait_for_presence(self.reader, True, PRESENCE_TIMEOUT):
            raise AssertionError(f"pcscd did not report the card in {self.reader} within {PRESENCE_TIMEOUT} s")

    def remove(self) -> None:
        self.slot.remove()
        self.wait_removed()

    def reinsert(self, profile: str | None = None) -> None:
        """Take the card out and put it back (pcscd sees both), optionally with another ATR profile
        of CI §1.1 (`mynacard emulate --profile`)."""
        from mynacard.emulator.cards import ImageCardSource

        self.remove()
        self.slot.source = ImageCardSource(self.card_dir, profile)
        self.insert()

    def wait_removed(self) -> None:
        """Wait until clients see no card (after a removal fault or a torn write fired)."""
        from mynacard.emulator.pcsc_state import wait_for_presence

        if not wait_for_presence(self.reader, False, PRESENCE_TIMEOUT):
            raise AssertionError(f"pcscd still reports a card in {self.reader} after {PRESENCE_TIMEOUT} s")

    def reset(self) -> None:
        self.slot.reset()

    def delay(self, ms: float, ins: int | None = None, count: int = 1) -> None:
        from mynacard.emulator.faults import Fault

        self.slot.arm_fault(Fault("delay", ins=ins, count=count, delay_ms=ms))

    def remove_during(self, ins: int | None = None, execute: bool = True) -> None:
        """Pull the card out in the middle of the next command (with this INS)."""
        from mynacard.emulator.faults import Fault

        self.slot.arm_fault(Fault("remove", ins=ins, execute=execute))

    def torn_write(self) -> None:
        """Tear the card's next state write: it loses power and gives no answer."""
        self.slot.inject_torn_write()

    def status(self) -> dict[str, Any]:
        return self.slot.status()


@pytest.fixture
def reader_card(virtual_reader: VirtualReader, card_dir: Path, apdu_trace_path: Path) -> Iterator[ReaderCard]:
    """The test's copy of the demo card in the session's virtual reader.

    If the previous test left its card in, the new card takes its place at once
    (`VirtualSlot.exchange`): clients see a fresh card at their next connection, and the test
    does not wait for pcscd's polls. Tests that need pcscd to see a real removal and insertion
    call `remove()` and `insert()`.
    """
    from mynacard.emulator.cards import ImageCardSource
    from mynacard.emulator.slot import VirtualSlot
    from mynacard.emulator.trace import ApduTracer

    tracer = ApduTracer.open(apdu_trace_path)
    source = ImageCardSource(card_dir)
    slot = virtual_reader.slot_in_use
    if slot is None:
        slot = VirtualSlot(virtual_reader.reader, virtual_reader.slot.port, source, tracer=tracer)
        virtual_reader.slot_in_use = slot
    slot.tracer = tracer
    card = ReaderCard(slot, card_dir, apdu_trace_path)
    if not slot.inserted:
        slot.source = source
        card.insert()
    elif not slot.exchange(source):
        card.wait_present()
    try:
        yield card
    finally:
        slot.faults.clear()
        slot.tracer = None
        tracer.close()


@pytest.fixture
def reader_name(reader_card: ReaderCard) -> str:
    return reader_card.reader


@pytest.fixture
def insert_card(reader_card: ReaderCard) -> Callable[[], None]:
    return reader_card.insert


@pytest.fixture
def remove_card(reader_card: ReaderCard) -> Callable[[], None]:
    return reader_card.remove


@pytest.fixture
def reset_card(reader_card: ReaderCard) -> Callable[[], None]:
    return reader_card.reset
