"""The centre's ledger of issued documents and its restrictions.

Revision ID: centre_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mynacard.register_stub.models import UtcDateTime

revision = "centre_0001"
down_revision = None
branch_labels = ("centre",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "register_centre_transactions",
        sa.Column("transaction_id", sa.String(64), primary_key=True),
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        sa.Column("session_digest", sa.String(64), nullable=False),
        sa.Column("resident_code", sa.String(11), nullable=False, index=True),
        sa.Column("municipality_code", sa.String(5), nullable=False),
        sa.Column("document", sa.String(20), nullable=False),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("copies", sa.Integer, nullable=False),
        sa.Column("fee", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("verification_code", sa.String(19), nullable=False, unique=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("cancel_reason", sa.String(40)),
        sa.Column("issued_at", UtcDateTime(), nullable=False),
        sa.Column("settled_at", UtcDateTime()),
    )
    op.create_table(
        "register_centre_restrictions",
        sa.Column("resident_code", sa.String(11), primary_key=True),
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
    )
