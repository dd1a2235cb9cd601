"""Alembic migrations of the register store (version table `register_alembic_version`), run by
`mynacard.service.migrations`."""
