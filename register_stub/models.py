"""The register's tables (SQLAlchemy 2 ORM); the Alembic migration in `migrations/` creates them.

Every table is prefixed `register_` so the register can share a database with the CA without
touching its tables (DESIGN.md: services never reach into each other's tables).

- A resident (`register_residents`) is keyed by the 住民票コード: PostgreSQL partitions residents
  and their versions by hash of that code (docs/register.md).
- The 住民票 items (住基法 第7条, 30条の45 for foreign residents) live in `register_resident_versions`:
  a correction adds a version, nothing is overwritten; `current_version` points at the newest.
- My Numbers live in their own uniqueness table (`register_my_numbers`): the number is the
  primary key, rows are never deleted, so a number once issued (retired included) is never
  issued again.
- An event (`register_events`) and the revocations it causes (`register_revocations`, the
  transactional outbox) commit together; a worker delivers the revocations to the CA service.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from mynacard.service.auth import token_table

metadata = MetaData()

#: How many hash partitions PostgreSQL splits residents and their versions into.
RESIDENT_PARTITIONS = 16


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite returns naive ones otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: Big integer ids (SQLite's autoincrement needs INTEGER).
BigId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    metadata = metadata


def table(model: type[Base]) -> Table:
    """The Core table of a model: bulk inserts through it skip the ORM's per-row work."""
    return cast(Table, model.__table__)


#: `register_api_tokens`: the register's own API tokens (roles admin, clerk, centre).
api_tokens = token_table(metadata, "register")


class CodePool(Base):
    """A block of 住民票コード bases handed to one municipality (jpki-system.md §4.2).

    Pools are contiguous, non-overlapping ranges [first_base, first_base + size) of a virtual
    10-digit base space, cut from one cursor (`PoolCursor`) so no two ever overlap. Inside a
    pool the k-th code issued has the virtual base `first_base + (k·stride mod size)` with
    `stride` coprime to `size` (every slot once, not counting up), and the code's base is
    `code_permutation.scatter` of it under the register's code key (a bijection spreading pools
    over the whole space).
    """

    __tablename__ = "register_code_pools"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    municipality_code: Mapped[str] = mapped_column(String(5), index=True)
    first_base: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int] = mapped_column(BigInteger)
    stride: Mapped[int] = mapped_column(BigInteger)
    issued: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PoolCursor(Base):
    """One row: the next unallocated base. Locked by every pool allocation."""

    __tablename__ = "register_pool_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_base: Mapped[int] = mapped_column(BigInteger)


class Household(Base):
    __tablename__ = "register_households"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    municipality_code: Mapped[str] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Resident(Base):
    """One person's record: its identity (the code) and its state; the items are in versions."""

    __tablename__ = "register_residents"
    __table_args__ = {"postgresql_partition_by": "HASH (resident_code)"}

    resident_code: Mapped[str] = mapped_column(String(11), primary_key=True)
    municipality_code: Mapped[str] = mapped_column(String(5))
    kind: Mapped[str] = mapped_column(String(8))  # japanese | foreign
    #: active | moving-out | deleted (death, emigration: the record is 消除, kept for history)
    status: Mapped[str] = mapped_column(String(12))
    deleted_reason: Mapped[str | None] = mapped_column(String(20))
    current_version: Mapped[int] = mapped_column(Integer)
    #: The date by which the card's continuation (or the 転入届) must happen (§2.1); None: none due.
    continuation_deadline: Mapped[date | None] = mapped_column(Date)
    #: What is due by that date: "move-in-notice" or "continuation".
    continuation_due: Mapped[str | None] = mapped_column(String(20))
    planned_move_out: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ResidentVersion(Base):
    """The 住民票 items as of one version (住基法 第7条; foreign residents 30条の45)."""

    __tablename__ = "register_resident_versions"
    __table_args__ = {"postgresql_partition_by": "HASH (resident_code)"}

    resident_code: Mapped[str] = mapped_column(
        String(11), ForeignKey("register_residents.resident_code"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int | None] = mapped_column(BigInteger)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    valid_from: Mapped[date] = mapped_column(Date)
    # (1)–(3) the four facts but the address
    family_name: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))
    # (4) household: the head is marked; others carry the relationship (続柄) to the head
    household_id: Mapped[int] = mapped_column(Integer, ForeignKey("register_households.id"), index=True)
    relationship: Mapped[str] = mapped_column(String(20))  # 世帯主, 妻, 子, 同居人, …
    # (5) 本籍 and 筆頭者 (Japanese residents only)
    honseki: Mapped[str | None] = mapped_column(String(200))
    hittosha: Mapped[str | None] = mapped_column(String(100))
    # (6)–(8) dates and addresses
    became_resident_on: Mapped[date] = mapped_column(Date)
    address: Mapped[str] = mapped_column(String(200))
    address_set_on: Mapped[date | None] = mapped_column(Date)
    notice_date: Mapped[date | None] = mapped_column(Date)
    previous_address: Mapped[str | None] = mapped_column(String(200))
    # 旧氏 (since 2019-11-05) and 通称 (foreign residents)
    old_surname: Mapped[str | None] = mapped_column(String(100))
    alias_name: Mapped[str | None] = mapped_column(String(100))
    # foreign residents' own items (30条の45)
    nationality: Mapped[str | None] = mapped_column(String(60))
    foreign_category: Mapped[str | None] = mapped_column(String(40))
    residence_status: Mapped[str | None] = mapped_column(String(60))
    period_of_stay: Mapped[str | None] = mapped_column(String(40))
    stay_expires_on: Mapped[date | None] = mapped_column(Date)
    residence_card_number: Mapped[str | None] = mapped_column(String(12))
    became_foreign_resident_on: Mapped[date | None] = mapped_column(Date)
    # (9)–(11の2): electoral roll, NHI, late-elderly, long-term care, pension, child allowance
    welfare: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class MyNumber(Base):
    """Every My Number ever issued: the number is the key, rows are never deleted."""

    __tablename__ = "register_my_numbers"

    number: Mapped[str] = mapped_column(String(12), primary_key=True)
    resident_code: Mapped[str] = mapped_column(String(11), index=True)
    derivation: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    retired_reason: Mapped[str | None] = mapped_column(String(40))


