"""Which JPKI certificates each register event revokes: jpki-system.md §5's table, as data.

| event                         | signing cert             | auth cert                       |
|-------------------------------|--------------------------|---------------------------------|
| birth / first entry           | —                        | —                               |
| move within the municipality  | revoked                  | kept                            |
| move out / move in            | revoked                  | kept if continued in time (§2.1)|
| name change                   | revoked                  | kept                            |
| sex or birth-date correction  | revoked                  | kept                            |
| death                         | revoked                  | revoked                         |
| emigration                    | revoked                  | kept (our choice, below)        |
| household change              | —                        | —                               |
| other items (welfare, 在留期間) | —                        | —                               |

The reason codes are RFC 5280 names; J-LIS does not publish its mapping (§2.1), so ours is:
a change of the four facts → `affiliationChanged`; the record or the card ending (death, a card
lapsed by a missed deadline) → `cessationOfOperation`; a new number or a new card →
`superseded`. Emigration: the table marks the auth certificate "[U] depends on continuation";
since 2024-05-27 an emigrant may keep the card, so we keep the auth certificate and revoke only
the signing certificate (whose address is gone).
"""

from __future__ import annotations

from dataclasses import dataclass

CHANGED = "affiliationChanged"
ENDED = "cessationOfOperation"
SUPERSEDED = "superseded"


@dataclass(frozen=True)
class Effect:
    """The RFC 5280 reason each CA's certificates are revoked with, or None: kept."""

    sign: str | None = None
    auth: str | None = None


NONE = Effect()

EFFECTS: dict[str, Effect] = {
    "birth": NONE,
    "entry": NONE,
    "move-within": Effect(sign=CHANGED),
    "move-out": Effect(sign=CHANGED),
    "move-in": Effect(sign=CHANGED),
    "continuation": NONE,
    "name-change": Effect(sign=CHANGED),
    "correction": Effect(sign=CHANGED),
    "death": Effect(sign=ENDED, auth=ENDED),
    "emigration": Effect(sign=ENDED),
    "household-change": NONE,
    "items-update": NONE,  # none of the four facts: welfare items, 本籍, 通称, status of residence
    # not life events, but acts on the record or the card with their own effect (§2.1)
    "lapse": Effect(sign=ENDED, auth=ENDED),
    "number-replacement": Effect(sign=SUPERSEDED),
    "card-reissue": Effect(sign=SUPERSEDED, auth=SUPERSEDED),
}

#: §2.1 card rule on moving: 転入届 within 14 days of moving in and 30 days of the planned
#: move-out; 継続利用 within 90 days of the 転入届.
MOVE_IN_NOTICE_DAYS = 14
AFTER_PLANNED_MOVE_OUT_DAYS = 30
CONTINUATION_DAYS = 90
