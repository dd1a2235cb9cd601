"""The integrator API: JSON commands in, JSON messages out (AusweisApp SDK style).

Commands are objects with a `cmd`; messages are objects with a `msg`:
- `STATE` on every transition and progress change (what the screen shows, never a PIN, name or
  number),
- `RESULT` when a session ends (`result`, `reason`, `transaction_id`, `municipal_window`),
- `BAD_STATE` for a command out of turn, `INVALID` for a malformed or refused one (with a
  machine-readable `error` and a sentence), `INFO` for simulator commands.
docs/kiosk.md, "Integrator API", has every command with examples.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from mynacard.terminal import machine as m
from mynacard.terminal.documents import Selection
from mynacard.terminal.payment import SimulatedAcceptor
from mynacard.terminal.reader import SimulatedReader
from mynacard.terminal.runtime import Kiosk

Message = dict[str, object]

_SIMPLE: dict[str, Callable[[], m.Event]] = {
    "START": m.Start, "ACCEPT": m.Accept, "CONFIRM_FEE": m.ConfirmFee, "BACK": m.Back,
    "CANCEL": m.Cancel, "ACKNOWLEDGE": m.Acknowledge, "STOP_REMINDER": m.StopReminder,
    "TAKE_DOCUMENT": m.DocumentTaken,
}
COMMANDS = (*_SIMPLE, "SET_PIN", "CHOOSE_DOCUMENT", "SET_LANGUAGE", "SET_MAINTENANCE",
            "GET_STATE", "GET_INFO", "SIM_INSERT_CARD", "SIM_REMOVE_CARD", "SIM_INSERT_CASH")
#: Raised when a message or command changes incompatibly; integrators check it with GET_INFO.
API_LEVEL = 1


class CommandError(ValueError):
    pass


def _event(command: Message) -> m.Event:
    name = command.get("cmd")
    if name in _SIMPLE:
        return _SIMPLE[str(name)]()
    if name == "SET_PIN":
        pin = command.get("value")
        if not isinstance(pin, str):
            raise CommandError("SET_PIN needs \"value\": the PIN as a string")
        return m.SubmitPin(pin, bool(command.get("confirm_last_try", False)))
    if name == "CHOOSE_DOCUMENT":
        options = command.get("options", [])
        copies = command.get("copies", 1)
        if not (isinstance(command.get("document"), str) and isinstance(command.get("scope"), str)
                and isinstance(options, list) and all(isinstance(o, str) for o in options)
                and isinstance(copies, int)):
            raise CommandError("CHOOSE_DOCUMENT needs \"document\" and \"scope\" (strings), "
                               "\"options\" (a list of strings) and \"copies\" (a number)")
        return m.ChooseDocument(Selection(str(command["document"]), str(command["scope"]),
                                          tuple(str(o) for o in options), copies))
    if name == "SET_LANGUAGE":
        return m.SetLanguage(str(command.get("language", "")))
    if name == "SET_MAINTENANCE":
        return m.SetMaintenance(bool(command.get("on", True)))
    raise CommandError(f"unknown command {name!r}; known: {', '.join(COMMANDS)}")


def handle_command(kiosk: Kiosk, raw: str) -> list[Message]:
    """The direct replies to one command (state changes reach every subscriber separately)."""
    try:
        command = json.loads(raw)
    except ValueError:
        return [{"msg": "INVALID", "error": "NOT_JSON", "detail": "a command is a JSON object"}]
    if not isinstance(command, dict):
        return [{"msg": "INVALID", "error": "NOT_JSON", "detail": "a command is a JSON object"}]
    name = command.get("cmd")
    if name == "GET_STATE":
        return [kiosk.state_message()]
    if name == "GET_INFO":
        from mynacard import __version__

        return [{"msg": "INFO", "cmd": name, "name": "mynacard kiosk", "version": __version__,
                 "api_level": API_LEVEL, "kiosk_id": kiosk.config.kiosk_id,
                 "commands": list(COMMANDS)}]
    if isinstance(name, str) and name.startswith("SIM_"):
        return [_simulate(kiosk, name, command)]
    try:
        event = _event(command)
    except CommandError as exc:
        return [{"msg": "INVALID", "cmd": name, "error": "BAD_COMMAND", "detail": str(exc)}]
    outcome = kiosk.submit(event)
    if outcome.error == m.BAD_STATE:
        return [{"msg": "BAD_STATE", "cmd": name, "state": kiosk.machine.state.value,
                 "error": outcome.detail}]
    if outcome.error is not None:
        return [{"msg": "INVALID", "cmd": name, "error": outcome.error, "detail": outcome.detail}]
    return []


def _simulate(kiosk: Kiosk, name: str, command: Message) -> Message:
    """Simulator commands: a person's hands on the simulated reader and acceptor."""
    reader, payment = kiosk.devices.reader, kiosk.devices.payment
    if name in ("SIM_INSERT_CARD", "SIM_REMOVE_CARD"):
        if not isinstance(reader, SimulatedReader):
            return {"msg": "INVALID", "cmd": name, "error": "NOT_SIMULATED",
                    "detail": "the card reader is a real one: use the card"}
        if name == "SIM_INSERT_CARD":
            reader.insert()
        else:
            reader.remove()
        return {"msg": "INFO", "cmd": name}
    if name == "SIM_INSERT_CASH":
        if not isinstance(payment, SimulatedAcceptor):
            return {"msg": "INVALID", "cmd": name, "error": "NOT_SIMULATED",
                    "detail": "the acceptor is a real one"}
        yen = command.get("yen")
        accepted = isinstance(yen, int) and payment.insert(yen)
        return {"msg": "INFO", "cmd": name, "accepted": accepted}
    return {"msg": "INVALID", "cmd": name, "error": "BAD_COMMAND",
            "detail": f"unknown command {name!r}; known: {', '.join(COMMANDS)}"}
