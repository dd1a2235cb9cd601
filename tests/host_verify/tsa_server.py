"""A real RFC 3161 timestamp server on loopback for the PAdES B-T tests: HTTP POST of an
`application/timestamp-query`, answer `application/timestamp-reply`. The token is made by
pyHanko's own test TSA (`DummyTimeStamper`); this module gives it a TSA certificate of its own
(an issuing root + a TSA certificate with the critical timeStamping EKU) and an HTTP server."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from asn1crypto import keys, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

from host_verify_pki import key

UTC = datetime.UTC


@dataclass(frozen=True)
class Tsa:
    root: x509.Certificate
    certificate: x509.Certificate
    url: str
    #: How many requests it answered.
    served: list[int]


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mynacard test TSA"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def tsa_certificates() -> tuple[x509.Certificate, x509.Certificate]:
    now = datetime.datetime.now(UTC)
    root_key, tsa_key = key("tsa-root"), key("tsa")
    root = (x509.CertificateBuilder().subject_name(_name("TSA root")).issuer_name(_name("TSA root"))
            .public_key(root_key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(root_key, hashes.SHA256()))
    tsa = (x509.CertificateBuilder().subject_name(_name("TSA")).issuer_name(root.subject)
           .public_key(tsa_key.public_key()).serial_number(2)
           .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=300))
           .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
           .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
           .sign(root_key, hashes.SHA256()))
    return root, tsa


@contextmanager
def running_tsa() -> Iterator[Tsa]:
    root, certificate = tsa_certificates()
    der = serialization.Encoding.DER
    stamper = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(certificate.public_bytes(der)),
        tsa_key=keys.PrivateKeyInfo.load(key("tsa").private_bytes(
            der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
        certs_to_embed=[asn1_x509.Certificate.load(root.public_bytes(der))])
    served: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Type") != "application/timestamp-query":
                self.send_error(415, "expected application/timestamp-query")
                return
            reply = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            served.append(len(reply))
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Tsa(root, certificate, f"http://127.0.0.1:{server.server_port}/tsr", served)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
