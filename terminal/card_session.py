"""The kiosk's two card steps over host's API: the card check and the PIN + signature.

Everything goes through `MyNumberCard` and its `PinGuard`, so the kiosk inherits the host's
PIN safety: the format is checked before any APDU, the tries are read before every VERIFY, a
blocked PIN is never sent, the last try is spent only when the person confirmed it, and a
wrong PIN is never retried on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from mynacard.host import aids
from mynacard.host.card import MyNumberCard
from mynacard.host.errors import CardDataError, CardError
from mynacard.host.jpki import Key
from mynacard.host.pins import AUTH_PIN
from mynacard.host.transport import Transport


class CardRefusal(Exception):
    """The card cannot be used here; `reason` is a code the screen translates."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class CheckedCard:
    """A card that passed the check: its auth certificate (no personal data in it) and tries."""

    card: MyNumberCard
    auth_certificate: bytes
    tries_left: int


def check_card(transport: Transport, now: datetime) -> CheckedCard:
    """Is this a My Number Card whose auth certificate is valid now and whose auth PIN is not
    blocked? `CardRefusal` with the reason otherwise; `CardRemoved`/`NoCard` pass through."""
    card = MyNumberCard(transport, on_last_try=lambda secret: False)
    if not card.channel.try_select_ap(aids.JPKI):
        raise CardRefusal("not_my_number_card")
    try:
        if not card.jpki.token_info().is_my_number_card or not card.channel.try_select_ap(aids.TEXT):
            raise CardRefusal("juki_card")  # a JPKI token that is not a My Number Card
        der = card.jpki.auth_certificate()
    except CardDataError:
        raise CardRefusal("card_unreadable") from None
    try:
        certificate = x509.load_der_x509_certificate(der)
    except ValueError:
        raise CardRefusal("card_unreadable") from None
    if now > certificate.not_valid_after_utc:
        raise CardRefusal("certificate_expired")
    if now < certificate.not_valid_before_utc:
        raise CardRefusal("certificate_not_yet_valid")
    tries = card.pins.tries_left(AUTH_PIN)
    if tries == 0:
        raise CardRefusal("pin_blocked")
    return CheckedCard(card, der, tries if tries is not None else 3)


def sign_challenge(checked: CheckedCard, pin: str, challenge: bytes,
                   allow_last_try: bool) -> bytes:
    """Verify the auth PIN (through PinGuard) and sign the centre's challenge with the auth key
    (PKCS#1 v1.5 over a SHA-256 DigestInfo, CI §6.2). PinWrong/PinBlocked pass through."""
    checked.card.pins.on_last_try = lambda secret: allow_last_try and secret is AUTH_PIN
    try:
        checked.card.jpki.verify_auth_pin(pin)
        return checked.card.jpki.sign(challenge, key=Key.AUTH)
    finally:
        checked.card.pins.on_last_try = lambda secret: False


__all__ = ["CardError", "CardRefusal", "CheckedCard", "check_card", "sign_challenge"]
