"""Suite-wide plugins: a real PostgreSQL server for the services' store tests (service/pg_testing.py)."""

pytest_plugins = ["mynacard.service.pg_testing"]


def pytest_addoption(parser) -> None:
    parser.addoption(
        "--pull-cycles", type=int, default=10, metavar="N",
        help="pull-mid-command / re-insert cycles of tests/e2e/test_e2e_pull_cycles.py (default 10; "
             "docs/emulator.md reports the 200-cycle run)")
