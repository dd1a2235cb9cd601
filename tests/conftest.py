"""Suite-wide plugins: a real PostgreSQL server for the services' store tests (service/pg_testing.py),
and `open_umask` for the tests of file modes."""

import os
from collections.abc import Iterator

import pytest

pytest_plugins = ["mynacard.service.pg_testing"]


def pytest_addoption(parser) -> None:
    parser.addoption(
        "--pull-cycles", type=int, default=10, metavar="N",
        help="pull-mid-command / re-insert cycles of tests/e2e/test_e2e_pull_cycles.py (default 10; "
             "docs/emulator.md reports the 200-cycle run)")


@pytest.fixture
def open_umask() -> Iterator[None]:
    """umask 022 (the common default) for the test: a file meant to be private must be created
    0600 by the code itself, not thanks to a strict umask of the machine running the tests."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)
