"""What an operator configures: service hours, closed days, per-state timeouts, the kiosk's id.

Hours and closed days follow the public rules of コンビニ交付 (jpki-system.md §6.3: 06:30–23:00,
closed 12/29–1/3 and on maintenance days); idle timeouts are not published, so the defaults
here are this project's choice and every one can be changed.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from mynacard.dates import parse_date

JST = timezone(timedelta(hours=9), "JST")

#: Seconds a state may last before the kiosk gives up on it (a human wait or a device/centre
#: answer). `remove_card` and `collect` repeat their reminder every `reminder` seconds and give up
#: after their own timeout; `ended`/`complete` return to idle after theirs.
DEFAULT_TIMEOUTS: dict[str, float] = {
    "notice": 60, "wait_card": 60, "card_check": 20, "pin_entry": 60, "authenticating": 30,
    "remove_card": 60, "choose_document": 120, "confirm_fee": 60, "payment": 120,
    "fetch": 30, "print": 300, "collect": 120, "complete": 10, "ended": 20,
}
DEFAULT_REMINDER = 8.0


class ConfigError(ValueError):
    """The configuration file is wrong; the sentence names the key."""


@dataclass(frozen=True)
class ServiceHours:
    """When the service runs, in the kiosk's local time zone."""

    opens: time = time(6, 30)
    closes: time = time(23, 0)
    #: Closed (month, day) from the first to the last day inclusive, across the new year.
    closed_from: tuple[int, int] = (12, 29)
    closed_until: tuple[int, int] = (1, 3)
    #: False: no yearly closure (a demo or test kiosk; the real service closes 12/29–1/3).
    year_end_closure: bool = True
    #: Extra closed dates (maintenance days announced in advance).
    maintenance_days: frozenset[date] = frozenset()

    def is_open(self, now: datetime, tz: timezone = JST) -> bool:
        local = now.astimezone(tz)
        day = local.date()
        if day in self.maintenance_days or (self.year_end_closure and self._in_closed_period(day)):
            return False
        return self.opens <= local.time() and (local.time() < self.closes
                                               or self.closes == time.max)

    def _in_closed_period(self, day: date) -> bool:
        md = (day.month, day.day)
        if self.closed_from <= self.closed_until:
            return self.closed_from <= md <= self.closed_until
        return md >= self.closed_from or md <= self.closed_until


@dataclass(frozen=True)
class KioskConfig:
    kiosk_id: str = "kiosk-1"
    hours: ServiceHours = field(default_factory=ServiceHours)
    timeouts: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TIMEOUTS))
    #: How often the left-behind reminders (card, document) repeat.
    reminder: float = DEFAULT_REMINDER
    #: Copies per request, at most.
    max_copies: int = 10

    def timeout(self, state: str) -> float | None:
        return self.timeouts.get(state)

    def with_timeouts(self, **changes: float) -> KioskConfig:
        unknown = set(changes) - set(DEFAULT_TIMEOUTS)
        if unknown:
            raise ConfigError(f"unknown timeout(s) {', '.join(sorted(unknown))}; known: "
                              f"{', '.join(DEFAULT_TIMEOUTS)}")
        return replace(self, timeouts={**self.timeouts, **changes})


#: Hours of a kiosk that never closes (demos and tests); `closes = "24:00"` in the file.
ALWAYS_OPEN = ServiceHours(opens=time(0, 0), closes=time.max, year_end_closure=False)


def _hhmm(value: object, key: str) -> time:
    if value == "24:00":
        return time.max
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a time written HH:MM, e.g. \"06:30\"")
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{key} must be a time written HH:MM, e.g. \"06:30\"") from None


def _month_day(value: object, key: str) -> tuple[int, int]:
    if not isinstance(value, str) or value.count("-") != 1:
        raise ConfigError(f"{key} must be a month and day written MM-DD, e.g. \"12-29\"")
    month, day = value.split("-")
    try:
        date(2000, int(month), int(day))
    except ValueError:
        raise ConfigError(f"{key} must be a month and day written MM-DD, e.g. \"12-29\"") from None
    return int(month), int(day)


def load_config(path: Path) -> KioskConfig:
    """A `KioskConfig` from a TOML file (docs/kiosk.md, "Configuration"); unset keys keep defaults."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the kiosk configuration {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the kiosk configuration {path} is not valid TOML: {exc}") from None
    config = KioskConfig()
    hours = data.get("hours", {})
    if not isinstance(hours, dict):
        raise ConfigError("[hours] must be a table")
    service = ServiceHours(
        opens=_hhmm(hours.get("opens", "06:30"), "hours.opens"),
        closes=_hhmm(hours.get("closes", "23:00"), "hours.closes"),
        closed_from=_month_day(hours.get("closed_from", "12-29"), "hours.closed_from"),
        closed_until=_month_day(hours.get("closed_until", "01-03"), "hours.closed_until"),
        maintenance_days=frozenset(_maintenance_days(hours.get("maintenance_days", []))),
        year_end_closure=_flag(hours.get("year_end_closure", True), "hours.year_end_closure"),
    )
    timeouts = data.get("timeouts", {})
    if not isinstance(timeouts, dict) or not all(
            isinstance(v, int | float) and v > 0 for v in timeouts.values()):
        raise ConfigError("[timeouts] must map state names to positive numbers of seconds")
    config = replace(config, hours=service).with_timeouts(
        **{k: float(v) for k, v in timeouts.items()})
    kiosk_id = data.get("kiosk_id", config.kiosk_id)
    reminder = data.get("reminder", config.reminder)
    if not isinstance(kiosk_id, str) or not kiosk_id:
        raise ConfigError("kiosk_id must be a non-empty string")
    if not isinstance(reminder, int | float) or reminder <= 0:
        raise ConfigError("reminder must be a positive number of seconds")
    return replace(config, kiosk_id=kiosk_id, reminder=float(reminder))


def _flag(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false")
    return value


def _maintenance_days(values: object) -> list[date]:
    if not isinstance(values, list):
        raise ConfigError("hours.maintenance_days must be a list of dates YYYY-MM-DD")
    days = []
    for value in values:
        try:
            days.append(value if isinstance(value, date) else parse_date(str(value)))
        except ValueError as exc:
            raise ConfigError(f"hours.maintenance_days: {exc}") from None
    return days
