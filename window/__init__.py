"""The clerk's window (市町村窓口): a local web console for municipal clerks.

Its own user's part, like terminal/: it reaches the card through the host middleware (PC/SC via
pyscard, or a card image in-process) and the register (and the centre) only over HTTP; it never
imports register_stub, ca or applet_model (docs/architecture.md, docs/window.md).
"""
