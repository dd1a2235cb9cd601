"""Status words the card answers with (card-interface.md §3).

Kept as an IntEnum so that the card model, its tests and its traces speak the same names, while
the wire stays two bytes.
"""

from __future__ import annotations

from enum import IntEnum


class SW(IntEnum):
    OK = 0x9000
    #: 63Cx: wrong secret or the VERIFY query; `SW.tries_left(x)` builds it.
    TRIES_LEFT_0 = 0x63C0
    WRONG_LENGTH = 0x6700
    INCOMPATIBLE_FILE_STRUCTURE = 0x6981
    SECURITY_STATUS_NOT_SATISFIED = 0x6982
    AUTHENTICATION_METHOD_BLOCKED = 0x6984
    CONDITIONS_OF_USE_NOT_SATISFIED = 0x6985
    COMMAND_NOT_ALLOWED = 0x6986
    SM_DATA_OBJECTS_MISSING = 0x6987
    SM_DATA_OBJECTS_INCORRECT = 0x6988
    SM_NOT_SUPPORTED = 0x6882
    LOGICAL_CHANNEL_NOT_SUPPORTED = 0x6881
    CHAINING_NOT_SUPPORTED = 0x6884
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
    SET_SESSION_KEY_NOT_CONFIGURED = 0x66F1

    @staticmethod
    def tries_left(tries: int) -> int:
        """`63Cx`: the answer to a wrong secret and to the VERIFY query (x ≤ 15)."""
        return 0x63C0 | min(tries, 0x0F)
