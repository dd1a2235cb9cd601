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
from mynacard.host.errors import CardError, NoCard, NoReader, TransportError
from mynacard.host.transport import Transport, open_transport
from mynacard.window.config import WindowConfig


class WatchedTransport:
    """A transport that remembers the first transport failure (the card pulled, the reader
    gone): the clerk check records card errors as failed checks, and the window must tell a card
    that failed a check from a card that was taken out in the middle."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.failure: TransportError | None = None
        self.name = inner.name

    def transmit(self, apdu: bytes) -> bytes:
        try:
            return self.inner.transmit(apdu)
        except TransportError as exc:
            self.failure = self.failure or exc
            raise

    @property
    def atr(self) -> bytes:
        return self.inner.atr

    @property
    def extended_length(self) -> bool:
        return self.inner.extended_length

    def reset(self) -> None:
        self.inner.reset()

    def close(self) -> None:
        self.inner.close()


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


def pulled(card: MyNumberCard) -> TransportError | None:
    """The transport failure seen while using `card` (opened by `open_card`), if any."""
    transport = card.transport
    return transport.failure if isinstance(transport, WatchedTransport) else None


@contextmanager
def open_card(config: WindowConfig, *, allow_last_try: bool = False) -> Iterator[MyNumberCard]:
    """The card, detected as a My Number Card (`NotAMyNumberCard` otherwise), closed afterwards."""
    watched = WatchedTransport(open_transport(transport_spec(config)))
    card = MyNumberCard(watched, on_last_try=lambda _secret: allow_last_try)
    try:
        card.detect()
        yield card
    finally:
        try:
            card.close()
        except CardError:  # the card was pulled: closing it has nothing left to do
            pass
