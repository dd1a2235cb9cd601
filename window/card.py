"""The card on the counter, through the host middleware only.

`open_card(config)` opens the configured reader (or the first one holding a card), or the card
image of `--card DIR` in-process, and checks it is a My Number Card. Every VERIFY goes through the
card's `PinGuard` (host/pins.py): tries read first, never a retry; the last try only when the
clerk confirmed it on screen (`allow_last_try`). Card problems are `CardError`s whose sentence the
screens show as they are.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mynacard.host.card import MyNumberCard
from mynacard.host.errors import CardError, NoCard, NoReader
from mynacard.window.config import WindowConfig


def transport_spec(config: WindowConfig) -> str:
    """`emulator:DIR`, `pcsc:NAME`, or `pcsc:<first reader with a card in it>`."""
    if config.card_dir is not None:
        return f"emulator:{config.card_dir}"
    if config.reader:
        return f"pcsc:{config.reader}"
    from mynacard.host import pcsc

    readers = pcsc.list_readers()
    if not readers:
        raise NoReader("No card reader is connected: plug one in and try again. / "
                       "カードリーダーが接続されていません。")
    for info in readers:
        if info.card_present:
            return f"pcsc:{info.name}"
    raise NoCard("No card is in the reader: insert the card, chip first. / カードを挿入してください。")


@contextmanager
def open_card(config: WindowConfig, *, allow_last_try: bool = False) -> Iterator[MyNumberCard]:
    """The card, detected as a My Number Card (`NotAMyNumberCard` otherwise), closed afterwards."""
    card = MyNumberCard.open(transport_spec(config), on_last_try=lambda _secret: allow_last_try)
    try:
        yield card
    finally:
        try:
            card.close()
        except CardError:  # the card was pulled: closing it has nothing left to do
            pass
