"""The centre's tables, in the register's database but on their own metadata and migration chain
(`register_centre_*`): what was issued (the ledger) and the restrictions that stop issuance."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mynacard.register_stub.models import UtcDateTime

metadata = MetaData()


class Base(DeclarativeBase):
    metadata = metadata


class IssuedDocument(Base):
    """One transaction: the document issued for it, bound to its session and resident.

    Nothing personal beyond the resident code is kept: the PDF itself is not stored, only its
    SHA-256, which `GET /v1/verify/{code}` returns to whoever holds the paper.
    """

    __tablename__ = "register_centre_transactions"

    transaction_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kiosk_id: Mapped[str] = mapped_column(String(64))
    #: SHA-256 of the session id (the id itself is a bearer secret of the kiosk).
    session_digest: Mapped[str] = mapped_column(String(64))
    resident_code: Mapped[str] = mapped_column(String(11), index=True)
    municipality_code: Mapped[str] = mapped_column(String(5))
    document: Mapped[str] = mapped_column(String(20))
    scope: Mapped[str] = mapped_column(String(20))
    options: Mapped[list[str]] = mapped_column(JSON)
    copies: Mapped[int] = mapped_column(Integer)
    fee: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    verification_code: Mapped[str] = mapped_column(String(19), unique=True)
    #: issued → settled, or cancelled (also after settle: the kiosk refunded)
    status: Mapped[str] = mapped_column(String(10))
    cancel_reason: Mapped[str | None] = mapped_column(String(40))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Restriction(Base):
    """A stop on convenience-store issuance the register's items do not show (§6.2):
    `support_measure` (DV/stalking 支援措置) or `gaiji_pending` (a 外字 being registered)."""

    __tablename__ = "register_centre_restrictions"

    resident_code: Mapped[str] = mapped_column(String(11), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(100))
