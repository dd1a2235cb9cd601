"""The CA store's tables as SQLAlchemy Core objects (for queries; migrations create them).

Kept in step with `migrations/versions/`: a test compares the migrated database with this
metadata, so a column added here without a migration fails the suite.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from mynacard.service.auth import token_table

metadata = MetaData()

certificates = Table(
    "ca_certificates",
    metadata,
    Column("ca", String(8), nullable=False),
    Column("serial", BigInteger, nullable=False),
    Column("subject", Text, nullable=False),
    Column("issuance_id", String(64), nullable=False),
    Column("municipality_code", String(8), nullable=False),
    Column("not_before", DateTime(timezone=True), nullable=False),
    Column("not_after", DateTime(timezone=True), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("resident_id", String(100)),
    Column("card_serial", String(32)),
    Column("der", LargeBinary, nullable=False),
    Column("status", String(8), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("reason", String(32)),
    Column("cause", Text),
    Column("invalidity_date", DateTime(timezone=True)),
    PrimaryKeyConstraint("ca", "serial", name="ca_certificates_pk"),
)

events = Table(
    "ca_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ca", String(8), nullable=False),
    Column("serial", BigInteger, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("action", String(16), nullable=False),
    Column("reason", String(32)),
    Column("cause", Text),
    Column("actor", String(100), nullable=False),
    ForeignKeyConstraint(["ca", "serial"], ["ca_certificates.ca", "ca_certificates.serial"]),
)

crl_state = Table(
    "ca_crl_state",
    metadata,
    Column("ca", String(8), primary_key=True),
    Column("number", BigInteger, nullable=False),
    Column("this_update", DateTime(timezone=True)),
)

api_tokens = token_table(metadata, "ca")
