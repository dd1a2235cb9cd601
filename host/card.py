"""`MyNumberCard`: one card behind one Transport, with a typed object per AP.

```python
with MyNumberCard.open("pcsc:") as card:          # or open_transport("emulator:DIR")
    card.detect()                                  # SELECT by AID, never by ATR
    der = card.jpki.auth_certificate()
    card.text.verify_pin("1234")
    facts = card.text.four_facts()
```
The card knows nothing of readers: the Transport is the only way in, so the same code runs over
pyscard and the in-process emulator. `apdu_count`/`count_summary()` tell a benchmark what a read
cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType

from mynacard.host import aids
from mynacard.host.channel import CardChannel
from mynacard.host.common import CommonAp, JukiAp
from mynacard.host.errors import FileNotFound, NotAMyNumberCard
from mynacard.host.jpki import Jpki
from mynacard.host.pins import SECRETS, LastTryHook, PinGuard, Secret
from mynacard.host.text import TextAp
from mynacard.host.transport import Transport, open_transport
from mynacard.host.visual import VisualAp


@dataclass(frozen=True)
class SecretStatus:
    secret: Secret
    #: None when the AP or the secret is absent, or the card reported no count.
    tries_left: int | None
    #: "ok", "last try", "blocked", "not reported" or "absent".
    state: str

    def as_dict(self) -> dict[str, object]:
        return {"secret": self.secret.key, "label": self.secret.label,
                "tries_left": self.tries_left, "max_tries": self.secret.max_tries,
                "state": self.state}


@dataclass(frozen=True)
class CardStatus:
    applications: dict[str, bool]
    secrets: list[SecretStatus]

    def as_dict(self) -> dict[str, object]:
        return {"applications": self.applications,
                "secrets": [s.as_dict() for s in self.secrets]}


class MyNumberCard:
    def __init__(self, transport: Transport, *, on_last_try: LastTryHook | None = None) -> None:
        """`on_last_try(secret) -> bool` is asked before a VERIFY would spend the last try;
        without it the last try is never spent."""
        self.transport = transport
        self.channel = CardChannel(transport)
        self.pins = PinGuard(self.channel, on_last_try)
        self.jpki = Jpki(self.channel, self.pins)
        self.text = TextAp(self.channel, self.pins)
        self.visual = VisualAp(self.channel, self.pins)
        self.common = CommonAp(self.channel, self.pins)
        self.juki = JukiAp(self.channel, self.pins)

    @classmethod
    def open(cls, spec: str, *, on_last_try: LastTryHook | None = None) -> MyNumberCard:
        """Open a transport spec (`pcsc:NAME`, `pcsc:`, `emulator:DIR`) and check the card."""
        card = cls(open_transport(spec), on_last_try=on_last_try)
        try:
            card.detect()
        except BaseException:
            card.close()
            raise
        return card

    @property
    def name(self) -> str:
        return self.transport.name

    def detect(self) -> None:
        """Raise `NotAMyNumberCard` unless the card has the JPKI AP and the 券面事項入力補助AP.

        Detection is by AID SELECT (CI §1: cards have many ATRs). The second AID tells a
        My Number Card from other JPKI tokens (住基カード, smartphone tokens).
        """
        if not self.channel.try_select_ap(aids.JPKI):
            raise NotAMyNumberCard(
                f"the card in {self.name} is not a My Number Card: it has no JPKI application "
                f"(SELECT of {aids.JPKI.hex().upper()} was refused); check that the right card "
                f"is in the reader, chip first")
        if not self.channel.try_select_ap(aids.TEXT):
            raise NotAMyNumberCard(
                f"the card in {self.name} has a JPKI application but no card-info AP, so it is "
                f"another JPKI token (e.g. a 住基カード), not a My Number Card")

    def applications(self) -> dict[str, bool]:
        """Which of the five APs answer their SELECT (CI §5)."""
        return {name: self.channel.try_select_ap(aid) for name, aid in aids.APPLICATIONS.items()}

    def status(self) -> CardStatus:
        """APs present and the tries left of every secret, spending none (VERIFY without data)."""
        present = self.applications()
        secrets: list[SecretStatus] = []
        for secret in SECRETS:
            if not present[secret.ap]:
                secrets.append(SecretStatus(secret, None, "absent"))
                continue
            try:
                left = self.pins.tries_left(secret)
            except FileNotFound:
                secrets.append(SecretStatus(secret, None, "absent"))
                continue
            if left is None:
                state = "not reported"
            elif left == 0:
                state = "blocked"
            elif left == 1:
                state = "last try"
            else:
                state = "ok"
            secrets.append(SecretStatus(secret, left, state))
        return CardStatus(present, secrets)

    # --- session ----------------------------------------------------------------------------------

    @property
    def apdu_count(self) -> int:
        return self.channel.apdu_count

    def count_summary(self) -> dict[str, int]:
        return self.channel.count_summary()

    def reset(self) -> None:
        """Warm reset: every verified secret is forgotten by the card."""
        self.channel.reset()

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> MyNumberCard:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
