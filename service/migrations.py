"""Alembic migrations run from code: no alembic.ini, one version table per service.

Each service keeps its scripts in its own package (e.g. `mynacard/ca/migrations/versions/`) and
its own version table (`ca_alembic_version`), so several services can share one database.
The service's `env.py` is not needed: `upgrade` drives Alembic's runtime directly.
"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory
from sqlalchemy import Engine


def upgrade(engine: Engine, versions_dir: Path, version_table: str) -> str | None:
    """Bring the database to the newest revision in `versions_dir`; returns that revision.

    Each step runs in one transaction with its version-table update, so a crash leaves the
    database at a whole revision (on SQLite and PostgreSQL alike: both have transactional DDL).
    """
    config = Config()
    config.set_main_option("script_location", str(versions_dir.parent))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(versions_dir))
    scripts = ScriptDirectory.from_config(config)
    head = scripts.get_current_head()
    with engine.begin() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": version_table, "transactional_ddl": True}
        )
        current = context.get_current_revision()
        if current == head:
            return head
        steps = list(reversed(list(scripts.iterate_revisions(head, current))))
        with Operations.context(context):
            for script in steps:
                script.module.upgrade()
                context.stamp(scripts, script.revision)
    return head


def current_revision(engine: Engine, version_table: str) -> str | None:
    """The revision a database is at (None: never migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection, opts={"version_table": version_table}).get_current_revision()
