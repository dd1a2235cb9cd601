"""The CA's certificate store: every certificate issued, its status, and an event per change.

Nothing is ever deleted. Status moves good → hold → good (release) or good/hold → revoked; the
first revocation's time and reason are final. Every change writes its event row in the same
transaction as the status, so after a crash the two always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import Engine, RowMapping, func, select, text
from sqlalchemy.exc import IntegrityError

from mynacard.ca import store_schema as schema
from mynacard.ca.errors import AuthorityError
from mynacard.ca.jpki_ca import IssuedCertificate
from mynacard.ca.revocation_reasons import HOLD
from mynacard.service.db import reader
from mynacard.service.standby import StandbyReads

GOOD, REVOKED, HOLD_STATUS = "good", "revoked", "hold"
STATUSES = (GOOD, REVOKED, HOLD_STATUS)


class NotFound(AuthorityError):
    """No certificate with that serial at that CA."""


class Conflict(AuthorityError):
    """The change is not possible from the certificate's current status."""


@dataclass(frozen=True)
class Revocation:
    time: datetime
    reason: str
    cause: str | None
    invalidity_date: datetime | None


@dataclass(frozen=True)
class CertificateRecord:
    """One row of the store, as the API shows it."""

    ca: str
    serial: int
    subject: str
    issuance_id: str
    municipality_code: str
    not_before: datetime
    not_after: datetime
    issued_at: datetime
    resident_id: str | None
    card_serial: str | None
    der: bytes
    status: str
    revocation: Revocation | None

    @property
    def serial_hex(self) -> str:
        return f"{self.serial:X}"


class RevokedEntry(NamedTuple):
    """What a CRL needs of a revoked or held certificate (a tuple: a CRL makes 100,000 of them)."""

    serial: int
    time: datetime
    reason: str
    invalidity_date: datetime | None = None


