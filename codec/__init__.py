"""Byte formats every layer shares, as pure functions (DESIGN.md, "Layout").

One format, one implementation: a byte layout or check digit parsed in two places will drift, so it
lives here. This package imports nothing of the project, so applet_model, host, ca, register_stub,
conformance and the emulator may all depend on it without breaking the dependency rule.

- `tlv`: BER-TLV as the card writes it, filler handling of CI §4.
- `digest_info`: DER DigestInfo prefixes and builders (CI §6.2, §8.1).
- `my_number`: the 個人番号 check digit (jpki-system.md §4.1).
- `cv`: the card-verifiable certificate layout and the card's RSA key encoding (CI §7.3).
- `errors`: `CodecError`, the one error all of them raise.
"""
