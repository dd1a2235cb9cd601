"""Writers of one SQLite file take turns (service/sqlite_writers.py): a second holder — another
store on the file, as another worker process has — waits for the first instead of napping in
SQLite's busy handler, and gets its turn as soon as the first lets go."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from mynacard.service.sqlite_writers import WriterTurns


def test_a_second_holder_on_the_same_file_waits_for_the_first_and_then_goes(tmp_path: Path) -> None:
    first, second = WriterTurns(tmp_path / "r.sqlite3"), WriterTurns(tmp_path / "r.sqlite3")
    got = threading.Event()

    def write() -> None:
        with second.turn():
            got.set()

    with first.turn():
        waiting = threading.Thread(target=write)
        waiting.start()
        assert not got.wait(0.3)  # held by the first
        released = time.monotonic()
    assert got.wait(5)
    assert time.monotonic() - released < 0.1  # woken, not a busy-handler nap later
    waiting.join(5)
    first.close()
    second.close()


def takes_a_turn(turns: WriterTurns, within: float) -> bool:
    """Whether a thread gets a turn within `within` seconds."""
    got = threading.Event()

    def write() -> None:
        with turns.turn():
            got.set()

    threading.Thread(target=write, daemon=True).start()
    return got.wait(within)


def test_a_failed_transaction_gives_its_turn_back(tmp_path: Path) -> None:
    turns = WriterTurns(tmp_path / "r.sqlite3")
    try:
        with turns.turn():
            raise RuntimeError("the transaction failed")
    except RuntimeError:
        pass
    assert takes_a_turn(WriterTurns(tmp_path / "r.sqlite3"), 2)
    assert takes_a_turn(turns, 2)


def test_without_a_file_the_threads_of_a_process_still_take_turns() -> None:
    turns = WriterTurns(None)
    with turns.turn():
        assert not takes_a_turn(turns, 0.3)
    assert takes_a_turn(turns, 2)
