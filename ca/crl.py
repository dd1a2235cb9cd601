"""CRLs (RFC 5280 §5) for one CA, encoded directly as DER.

cryptography's `CertificateRevocationListBuilder` builds an object per entry and takes seconds
for 100,000 entries; a CRL is a flat list, so here it is written byte by byte instead (each entry
is ~35 bytes from a few concatenations), and only the signature goes through cryptography.

Profile: v2; sha256WithRSAEncryption by the CA key; issuer = the CA's subject; thisUpdate =
now, nextUpdate = now + `CrlPolicy.validity`; entries in serial order with reasonCode (and
invalidityDate when given); extensions authorityKeyIdentifier, cRLNumber (monotonic, kept in the
store) and a critical issuingDistributionPoint naming the CRL's URL with onlyContainsUserCerts,
the same URI the end-entity certificates carry in their cRLDistributionPoints. Held certificates
are listed with reason certificateHold; once released they are simply absent from the next CRL
(the full-CRL equivalent of removeFromCRL).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from sqlalchemy.exc import SQLAlchemyError

from mynacard.ca.errors import AuthorityError
from mynacard.ca.revocation_reasons import REASON_CODES
from mynacard.ca.service import CaService
from mynacard.ca.store import RevokedEntry
from mynacard.service.leader import LEADER_POLL
from mynacard.service.metrics import JOB_RUNS

SHA256_WITH_RSA = bytes.fromhex("300d06092a864886f70d01010b0500")
OID_AKI = bytes.fromhex("0603551d23")
OID_CRL_NUMBER = bytes.fromhex("0603551d14")
OID_IDP = bytes.fromhex("0603551d1c")
OID_REASON = bytes.fromhex("0603551d15")
OID_INVALIDITY = bytes.fromhex("0603551d18")
CRITICAL = bytes.fromhex("0101ff")

#: Signs a to-be-signed structure, returning the signature value.
SignFunction = Callable[[bytes], bytes]


def der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes((length,))
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(octets),)) + octets


def tlv(tag: int, value: bytes) -> bytes:
    return bytes((tag,)) + der_length(len(value)) + value


def der_integer(value: int) -> bytes:
    return tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def der_time(moment: datetime) -> bytes:
    """UTCTime through 2049, GeneralizedTime after (RFC 5280 §5.1.2.4)."""
    moment = moment.astimezone(UTC)
    if moment.year < 2050:
        return tlv(0x17, moment.strftime("%y%m%d%H%M%SZ").encode())
    return tlv(0x18, moment.strftime("%Y%m%d%H%M%SZ").encode())


def _extension(oid: bytes, value: bytes, critical: bool = False) -> bytes:
    return tlv(0x30, oid + (CRITICAL if critical else b"") + tlv(0x04, value))


#: reason name -> the DER of its entry extension (ENUMERATED inside an OCTET STRING).
_REASON_EXTENSIONS = {name: _extension(OID_REASON, tlv(0x0A, bytes((code,)))) for name, code in REASON_CODES.items()}


def _entry(entry: RevokedEntry) -> bytes:
    """One revokedCertificates element; the hot loop of a CRL, hence written out."""
    serial = entry.serial
    value = serial.to_bytes(serial.bit_length() // 8 + 1, "big")
    body = b"\x02" + bytes((len(value),)) + value + der_time(entry.time)
    extensions = b"" if entry.reason == "unspecified" else _REASON_EXTENSIONS[entry.reason]
    if entry.invalidity_date is not None:
        stamp = entry.invalidity_date.astimezone(UTC).strftime("%Y%m%d%H%M%SZ").encode()
        extensions += _extension(OID_INVALIDITY, tlv(0x18, stamp))
    if extensions:
        body += tlv(0x30, extensions)
    return tlv(0x30, body)


def encode_crl(
    ca_certificate: x509.Certificate,
    sign: SignFunction,
    entries: Iterable[RevokedEntry],
    *,
    number: int,
    this_update: datetime,
    next_update: datetime,
    crl_url: str,
) -> bytes:
    """The whole CertificateList, signed with `sign(tbs) -> signature`."""
    ski = ca_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    issuer = ca_certificate.subject.public_bytes()
    revoked = b"".join(_entry(entry) for entry in entries)
    idp = tlv(0x30, tlv(0xA0, tlv(0xA0, tlv(0x86, crl_url.encode("ascii")))) + tlv(0x81, b"\xff"))
    extensions = (
        _extension(OID_AKI, tlv(0x30, tlv(0x80, ski)))
        + _extension(OID_CRL_NUMBER, der_integer(number))
        + _extension(OID_IDP, idp, critical=True)
    )
    tbs = tlv(
        0x30,
        der_integer(1)
        + SHA256_WITH_RSA
        + issuer
        + der_time(this_update)
        + der_time(next_update)
        + (tlv(0x30, revoked) if revoked else b"")
        + tlv(0xA0, tlv(0x30, extensions)),
    )
    signature = sign(tbs)
    return tlv(0x30, tbs + SHA256_WITH_RSA + tlv(0x03, b"\x00" + signature))


@dataclass(frozen=True)
class CrlPolicy:
    """How long a CRL is valid (nextUpdate) and how often it is remade even without changes.

    JPKI publishes daily (jpki-system.md §2.3); we regenerate hourly by default and at once
    (on the next fetch) after any revocation, hold or release.
    """

    validity: timedelta = timedelta(hours=24)
    refresh: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if not timedelta(0) < self.refresh < self.validity:
            raise AuthorityError("the CRL refresh interval must be shorter than a CRL's validity (24 h)")


@dataclass(frozen=True)
class PublishedCrl:
    der: bytes
    number: int
    this_update: datetime
    next_update: datetime
    #: the CA's change counter when generation started: a change after that makes it stale
    version: int
    #: the store's newest status change then (`CertificateStore.last_change`): a change made by
    #: another process of the same database makes it stale too
    last_change: int = 0


class CrlPublisher:
    """The current CRL of each CA: remade after a status change or when `refresh` has passed.

    Served CRLs are made on demand (a fetch after a change gets a new one); `start()` adds a
    background thread that, in the leading process only, also remakes them `REGENERATE_DELAY`
    after a change here (several changes in a burst give one CRL) and every `refresh`, so a CRL is
    ready before anyone asks. Between wake-ups it looks every `LEADER_POLL` seconds, which is how
    the leader learns of a change another worker committed (the store's `last_change`) and how a
    process that just took the lead from a dead leader makes its CRLs at once.
    """

    REGENERATE_DELAY = 1.0

    def __init__(self, service: CaService, crl_urls: dict[str, str], policy: CrlPolicy | None = None,
                 leads: Callable[[], bool] = lambda: True) -> None:
        self.service = service
        #: whether this process runs the scheduled remake (one worker of `serve --workers N` does)
        self.leads = leads
        self.crl_urls = crl_urls
        self.policy = policy or CrlPolicy()
        self._current: dict[str, PublishedCrl] = {}
        self._versions: dict[str, int] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        service.on_change(self._changed)

    def _changed(self, ca_id: str, _serial: int) -> None:
        self._versions[ca_id] = self._versions.get(ca_id, 0) + 1
        self._wake.set()

    def start(self) -> None:
        """Regenerate in the background (on changes and on schedule) until `stop()`."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="crl-publisher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(LEADER_POLL)
            if self._stop.wait(self.REGENERATE_DELAY):
                return
            self._wake.clear()
            if not self.leads():
                continue
            try:
                stale = [ca_id for ca_id in self.crl_urls if self._stale(ca_id)]
                if stale:  # a round is counted when it remakes a CRL, not for every look
                    JOB_RUNS.labels("ca-crl-remake").inc()
                for ca_id in stale:
                    self.current(ca_id)
            except SQLAlchemyError as exc:  # the store is down: try again at the next look
                print(f"mynacard CA: cannot make the CRLs now ({type(exc).__name__})", file=sys.stderr)

    def generate(self, ca_id: str, now: datetime | None = None) -> PublishedCrl:
        """Make, remember and return a new CRL for `ca_id`."""
        served = self.service.served(ca_id)
        version = self._versions.get(ca_id, 0)
        last_change = self.service.store.last_change(ca_id)
        this_update = (now or datetime.now(UTC)).replace(microsecond=0)
        next_update = this_update + self.policy.validity
        number = self.service.store.next_crl_number(ca_id, this_update)
        key = served.ca.private_key

        def sign(tbs: bytes) -> bytes:
            return key.sign(tbs, padding.PKCS1v15(), hashes.SHA256())

        der = encode_crl(
            served.certificate, sign, self.service.store.revoked(ca_id), number=number,
            this_update=this_update, next_update=next_update, crl_url=self.crl_urls[ca_id],
        )
        published = PublishedCrl(der, number, this_update, next_update, version, last_change)
        self._current[ca_id] = published
        return published

    def latest(self, ca_id: str) -> PublishedCrl | None:
        """The last CRL made for `ca_id` in this process, stale or not (None: none yet)."""
        return self._current.get(ca_id)

    def _stale(self, ca_id: str) -> bool:
        """Whether `ca_id` needs a new CRL: none yet, a change since (here or in another process), or `refresh` passed."""
        published = self._current.get(ca_id)
        return (
            published is None
            or published.version != self._versions.get(ca_id, 0)
            or published.last_change != self.service.store.last_change(ca_id)
            or datetime.now(UTC) - published.this_update >= self.policy.refresh
        )

    def current(self, ca_id: str) -> PublishedCrl:
        with self._lock:
            if self._stale(ca_id):
                return self.generate(ca_id)
            return self._current[ca_id]
