"""Errors a person can act on: PC/SC failures, damaged data (no reader or card needed)."""

from __future__ import annotations

import pytest
from smartcard import scard

from mynacard.codec import tlv
from mynacard.host import pcsc
from mynacard.host.errors import (
    CardDataError,
    CardRemoved,
    NoCard,
    NoReader,
    PcscUnavailable,
    ReaderBusy,
)
from mynacard.host.records import offset_table_elements, tlv_map
from mynacard.main import main


@pytest.mark.parametrize("code, kind, words", [
    (scard.SCARD_E_NO_SERVICE, PcscUnavailable, "pcscd) is not running"),
    (scard.SCARD_E_NO_READERS_AVAILABLE, NoReader, "plug one in"),
    (scard.SCARD_E_UNKNOWN_READER, NoReader, "mynacard card readers"),
    (scard.SCARD_E_NO_SMARTCARD, NoCard, "insert the My Number Card"),
    (scard.SCARD_W_REMOVED_CARD, CardRemoved, "put it back"),
    (scard.SCARD_W_UNRESPONSIVE_CARD, NoCard, "right way round"),
    (scard.SCARD_E_SHARING_VIOLATION, ReaderBusy, "close it"),
])
def test_pcsc_errors_are_sentences(code, kind, words) -> None:
    error = pcsc.pcsc_error(code, "Reader 0", "reading the card")
    assert isinstance(error, kind) and words in str(error)


def test_cli_without_pcscd(capsys, monkeypatch) -> None:
    """No pcscd: one sentence, exit 1, no traceback."""
    monkeypatch.setattr(pcsc.scard, "SCardEstablishContext",
                        lambda scope: (scard.SCARD_E_NO_SERVICE, 0))
    assert main(["card", "readers"]) == 1
    assert main(["card", "status"]) == 1
    err = capsys.readouterr().err
    assert err.count("pcscd) is not running") == 2 and "Traceback" not in err


def _facts(offsets: list[int]) -> bytes:
    body = b"".join(bytes.fromhex(h) for h in ("DF220141", "DF230142", "DF24083139383530343132",
                                               "DF250132"))
    table = bytes.fromhex("DF2108") + b"".join(o.to_bytes(2, "big") for o in offsets)
    value = table + body
    return bytes.fromhex("FF20") + bytes([len(value)]) + value + b"\xff\xff"


def test_offset_table_is_followed_and_checked() -> None:
    """CI §7.2: DF21 holds the offsets of DF22..DF25 from the start of the EF."""
    good = _facts([14, 18, 22, 33])
    outer, children = tlv_map(good, 0xFF20, "facts")
    found = offset_table_elements(good, children, 0xDF22, "facts")
    assert [e.tag for e in found.values()] == [0xDF22, 0xDF23, 0xDF24, 0xDF25]
    assert found[0xDF24].value == b"19850412"
    bad = _facts([14, 18, 23, 33])
    _outer, children = tlv_map(bad, 0xFF20, "facts")
    with pytest.raises(CardDataError, match="does not point at"):
        offset_table_elements(bad, children, 0xDF22, "facts")


def test_malformed_record_names_the_place() -> None:
    with pytest.raises(CardDataError, match="integrity record .* not FF30"):
        tlv_map(bytes.fromhex("FF20020000"), 0xFF30, "the integrity record")
    with pytest.raises(tlv.TlvError):
        tlv.total_size(b"\xff")
