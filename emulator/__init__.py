"""The emulator: runs an applet_model card where PC/SC software can reach it.

- `vpcd` — the project's own client for vsmartcard's vpcd reader driver (the wire protocol);
- `slot` — one virtual reader slot a card is inserted in, removed from, reset and faulted
  (`faults`); `cards` — what can be served (any SmartcardOS: the card, `echo_card`, …);
- `pcscd` / `slots` / `readers` — finding or starting pcscd with a private reader config, and
  sharing its slots between processes; `pcsc_state` — what clients see;
- `control` — the local control channel of `mynacard emulate` (insert, remove, reset, faults);
- `trace` — APDU traces with the secrets taken out (the policy is `mynacard.codec.redaction`);
- `inprocess` — the in-process Transport; `pytest_plugin` — fixtures for tests;
- `demo` — the shipped demo card and the user's copy of it;
- `commands` / `emulate` — `mynacard emulate`, `mynacard apdu`, `mynacard pcscd`.

docs/emulator.md is the user's guide.
"""
