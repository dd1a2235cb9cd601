"""Kiosk challenges and sessions in the database, so every worker process of `mynacard serve` knows them.

Revision ID: centre_0002
Revises: centre_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "centre_0002"
down_revision = "centre_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "register_centre_sessions",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("kiosk_id", sa.String(200), nullable=False),
        sa.Column("resident_code", sa.String(11)),
        sa.Column("auth_serial", sa.String(40)),
        sa.Column("challenge", sa.LargeBinary),
        sa.Column("expires", sa.Float, nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("register_centre_sessions")
