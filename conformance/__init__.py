"""The conformance suite: a catalogue of black-box test cases over APDUs, traced to card-interface.md,
run against any card through host's Transport (docs/conformance.md).

- `catalogue/` — the cases (`@case` functions whose docstrings are their procedures);
- `clauses` — the clauses of card-interface.md the cases trace to; `card_map` — AIDs, EFs, keys;
- `context` — what a case can do, with the safety rules; `recorder` — timing and redaction;
- `runner` — selection, applicability, counters, results; `reports/` — JSON, JUnit, HTML;
- `spec` — the catalogue as Markdown; `diff` — differential mode; `robot` — insert/remove;
- `commands` — `mynacard conformance …`.

It imports host only (DESIGN.md): never the card model, never the emulator.
"""
