"""A tiny OCSP responder and CRL server on loopback, built with cryptography's builders, so the
host's revocation checks can be tested before the project's backend exists. The test drives what
it answers through `Responder.behaviour`.
"""

from __future__ import annotations

import datetime
import http.server
import threading
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp

from host_verify_pki import key

UTC = datetime.UTC


@dataclass
class Behaviour:
    """What the responder does with the next requests."""

    revoked: set[int] = field(default_factory=set)
    unknown: set[int] = field(default_factory=set)
    signer_cert: x509.Certificate | None = None  # None: the issuer signs itself
    signer_key: rsa.RSAPrivateKey | None = None
    include_signer_cert: bool = False
    next_update: datetime.timedelta | None = datetime.timedelta(hours=1)
    this_update_shift: datetime.timedelta = datetime.timedelta(0)
    echo_nonce: bool = True
    wrong_nonce: bool = False
    corrupt_signature: bool = False  # flip the last byte: the signature when no certs are included
    http_status: int = 200
    status: ocsp.OCSPResponseStatus = ocsp.OCSPResponseStatus.SUCCESSFUL
    crl: bytes = b""


class Responder:
    def __init__(self, issuer: x509.Certificate, issuer_key: rsa.RSAPrivateKey) -> None:
        self.issuer = issuer
        self.issuer_key = issuer_key
        self.behaviour = Behaviour()
        self.requests = 0
        responder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                responder.requests += 1
                body = self.rfile.read(int(self.headers["Content-Length"]))
                self._reply(responder.answer(ocsp.load_der_ocsp_request(body)), "application/ocsp-response")

            def do_GET(self) -> None:
                responder.requests += 1
                self._reply(responder.behaviour.crl, "application/pkix-crl")

            def _reply(self, payload: bytes, content_type: str) -> None:
                self.send_response(responder.behaviour.http_status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/ocsp"

    @property
    def crl_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/crl"

    def __enter__(self) -> Responder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, request: ocsp.OCSPRequest) -> bytes:
        b = self.behaviour
        if b.status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(b.status).public_bytes(serialization.Encoding.DER)
        now = datetime.datetime.now(UTC) + b.this_update_shift
        serial = request.serial_number
        if serial in b.revoked:
            status, when, reason = ocsp.OCSPCertStatus.REVOKED, now - datetime.timedelta(days=1), x509.ReasonFlags.key_compromise
        elif serial in b.unknown:
            status, when, reason = ocsp.OCSPCertStatus.UNKNOWN, None, None
        else:
            status, when, reason = ocsp.OCSPCertStatus.GOOD, None, None
        # The request carries the cert ID only; echo it through a certificate with that serial.
        subject = _certificate_with_serial(self.issuer, serial)
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=subject, issuer=self.issuer, algorithm=request.hash_algorithm,
            cert_status=status, this_update=now,
            next_update=now + b.next_update if b.next_update is not None else None,
            revocation_time=when, revocation_reason=reason,
        )
        signer_cert = b.signer_cert or self.issuer
        signer_key = b.signer_key or self.issuer_key
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, signer_cert)
        if b.include_signer_cert:
            builder = builder.certificates([signer_cert])
        try:
            nonce = request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        except x509.ExtensionNotFound:
            nonce = None
        if nonce is not None and b.echo_nonce:
            builder = builder.add_extension(x509.OCSPNonce(b"x" * 16 if b.wrong_nonce else nonce), critical=False)
        der = builder.sign(signer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
        if b.corrupt_signature:
            der = der[:-1] + bytes([der[-1] ^ 0x01])
        return der


def _certificate_with_serial(issuer: x509.Certificate, serial: int) -> x509.Certificate:
    """OCSPResponseBuilder wants a certificate; only its serial (and the issuer) are used."""
    k = key("ocsp-placeholder")
    now = datetime.datetime.now(UTC)
    return (
        x509.CertificateBuilder().subject_name(issuer.subject).issuer_name(issuer.subject)
        .public_key(k.public_key()).serial_number(serial)
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(k, hashes.SHA256())
    )


def build_crl(
    issuer: x509.Certificate,
    issuer_key: rsa.RSAPrivateKey,
    revoked: dict[int, x509.ReasonFlags | None] | None = None,
    *,
    last_update: datetime.datetime | None = None,
    next_update: datetime.timedelta = datetime.timedelta(days=1),
    extensions: tuple[tuple[x509.ExtensionType, bool], ...] = (),
    pem: bool = False,
) -> bytes:
    last = last_update or datetime.datetime.now(UTC) - datetime.timedelta(hours=1)
    builder = (
        x509.CertificateRevocationListBuilder().issuer_name(issuer.subject)
        .last_update(last).next_update(last + next_update)
        .add_extension(x509.CRLNumber(1), critical=False)
    )
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical=critical)
    for serial, reason in (revoked or {}).items():
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(last - datetime.timedelta(days=1))
        if reason is not None:
            entry = entry.add_extension(x509.CRLReason(reason), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    crl = builder.sign(issuer_key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.PEM if pem else serialization.Encoding.DER)
