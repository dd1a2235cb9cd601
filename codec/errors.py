"""The one error of the codec: bytes that are not the format they should be.

Callers catch it at their boundary and say in their own words what was being read (a record of
the card, a certificate the authority issued, an answer to a conformance case).
"""


class CodecError(ValueError):
    """The bytes are not the format the caller asked the codec to read."""
