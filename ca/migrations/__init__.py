"""Alembic migrations of the CA store (version table `ca_alembic_version`), run by `mynacard.service.migrations`."""
