"""Status words the host understands (card-interface.md §3).

The host keeps its own table rather than importing the card model's: it must know the card only
through what comes back over the wire, exactly as it would know a real card.
"""

from __future__ import annotations

from enum import IntEnum


class SW(IntEnum):
    OK = 0x9000
    #: 63C0–63CF: wrong secret, or the answer to the VERIFY query; the low nibble is the tries left.
    TRIES_LEFT_0 = 0x63C0
    WRONG_VALUE_NO_COUNTER = 0x6300
    SET_SESSION_KEY_NOT_CONFIGURED = 0x66F1
    WRONG_LENGTH = 0x6700
    LOGICAL_CHANNEL_NOT_SUPPORTED = 0x6881
    SM_NOT_SUPPORTED = 0x6882
    INCOMPATIBLE_FILE_STRUCTURE = 0x6981
    SECURITY_STATUS_NOT_SATISFIED = 0x6982
    AUTHENTICATION_METHOD_BLOCKED = 0x6984
    CONDITIONS_OF_USE_NOT_SATISFIED = 0x6985
    COMMAND_NOT_ALLOWED_NO_CURRENT_EF = 0x6986
    SM_DATA_OBJECTS_MISSING = 0x6987
    SM_DATA_OBJECTS_INCORRECT = 0x6988
    SM_SESSION_INVALID = 0x69FC
    INCORRECT_DATA = 0x6A80
    FUNCTION_NOT_SUPPORTED = 0x6A81
    FILE_NOT_FOUND = 0x6A82
    RECORD_NOT_FOUND = 0x6A83
    INCORRECT_P1_P2 = 0x6A86
    REFERENCED_DATA_NOT_FOUND = 0x6A88
    WRONG_OFFSET = 0x6B00
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00
    NO_PRECISE_DIAGNOSIS = 0x6F00


def is_tries_left(sw: int) -> bool:
    """`63Cx`: a counter report (wrong secret or the VERIFY query)."""
    return sw & 0xFFF0 == 0x63C0


def tries_left(sw: int) -> int:
    """The x of `63Cx`."""
    return sw & 0x0F


def describe(sw: int) -> str:
    """`6A82 (FILE_NOT_FOUND)` for messages; unknown words as plain hex."""
    if is_tries_left(sw):
        return f"{sw:04X} ({tries_left(sw)} tries left)"
    try:
        return f"{sw:04X} ({SW(sw).name})"
    except ValueError:
        return f"{sw:04X}"
