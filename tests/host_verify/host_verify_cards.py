"""The demo card in-process, and tampered copies of it, for the clerk check and CLI tests.

Tests may reach behind the host (applet_model, emulator, register_stub) to build cards; the host's
own code never does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from mynacard.host.card import MyNumberCard


@dataclass(frozen=True)
class Demo:
    code_b: str
    code_a: str
    text_pin: str
    sign_password: str
    application: dict[str, str]


def tamper(image, app: str, fid: int, change: Callable[[bytes], bytes]):
    """A copy of `image` whose EF `fid` of `app` went through `change` (the original untouched)."""
    application = image.applications[app]
    files = {**application.files, fid: change(application.files[fid])}
    return replace(image, applications={**image.applications, app: replace(application, files=files)})


def flip_at(index: int) -> Callable[[bytes], bytes]:
    """Change one bit of one byte."""
    return lambda data: data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1:]


def open_image(image) -> MyNumberCard:
    """A host card over an in-process emulator card holding `image` (fresh counters)."""
    from mynacard.applet_model.card import Card
    from mynacard.applet_model.store import MemoryStore
    from mynacard.emulator.inprocess import InProcessTransport

    card = MyNumberCard(InProcessTransport(Card.open(MemoryStore(image)), name="emulator:test"))
    card.detect()
    return card


def write_image(image, directory: Path) -> Path:
    """The image as a card directory (what `--card DIR` opens)."""
    from mynacard.applet_model.store import DirectoryStore

    DirectoryStore.create(directory, image)
    return directory
