"""Suite-wide plugins: a real PostgreSQL server for the services' store tests (service/pg_testing.py)."""

pytest_plugins = ["mynacard.service.pg_testing"]
