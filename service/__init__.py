"""service: plumbing shared by mynacard's HTTP services (CA, register, later the kiosk centre).

- `config`: `ServiceConfig`, the data directory and database URLs.
- `db`: `make_engine` (SQLite in WAL mode with full fsync, or PostgreSQL through psycopg 3).
- `migrations`: Alembic run from code, one version table per service.
- `auth`: API tokens (stored hashed) with roles, and the FastAPI dependency that checks them.
- `errors`: the one JSON error shape every 4xx answer uses.

Imports third-party libraries only, never another mynacard package, so every service can use it.
"""
