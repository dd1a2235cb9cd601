"""The CA store: certificates, their events, CRL numbering, API tokens.

Revision ID: ca_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ca_0001"
down_revision = None
branch_labels = ("ca",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ca_certificates",
        sa.Column("ca", sa.String(8), nullable=False),
        sa.Column("serial", sa.BigInteger, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("issuance_id", sa.String(64), nullable=False),
        sa.Column("municipality_code", sa.String(8), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resident_id", sa.String(100)),
        sa.Column("card_serial", sa.String(32)),
        sa.Column("der", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("reason", sa.String(32)),
        sa.Column("cause", sa.Text),
        sa.Column("invalidity_date", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("ca", "serial", name="ca_certificates_pk"),
    )
    # Covers the CRL query (revoked and held certificates in serial order) without touching the
    # wide rows that hold the DER: 100,000 entries read in a fraction of a second.
    op.create_index("ca_certificates_status", "ca_certificates",
                    ["ca", "status", "serial", "revoked_at", "reason", "invalidity_date"])
    op.create_index("ca_certificates_resident", "ca_certificates", ["resident_id"])
    op.create_index("ca_certificates_card", "ca_certificates", ["card_serial"])
    op.create_table(
        "ca_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ca", sa.String(8), nullable=False),
        sa.Column("serial", sa.BigInteger, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32)),
        sa.Column("cause", sa.Text),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(["ca", "serial"], ["ca_certificates.ca", "ca_certificates.serial"]),
    )
    op.create_index("ca_events_certificate", "ca_events", ["ca", "serial"])
    crl_state = op.create_table(
        "ca_crl_state",
        sa.Column("ca", sa.String(8), primary_key=True),
        sa.Column("number", sa.BigInteger, nullable=False),
        sa.Column("this_update", sa.DateTime(timezone=True)),
    )
    # One counter row per CA from the start, so taking a number is a single atomic UPDATE.
    op.bulk_insert(crl_state, [{"ca": "sign", "number": 0}, {"ca": "auth", "number": 0}])
    op.create_table(
        "ca_api_tokens",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
