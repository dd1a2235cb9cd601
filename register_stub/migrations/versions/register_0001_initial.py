"""The register store: residents and their versions, households, numbers, events and their
revocation outbox, cards and certificates, access records, portal sessions, API tokens.

Revision ID: register_0001
Revises:

This first revision creates the tables as `mynacard.register_stub.models` declares them at this
revision; later revisions must use explicit `op.*` steps. On PostgreSQL, residents and their
versions are hash-partitioned by 住民票コード into `RESIDENT_PARTITIONS` partitions
(docs/register.md, "PostgreSQL").
"""

from __future__ import annotations

from alembic import op

from mynacard.register_stub.models import RESIDENT_PARTITIONS, metadata

revision = "register_0001"
down_revision = None
branch_labels = ("register",)
depends_on = None

PARTITIONED = ("register_residents", "register_resident_versions")


def upgrade() -> None:
    bind = op.get_bind()
    metadata.create_all(bind, checkfirst=False)
    if bind.dialect.name == "postgresql":
        for table in PARTITIONED:
            for remainder in range(RESIDENT_PARTITIONS):
                op.execute(
                    f"CREATE TABLE {table}_p{remainder:02d} PARTITION OF {table} "
                    f"FOR VALUES WITH (MODULUS {RESIDENT_PARTITIONS}, REMAINDER {remainder})"
                )
    op.execute(
        "INSERT INTO register_pool_cursor (id, next_base) VALUES (1, 2000000000)"
    )