def _utc(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back; everything stored is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _raw_utc(value: datetime | str) -> datetime:
    """A timestamp as the driver returns it: a string from SQLite, a datetime from PostgreSQL."""
    return _utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


def _utc_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else _utc(moment)


def _record(row: RowMapping) -> CertificateRecord:
    revocation = None
    if row["status"] != GOOD:
        revocation = Revocation(_utc(row["revoked_at"]), row["reason"], row["cause"],
                                _utc_or_none(row["invalidity_date"]))
    return CertificateRecord(
        ca=row["ca"],
        serial=row["serial"],
        subject=row["subject"],
        issuance_id=row["issuance_id"],
        municipality_code=row["municipality_code"],
        not_before=_utc(row["not_before"]),
        not_after=_utc(row["not_after"]),
        issued_at=_utc(row["issued_at"]),
        resident_id=row["resident_id"],
        card_serial=row["card_serial"],
        der=row["der"],
        status=row["status"],
        revocation=revocation,
    )


REVOKED_QUERY = text(
    "SELECT serial, revoked_at, reason, invalidity_date FROM ca_certificates "
    "WHERE ca = :ca AND status IN ('revoked', 'hold')"
)


class CertificateStore:
    """Reads and writes of the certificate tables (SQLite or PostgreSQL, through one engine).

    With a `standby`, OCSP's status reads (`get(…, from_standby=True)`) go to it; every other read
    stays on the primary, since it decides a write or answers the writer (read your writes).
    """

    def __init__(self, engine: Engine, standby: StandbyReads | None = None) -> None:
        self.engine = engine
        self.standby = standby

    def _wrote(self) -> None:
        if self.standby is not None:
            self.standby.wrote()

    def record_issued(
        self, ca: str, issued: IssuedCertificate, *, resident_id: str | None, card_serial: str | None, actor: str
    ) -> CertificateRecord:
        certificate = issued.certificate
        values = {
            "ca": ca,
            "serial": issued.serial,
            "subject": certificate.subject.rfc4514_string(),
            "issuance_id": issued.issuance_id,
            "municipality_code": issued.municipality_code,
            "not_before": certificate.not_valid_before_utc,
            "not_after": certificate.not_valid_after_utc,
            "issued_at": issued.issued_at,
            "resident_id": resident_id,
            "card_serial": card_serial,
            "der": issued.der,
            "status": GOOD,
        }
        try:
            with self.engine.begin() as connection:
                connection.execute(schema.certificates.insert().values(**values))
                connection.execute(
                    schema.events.insert().values(ca=ca, serial=issued.serial, at=issued.issued_at, action="issue", actor=actor)
                )
        except IntegrityError:
            raise Conflict(f"serial {issued.serial:X} is already taken at the {ca} CA; issue again") from None
        self._wrote()
        return self.get(ca, issued.serial)

    def get(self, ca: str, serial: int, *, from_standby: bool = False) -> CertificateRecord:
        """One certificate; `from_standby` for OCSP (the standby when there is one and it answers)."""
        table = schema.certificates
        query = select(table).where(table.c.ca == ca, table.c.serial == serial)
        if from_standby and self.standby is not None:
            row = self.standby.read(lambda connection: connection.execute(query).first())
        else:
            with reader(self.engine) as connection:
                row = connection.execute(query).first()
        if row is None:
            raise NotFound(f"the {ca} CA has issued no certificate with serial {serial:X}")
        return _record(row._mapping)

    def find(
        self,
        ca: str,
        *,
        resident_id: str | None = None,
        card_serial: str | None = None,
        status: str | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[CertificateRecord]:
        """Certificates in serial order, `limit` at a time from just after serial `after`."""
        table = schema.certificates
        query = select(table).where(table.c.ca == ca)
        if resident_id is not None:
            query = query.where(table.c.resident_id == resident_id)
        if card_serial is not None:
            query = query.where(table.c.card_serial == card_serial)
        if status is not None:
            query = query.where(table.c.status == status)
        if after is not None:
            query = query.where(table.c.serial > after)
        with reader(self.engine) as connection:
            rows = connection.execute(query.order_by(table.c.serial).limit(limit)).all()
        return [_record(row._mapping) for row in rows]

    def change_status(
        self,
        ca: str,
        serial: int,
        action: str,
        *,
        reason: str | None,
        cause: str | None,
        actor: str,
        invalidity_date: datetime | None = None,
        now: datetime | None = None,
    ) -> tuple[CertificateRecord, bool]:
        """Apply `revoke`, `hold` or `release`; returns the record and whether anything changed.

        revoke: good/hold → revoked (an already revoked certificate is returned unchanged);
        hold: good → hold (held again: unchanged); release: hold → good only.
        """
        now = (now or datetime.now(UTC)).replace(microsecond=0)
        # Stored as UTC: SQLite keeps a timestamp's digits and drops its zone.
        invalidity_date = invalidity_date.astimezone(UTC) if invalidity_date else None
        table = schema.certificates
        where = (table.c.ca == ca, table.c.serial == serial)
        with self.engine.begin() as connection:
            # FOR UPDATE: on PostgreSQL two concurrent revocations of one certificate serialise
            # here (SQLite's BEGIN IMMEDIATE already does); the second sees the first's result.
            row = connection.execute(select(table.c.status).where(*where).with_for_update()).first()
            if row is None:
                raise NotFound(f"the {ca} CA has issued no certificate with serial {serial:X}")
            status = row.status
            if action == "revoke":
                if status == REVOKED:
                    changed = None
                else:
                    changed = {"status": REVOKED, "revoked_at": now, "reason": reason, "cause": cause,
                               "invalidity_date": invalidity_date}
            elif action == "hold":
                if status == REVOKED:
                    raise Conflict(f"certificate {serial:X} is revoked; a revoked certificate cannot be held")
                changed = None if status == HOLD_STATUS else {
                    "status": HOLD_STATUS, "revoked_at": now, "reason": HOLD, "cause": cause, "invalidity_date": None}
            elif action == "release":
                if status != HOLD_STATUS:
                    raise Conflict(f"certificate {serial:X} is {status}; only a held certificate can be released")
                changed = {"status": GOOD, "revoked_at": None, "reason": None, "cause": None, "invalidity_date": None}
            else:
                raise AuthorityError(f"unknown status change {action!r}")
            if changed is not None:
                connection.execute(table.update().where(*where).values(**changed))
                connection.execute(
                    schema.events.insert().values(
                        ca=ca, serial=serial, at=now, action=action, reason=reason if action != "hold" else HOLD,
                        cause=cause, actor=actor,
                    )
                )
        if changed is not None:
            self._wrote()
        return self.get(ca, serial), changed is not None

    def revoked(self, ca: str) -> list[RevokedEntry]:
        """Every revoked or held certificate of `ca` (for the CRL), in serial order.

        Read from the covering index `ca_certificates_status` alone (never the wide rows with
        the DER), as raw driver values (SQLAlchemy's per-row type processing costs more than
        the query at 100,000 rows), and sorted here.
        """
        with reader(self.engine) as connection:
            rows = sorted(connection.execute(REVOKED_QUERY, {"ca": ca}), key=lambda row: int(row[0]))
        return [
            RevokedEntry(int(serial), _raw_utc(at), reason, None if invalid is None else _raw_utc(invalid))
            for serial, at, reason, invalid in rows
        ]

    def events(self, ca: str, serial: int) -> list[dict[str, object]]:
        table = schema.events
        with reader(self.engine) as connection:
            rows = connection.execute(
                select(table).where(table.c.ca == ca, table.c.serial == serial).order_by(table.c.id)
            ).all()
        return [
            {"at": _utc(r.at).isoformat(), "action": r.action, "reason": r.reason, "cause": r.cause, "actor": r.actor}
            for r in rows
        ]

    def last_change(self, ca: str) -> int:
        """The id of `ca`'s newest status change (0: none): a change counter every process of the
        database shares, so a CRL made in one worker knows a revocation made in another. Issuance
        is no status change (a CRL lists none of it); the index `ca_events_changes` finds the
        newest change without reading the issue events after it."""
        table = schema.events
        query = select(func.max(table.c.id)).where(table.c.ca == ca, table.c.action != "issue")
        with reader(self.engine) as connection:
            return int(connection.execute(query).scalar() or 0)

    def next_crl_number(self, ca: str, this_update: datetime) -> int:
        """Take the next CRL number of `ca` (monotonic, RFC 5280 §5.2.3) in one atomic UPDATE."""
        table = schema.crl_state
        with self.engine.begin() as connection:
            number = connection.execute(
                table.update()
                .where(table.c.ca == ca)
                .values(number=table.c.number + 1, this_update=this_update)
                .returning(table.c.number)
            ).scalar_one()
        return int(number)
