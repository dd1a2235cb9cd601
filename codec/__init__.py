"""Byte formats every layer shares, as pure functions (DESIGN.md, "Layout").

One format, one implementation: a byte layout or check digit parsed in two places will drift, so it
lives here. This package imports nothing of the project, so applet_model, host, ca, register_stub,
conformance and the emulator may all depend on it without breaking the dependency rule.
"""
