"""Alembic migrations of the centre's tables (version table `register_centre_alembic_version`),
run by `mynacard.service.migrations` on the register's database: the centre's tables are its own
chain, so the register's revisions and the centre's never interleave."""
