"""A My Number Card: the card OS over a card image, with power handling.

This is the object the emulator puts in a reader and tests talk to in-process. It also answers to
vsmartcard's `SmartcardOS` names (getATR, powerUp, powerDown, reset, execute), so vsmartcard's own
`vicc` can run it (docs/emulator.md).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable

from mynacard.applet_model.card_os import CardOS
from mynacard.applet_model.errors import PowerLost
from mynacard.applet_model.profiles import Profile
from mynacard.applet_model.store import CardStore


class Card:
    def __init__(self, store: CardStore, *, profile: Profile | None = None,
                 random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> None:
        """Load the image and state from `store` (ImageError if either is unusable)."""
        image = store.load_image()
        if profile is not None:
            image.profile = profile
        self.store = store
        with store.transaction() as state:  # also clears what a torn write left behind
            self._os = CardOS(image, store, state, random_bytes)
        self._lock = threading.Lock()
        self._power_lost = False

    @classmethod
    def open(cls, store: CardStore, *, profile: Profile | None = None,
             random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> Card:
        return cls(store, profile=profile, random_bytes=random_bytes)

    @property
    def atr(self) -> bytes:
        return self._os.profile.atr

    @property
    def profile(self) -> Profile:
        return self._os.profile

    def power_up(self) -> None:
        with self._lock:
            self._restart()

    def power_down(self) -> None:
        with self._lock:
            self._os.reset_session()

    def reset(self) -> None:
        with self._lock:
            self._restart()

    def execute(self, apdu: bytes) -> bytes:
        """Process one command APDU; returns the response (data || SW1 SW2).

        Raises PowerLost only when an injected torn write cut the power: the command then has no
        answer, and the card comes back (from what its store holds) at the next power-up.
        """
        with self._lock:
            if self._power_lost:
                self._restart()
            try:
                return self._os.process(apdu)
            except PowerLost:
                self._power_lost = True
                self._os.reset_session()
                raise

    def _restart(self) -> None:
        if self._power_lost:  # the chip forgets what it had in RAM; the store holds what survived
            with self.store.transaction() as state:
                self._os.state = state
            self._power_lost = False
        self._os.reset_session()

    # vsmartcard's SmartcardOS interface (virtual-reader.md §4.2)
    def getATR(self) -> bytes:  # noqa: N802
        return self.atr

    def powerUp(self) -> None:  # noqa: N802
        self.power_up()

    def powerDown(self) -> None:  # noqa: N802
        self.power_down()
