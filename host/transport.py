"""The Transport contract (docs/architecture.md) and `open_transport(spec)`.

Everything above this module speaks to a card through five members, so the same typed API runs
against a card in a real reader (pyscard), the emulator in-process, or anything a package
registers under the `mynacard.transports` entry-point group — the httpx-transport shape.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

from mynacard.host.errors import TransportError

ENTRY_POINT_GROUP = "mynacard.transports"


@runtime_checkable
class Transport(Protocol):
    """A link to one card. `transmit` takes and returns whole APDUs (R-APDU = data || SW)."""

    #: Reader name, or "emulator:DIR".
    name: str

    def transmit(self, apdu: bytes) -> bytes: ...

    @property
    def atr(self) -> bytes: ...

    @property
    def extended_length(self) -> bool:
        """May the host send extended APDUs through this link."""
        ...

    def reset(self) -> None:
        """Warm reset: the card forgets the selected DF and every verified PIN."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class ReinsertableTransport(Transport, Protocol):
    """A transport that can take its card out and put it back by itself (power off, power on),
    as the in-process emulator can and a reader cannot: a capability beyond `Transport`, checked
    with `isinstance` rather than probed for."""

    def reinsert(self) -> None:
        """Power the card off and on (after a torn write: load it again from its store)."""
        ...


def available_schemes() -> list[str]:
    """`pcsc` plus every scheme registered by an installed package."""
    return ["pcsc", *sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))]


def open_transport(spec: str, *, exclusive: bool = False) -> Transport:
    """Open `pcsc:<reader name>` or `<scheme>:<argument>` from the `mynacard.transports` group.

    `pcsc:` with no name opens the first reader that holds a My Number Card. `exclusive` keeps
    other PC/SC programs away from the card while the transport is open (in-process links are
    private anyway).
    """
    scheme, sep, argument = spec.partition(":")
    if not sep:
        raise TransportError(
            f"transport '{spec}' has no scheme: write pcsc:<reader name> or "
            f"<scheme>:<argument> (known schemes: {', '.join(available_schemes())})")
    if scheme == "pcsc":
        from mynacard.host import pcsc  # pyscard is only needed when a reader is used

        if argument:
            return pcsc.PcscTransport(argument, exclusive=exclusive)
        return pcsc.open_first_my_number_card(exclusive=exclusive)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == scheme:
            opener = ep.load()
            return opener(argument)
    raise TransportError(
        f"no transport for '{scheme}:': known schemes are {', '.join(available_schemes())} "
        f"(the emulator registers 'emulator' when mynacard is installed with pip install -e .)")