class NumberCollision(Base):
    """A derivation whose number was already taken, so the next derivation was used."""

    __tablename__ = "register_number_collisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resident_code: Mapped[str] = mapped_column(String(11))
    derivation: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Event(Base):
    """One life event (or administrative act) with its date and cause; one transaction."""

    __tablename__ = "register_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    resident_code: Mapped[str] = mapped_column(String(11), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    event_date: Mapped[date] = mapped_column(Date)
    cause: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(100))
    version: Mapped[int | None] = mapped_column(Integer)
    #: Non-personal facts about the event (which items changed, deadlines); never values.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Revocation(Base):
    """The outbox: a revocation (or hold/release) the CA service must carry out for an event."""

    __tablename__ = "register_revocations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("register_events.id"), index=True)
    ca: Mapped[str] = mapped_column(String(8))
    serial: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(8))  # revoke | hold | release
    reason: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(10), index=True)  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Card(Base):
    """A card issued to a resident. Its keys went onto the card; only serials are kept here."""

    __tablename__ = "register_cards"

    card_serial: Mapped[str] = mapped_column(String(15), primary_key=True)
    resident_code: Mapped[str] = mapped_column(String(11), index=True)
    #: active | held (loss reported) | revoked (death, superseded by a reissue, lapsed)
    status: Mapped[str] = mapped_column(String(10))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_on: Mapped[date] = mapped_column(Date)
    replaces: Mapped[str | None] = mapped_column(String(15))


class Certificate(Base):
    """A JPKI certificate the CA service issued for one of the resident's cards (発行番号)."""

    __tablename__ = "register_certificates"

    ca: Mapped[str] = mapped_column(String(8), primary_key=True)
    serial: Mapped[str] = mapped_column(String(40), primary_key=True)
    card_serial: Mapped[str] = mapped_column(ForeignKey("register_cards.card_serial"), index=True)
    resident_code: Mapped[str] = mapped_column(String(11), index=True)
    status: Mapped[str] = mapped_column(String(10))  # good | hold | revoked (as ordered by us)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AccessRecord(Base):
    """Who read or changed whose personal data, when, why and what (アクセス記録)."""

    __tablename__ = "register_access_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    resident_code: Mapped[str | None] = mapped_column(String(11), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    purpose: Mapped[str] = mapped_column(Text)
    items: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(40))


class PortalChallenge(Base):
    __tablename__ = "register_portal_challenges"

    challenge: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class PortalSession(Base):
    """A resident logged in with their card: the session token is stored as its SHA-256."""

    __tablename__ = "register_portal_sessions"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    resident_code: Mapped[str] = mapped_column(String(11))
    auth_serial: Mapped[str] = mapped_column(String(40))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
