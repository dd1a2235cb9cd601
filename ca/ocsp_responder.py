"""The OCSP responder (RFC 6960, with the RFC 5019/9919 profile for HTTP GET and caching).

Answers are signed by each CA's delegated responder (`identity.py`), never the CA key, and
pre-signed: the first request for a certificate signs an answer valid for `OcspPolicy.validity`
(nextUpdate), later requests get the same bytes until it is `refresh` old, when it is signed anew
from the store. A revocation, hold or release drops that certificate's answers in this process at
once; a change made by another process (e.g. a second server on the same PostgreSQL) shows
within `refresh` (60 s by default). HTTP caches are told the same bound (max-age ≤ refresh).
Status is read from the PostgreSQL standby when there is one (`--read-db`): then another
process's change shows within `refresh` plus the replication lag; this process's own changes are
read from the primary until the standby has replayed them (`service/standby.py`).

A request carrying a nonce (RFC 9654, 1–32 octets) gets a freshly signed answer that echoes it;
nonces of other lengths are ignored, as RFC 9654 §2.1 allows. Errors are OCSP statuses, never
an HTTP 500: `malformedRequest` for anything that is not one well-formed single request with a
supported hash; `unauthorized` for an issuer this responder does not serve (RFC 5019 §2.2.3);
`internalError` if the store fails. A serial the CA never issued is `unknown`.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from sqlalchemy.exc import SQLAlchemyError

from mynacard.ca.errors import AuthorityError
from mynacard.ca.revocation_reasons import HOLD
from mynacard.ca.service import CaService, ServedCa
from mynacard.ca.store import GOOD, NotFound

MALFORMED_REQUEST, INTERNAL_ERROR, UNAUTHORIZED = 1, 2, 6
ERROR_NAMES = {MALFORMED_REQUEST: "malformedRequest", INTERNAL_ERROR: "internalError", UNAUTHORIZED: "unauthorized"}
#: Hashes a request may identify the issuer with (RFC 5019 requires SHA-1; RFC 9919 adds SHA-256).
HASHES: tuple[hashes.HashAlgorithm, ...] = (hashes.SHA1(),  # noqa: S303 - CertID hash, RFC 5019 mandates it
                                             hashes.SHA256(), hashes.SHA384(), hashes.SHA512())
NONCE_LENGTHS = range(1, 33)
#: 発行番号 are 63-bit (jpki_ca.SERIAL_BITS); the store's BIGINT holds nothing larger.
MAX_STORED_SERIAL = 2**63
REASONS = {flag.value: flag for flag in x509.ReasonFlags}


def unsuccessful(status: int) -> bytes:
    """OCSPResponse with only responseStatus (no responseBytes): `30 03 0A 01 <status>`."""
    return bytes((0x30, 0x03, 0x0A, 0x01, status))


@dataclass(frozen=True)
class OcspPolicy:
    """Timing of answers: nextUpdate = thisUpdate + `validity`; re-signed after `refresh`."""

    validity: timedelta = timedelta(minutes=15)
    refresh: timedelta = timedelta(seconds=60)
    max_cached: int = 500_000

    def __post_init__(self) -> None:
        if not timedelta(0) < self.refresh < self.validity:
            raise AuthorityError("the OCSP refresh interval must be shorter than the answers' validity")


@dataclass(frozen=True)
class OcspAnswer:
    """An answer and what HTTP needs to serve it."""

    der: bytes
    detail: str
    this_update: datetime | None = None
    next_update: datetime | None = None
    cacheable: bool = False

    @property
    def successful(self) -> bool:
        return self.this_update is not None

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.der).hexdigest()[:32] + '"'


def _error(status: int, detail: str) -> OcspAnswer:
    return OcspAnswer(unsuccessful(status), f"{ERROR_NAMES[status]}: {detail}")


class OcspQuestion(NamedTuple):
    """One well-formed request for a certificate of a CA served here."""

    served: ServedCa
    serial: int
    algorithm: hashes.HashAlgorithm
    issuer_name_hash: bytes
    issuer_key_hash: bytes
    nonce: bytes | None


@dataclass(frozen=True)
class _Signed:
    answer: OcspAnswer
    #: the certificate's change counter when its status was read
    version: int


class OcspResponder:
    """Answers for every CA of one `CaService`."""

    def __init__(self, service: CaService, policy: OcspPolicy | None = None) -> None:
        self.service = service
        self.policy = policy or OcspPolicy()
        # (algorithm name, issuer name hash, issuer key hash) -> CA id
        self._issuers: dict[tuple[str, bytes, bytes], str] = {}
        for ca_id, served in service.cas.items():
            name_der = served.certificate.subject.public_bytes()
            key_der = served.certificate.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.PKCS1
            )
            for algorithm in HASHES:
                self._issuers[(algorithm.name, _digest(algorithm, name_der), _digest(algorithm, key_der))] = ca_id
        self._cache: dict[tuple[str, int, str], _Signed] = {}
        self._changes: dict[tuple[str, int], int] = {}
        self._counter = 0
        self._lock = threading.Lock()
        service.on_change(self._changed)

    def _changed(self, ca_id: str, serial: int) -> None:
        with self._lock:
            self._counter += 1
            self._changes[(ca_id, serial)] = self._counter
            for algorithm in HASHES:
                self._cache.pop((ca_id, serial, algorithm.name), None)

    def forget(self) -> None:
        """Drop every pre-signed answer (the signer changed); the next requests sign anew."""
        with self._lock:
            self._cache.clear()

    def answer(self, ca_id: str | None, der: bytes, now: datetime | None = None) -> OcspAnswer:
        """The DER answer to one request sent to the CA `ca_id`'s URL (None: any served CA)."""
        question = self.question(ca_id, der)
        return question if isinstance(question, OcspAnswer) else self.answer_question(question, now)

    def question(self, ca_id: str | None, der: bytes) -> OcspQuestion | OcspAnswer:
        """The request understood, or the error answer it gets (cheap: no store, no signature)."""
        try:
            request = ocsp.load_der_ocsp_request(der)
            algorithm = request.hash_algorithm
            key = (algorithm.name, request.issuer_name_hash, request.issuer_key_hash)
            serial = request.serial_number
            extensions = request.extensions
        except UnsupportedAlgorithm:
            return _error(MALFORMED_REQUEST, "the issuer hash algorithm is not supported (use SHA-1 or SHA-256)")
        except NotImplementedError:
            return _error(MALFORMED_REQUEST, "only one certificate per request is supported")
        except ValueError:
            return _error(MALFORMED_REQUEST, "the body is not a DER OCSPRequest")
        if serial < 0:
            return _error(MALFORMED_REQUEST, "the serial number is negative (RFC 5280 §4.1.2.2)")
        issuer = self._issuers.get(key)
        if issuer is None or (ca_id is not None and issuer != ca_id):
            where = f"the {ca_id} CA" if ca_id else "a CA served here"
            return _error(UNAUTHORIZED, f"the request's issuer is not {where}")
        nonce = None
        try:
            nonce_value = extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
            if len(nonce_value) in NONCE_LENGTHS:
                nonce = nonce_value
        except x509.ExtensionNotFound:
            pass
        return OcspQuestion(self.service.cas[issuer], serial, algorithm, key[1], key[2], nonce)

    def cached(self, question: OcspQuestion, now: datetime | None = None) -> OcspAnswer | None:
        """The pre-signed answer, if there is a fresh one (never for a nonce: it must be echoed)."""
        if question.nonce is not None:
            return None
        cached = self._cache.get((question.served.id, question.serial, question.algorithm.name))
        if (
            cached is not None
            and cached.answer.this_update is not None
            and (now or datetime.now(UTC)) - cached.answer.this_update < self.policy.refresh
            and cached.version >= self._changes.get((question.served.id, question.serial), 0)
        ):
            return cached.answer
        return None

    def answer_question(self, question: OcspQuestion, now: datetime | None = None) -> OcspAnswer:
        """From the cache, else read the store and sign (may block: HTTP runs it in a thread)."""
        moment = now or datetime.now(UTC)
        cached = self.cached(question, moment)
        if cached is not None:
            return cached
        try:
            return self._fresh_answer(question, moment)
        except SQLAlchemyError:
            return _error(INTERNAL_ERROR, "the certificate store could not be read; try again")

    def _fresh_answer(self, question: OcspQuestion, moment: datetime) -> OcspAnswer:
        served, serial = question.served, question.serial
        cache_key = (served.id, serial, question.algorithm.name)
        version = self._counter
        answer = self._sign(question, moment)
        if question.nonce is None:
            with self._lock:
                if len(self._cache) >= self.policy.max_cached:
                    self._cache.clear()
                self._cache[cache_key] = _Signed(answer, version)
        return answer

    def _sign(self, question: OcspQuestion, moment: datetime) -> OcspAnswer:
        served, serial, nonce = question.served, question.serial, question.nonce
        this_update = moment.replace(microsecond=0)
        next_update = this_update + self.policy.validity
        revocation_time: datetime | None = None
        reason: x509.ReasonFlags | None = None
        try:
            if not 0 < serial < MAX_STORED_SERIAL:
                raise NotFound("outside the serials this CA issues")  # and outside what the store's column holds
            record = self.service.store.get(served.id, serial, from_standby=True)
        except NotFound:
            status, detail = ocsp.OCSPCertStatus.UNKNOWN, "unknown: not issued by this CA"
        else:
            if record.status == GOOD or record.revocation is None:
                status, detail = ocsp.OCSPCertStatus.GOOD, "good"
            else:
                status = ocsp.OCSPCertStatus.REVOKED
                revocation_time = record.revocation.time
                reason = REASONS.get(record.revocation.reason, x509.ReasonFlags.unspecified)
                detail = "revoked: " + (HOLD if record.revocation.reason == HOLD else record.revocation.reason)
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response_by_hash(
                issuer_name_hash=question.issuer_name_hash,
                issuer_key_hash=question.issuer_key_hash,
                serial_number=serial,
                algorithm=question.algorithm,
                cert_status=status,
                this_update=this_update,
                next_update=next_update,
                revocation_time=revocation_time,
                revocation_reason=reason,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, served.responder.certificate)
            .certificates([served.responder.certificate])
        )
        if nonce is not None:
            builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
        response = builder.sign(served.responder.key, hashes.SHA256())
        return OcspAnswer(
            response.public_bytes(serialization.Encoding.DER), detail, this_update, next_update, cacheable=nonce is None
        )


def _digest(algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    digest = hashes.Hash(algorithm)
    digest.update(data)
    return digest.finalize()
