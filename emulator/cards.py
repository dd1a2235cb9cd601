"""What the emulator serves: any object with vsmartcard's SmartcardOS methods, loaded per insertion.

The vpcd link only speaks the SmartcardOS names (getATR/powerUp/powerDown/reset/execute), so it
serves the applet_model `Card`, the echo card, or an OS written for vsmartcard's vicc alike.
A `CardSource` loads a fresh card object at every insertion: a real card that is pulled out and
put back keeps only what it stored durably, and reloading from the store is exactly that — after
a torn write it is the only honest thing to do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from mynacard.emulator.echo_card import EchoCard
from mynacard.emulator.errors import EmulatorError

if TYPE_CHECKING:
    from mynacard.applet_model.card import Card
    from mynacard.applet_model.profiles import Profile
    from mynacard.applet_model.store import DirectoryStore


class SmartcardOS(Protocol):
    """vsmartcard's `virtualsmartcard.VirtualSmartcard.SmartcardOS` interface."""

    def getATR(self) -> bytes: ...  # noqa: N802

    def powerUp(self) -> None: ...  # noqa: N802

    def powerDown(self) -> None: ...  # noqa: N802

    def reset(self) -> None: ...

    def execute(self, msg: bytes) -> bytes: ...


class TearableStore(Protocol):
    """A card store that can make its next durable write tear (fault injection): a capability
    of applet_model's stores that vsmartcard OSes and the echo card do not have."""

    def inject_torn_write(self) -> None: ...


@dataclass
class LoadedCard:
    """A card object ready to be inserted, with what fault injection needs to reach."""

    os: SmartcardOS
    #: The card's store, if it has one that can tear its next write.
    store: TearableStore | None = None
    #: Exceptions from `execute` that mean "the card lost power mid-command": no answer is sent.
    power_lost: tuple[type[BaseException], ...] = field(default_factory=tuple)


class CardSource(Protocol):
    """Loads the card to insert; `label` names it in status output (a directory, "echo")."""

    label: str

    def load(self) -> LoadedCard: ...


class EchoCardSource:
    """The benchmark baseline (echo_card.py), optionally with another card's ATR."""

    label = "echo"

    def __init__(self, atr: bytes | None = None) -> None:
        self.atr = atr

    def load(self) -> LoadedCard:
        return LoadedCard(EchoCard(self.atr) if self.atr else EchoCard())


class FactorySource:
    """Any SmartcardOS factory, e.g. a vsmartcard OS or a deliberately wrong card in tests."""

    def __init__(self, factory: Callable[[], SmartcardOS], label: str = "custom") -> None:
        self._factory = factory
        self.label = label

    def load(self) -> LoadedCard:
        return LoadedCard(self._factory())


class ImageCardSource:
    """An applet_model card image directory; its retry counters persist in the directory."""

    def __init__(self, path: Path | str, profile: str | None = None,
                 behaviours: Mapping[str, str] | None = None) -> None:
        self.path = Path(path)
        self.profile = profile
        self.behaviours = dict(behaviours or {})
        self.label = str(self.path)

    def load(self) -> LoadedCard:
        card, store = open_image_card(self.path, self.profile, self.behaviours)
        from mynacard.applet_model.errors import PowerLost

        return LoadedCard(card, store=store, power_lost=(PowerLost,))


def open_image_card(path: Path, profile: str | None = None,
                    behaviours: Mapping[str, str] | None = None) -> tuple[Card, DirectoryStore]:
    """(Card, DirectoryStore) for a card image directory, served with another ATR profile and/or
    other sides of the CI §12 behaviours than the image's own; an EmulatorError says what is wrong."""
    from mynacard.applet_model.card import Card
    from mynacard.applet_model.errors import ImageError
    from mynacard.applet_model.profiles import apply_behaviours
    from mynacard.applet_model.store import DirectoryStore

    if not path.is_dir():
        raise EmulatorError(f"there is no card image at {path}; create one with `mynacard card new {path}`.")
    store = DirectoryStore(path)
    try:
        chosen = profile_named(profile) if profile else None
        if behaviours:
            base = chosen or store.load_image().profile
            chosen = apply_behaviours(base, behaviours)
        card = Card.open(store, profile=chosen)
    except ImageError as exc:
        raise EmulatorError(f"the card image at {path} cannot be used: {exc}.") from exc
    except ValueError as exc:
        raise EmulatorError(f"{exc}.") from exc
    return card, store


def profile_named(name: str) -> Profile:
    """The applet_model Profile called `name` (the ATRs of CI §1.1), or a sentence listing them."""
    from mynacard.applet_model.profiles import PROFILES

    if name not in PROFILES:
        raise EmulatorError(f"unknown card profile {name!r}; choose one of: {', '.join(PROFILES)}.")
    return PROFILES[name]


def behaviour_choices(texts: list[str] | None) -> dict[str, str]:
    """`--behaviour KEY=VALUE` options → KEY → VALUE, or an EmulatorError listing the choices."""
    from mynacard.applet_model.profiles import parse_choices

    try:
        return parse_choices(texts or [])
    except ValueError as exc:
        raise EmulatorError(f"{exc}.") from exc


def store_card_image(files: Mapping[str, bytes], target: Path) -> Path:
    """A card directory at `target` (which must not exist or be empty) from a card image's files —
    `card.json` and the files it names, as the register's issuance answers them — with a fresh
    state: what a card encoder writes onto a blank card. A bad image is an EmulatorError."""
    from mynacard.applet_model.errors import ImageError
    from mynacard.applet_model.image import CardImage
    from mynacard.applet_model.store import DirectoryStore

    def read(name: str) -> bytes:
        if name not in files:
            raise FileNotFoundError(name)
        return files[name]

    try:
        DirectoryStore.create(target, CardImage.from_files(read))
    except ImageError as exc:
        raise EmulatorError(f"the card image cannot be written to {target}: {exc}.") from exc
    return target
