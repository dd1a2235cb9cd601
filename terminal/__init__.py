"""mynacard.terminal: the convenience-store kiosk (コンビニ交付) an integrator embeds.

A pure state machine (`machine.py`) decides; a runtime (`runtime.py`) carries out what it decides
with devices behind interfaces (`reader.py`, `printer.py`, `payment.py`, `voice.py`) and the
issuance centre (`centre_client.py`); the integrator API (`api.py`) and the web UI (`web/`) are
served by `server.py`. docs/kiosk.md is the integrator's guide.
"""
