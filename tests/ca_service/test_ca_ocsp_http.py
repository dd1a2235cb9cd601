"""OCSP over HTTP as RFC 5019/9919 profile it, and every kind of bad request (RFC 6960 §2.3).

Bad requests get an OCSP error status (with the reason in `OCSP-Error-Detail`) or a 4xx, never
a 500, and change nothing.
"""

from __future__ import annotations

import base64
import random
from urllib.parse import quote

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import ocsp

from mynacard.ca.client import CaClient
from mynacard.ca.crl import tlv

from ca_server import CaServer
from ca_service_helpers import issue_sign


@pytest.fixture(scope="module")
def issued(admin: CaClient, pool_keys: list[rsa.RSAPrivateKey]) -> tuple[x509.Certificate, x509.Certificate]:
    record = issue_sign(admin, pool_keys[2])
    root = next(ca for ca in admin.cas() if ca["id"] == "sign")
    return (x509.load_pem_x509_certificate(str(record["certificate_pem"]).encode()),
            x509.load_pem_x509_certificate(str(root["certificate_pem"]).encode()))


def request_der(certificate: x509.Certificate, issuer: x509.Certificate, nonce: bytes | None = None,
                algorithm: hashes.HashAlgorithm | None = None) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, algorithm or hashes.SHA1())
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def post(server: CaServer, body: bytes, ca: str = "sign") -> httpx.Response:
    return httpx.post(f"{server.url}/ocsp/{ca}", content=body, headers={"Content-Type": "application/ocsp-request"})


def status_of(response: httpx.Response) -> ocsp.OCSPResponseStatus:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/ocsp-response"
    return ocsp.load_der_ocsp_response(response.content).response_status


def test_get_is_cacheable_and_answers_304(server: CaServer, issued: tuple[x509.Certificate, x509.Certificate]) -> None:
    encoded = quote(base64.b64encode(request_der(*issued)).decode(), safe="")
    response = httpx.get(f"{server.url}/ocsp/sign/{encoded}")
    answer = ocsp.load_der_ocsp_response(response.content)
    assert answer.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert answer.serial_number == issued[0].serial_number
    headers = response.headers
    assert headers["etag"] and headers["last-modified"] and headers["expires"]
    assert "max-age=" in headers["cache-control"] and "public" in headers["cache-control"]
    # Pre-signed: the same bytes again, and 304 for a client that has them.
    assert httpx.get(f"{server.url}/ocsp/sign/{encoded}").content == response.content
    again = httpx.get(f"{server.url}/ocsp/sign/{encoded}", headers={"If-None-Match": headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_sha256_issuer_hash_is_accepted(server: CaServer, issued: tuple[x509.Certificate, x509.Certificate]) -> None:
    answer = ocsp.load_der_ocsp_response(post(server, request_der(*issued, algorithm=hashes.SHA256())).content)
    assert answer.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert answer.hash_algorithm.name == "sha256"


def test_nonce_is_echoed_and_answer_not_cached(server: CaServer,
                                               issued: tuple[x509.Certificate, x509.Certificate]) -> None:
    nonce = bytes(range(16))
    response = post(server, request_der(*issued, nonce=nonce))
    answer = ocsp.load_der_ocsp_response(response.content)
    assert answer.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == nonce
    assert response.headers["cache-control"] == "no-store"
    # The responder's signature covers the nonce: it verifies with the delegated certificate.
    responder = answer.certificates[0]
    public_key = responder.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(answer.signature, answer.tbs_response_bytes, padding.PKCS1v15(), hashes.SHA256())
    assert responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [x509.oid.ExtendedKeyUsageOID.OCSP_SIGNING])
    responder.extensions.get_extension_for_class(x509.OCSPNoCheck)
    responder.verify_directly_issued_by(issued[1])


def test_oversized_nonce_is_ignored(server: CaServer, issued: tuple[x509.Certificate, x509.Certificate]) -> None:
    answer = ocsp.load_der_ocsp_response(post(server, request_der(*issued, nonce=b"x" * 40)).content)
    assert answer.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    with pytest.raises(x509.ExtensionNotFound):
        answer.extensions.get_extension_for_class(x509.OCSPNonce)


def _md5_request(issued: tuple[x509.Certificate, x509.Certificate]) -> bytes:
    """A CertID with id-md5 (1.2.840.113549.2.5): not a hash RFC 5019/9919 allow."""
    md5 = tlv(0x30, bytes.fromhex("06082a864886f70d02050500"))
    cert_id = tlv(0x30, md5 + tlv(0x04, b"\x00" * 16) + tlv(0x04, b"\x00" * 16) + tlv(0x02, b"\x01"))
    return tlv(0x30, tlv(0x30, tlv(0x30, tlv(0x30, cert_id))))


@pytest.mark.parametrize("case", ["empty", "truncated", "garbage", "md5", "two-requests", "bad-get"])
def test_malformed_requests_are_malformed_request(case: str, server: CaServer,
                                                  issued: tuple[x509.Certificate, x509.Certificate]) -> None:
    good = request_der(*issued)
    if case == "bad-get":
        response = httpx.get(f"{server.url}/ocsp/sign/not*base64!")
    else:
        body = {
            "empty": b"",
            "truncated": good[: len(good) // 2],
            "garbage": b"\x30\x82\xff\xff" + b"A" * 50,
            "md5": _md5_request(issued),
            "two-requests": _two_requests(good),
        }[case]
        response = post(server, body)
    assert status_of(response) is ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    assert response.headers["ocsp-error-detail"].startswith("malformedRequest: ")
    assert response.headers["cache-control"] == "no-store"


def _two_requests(good: bytes) -> bytes:
    """The same Request twice in requestList (OCSPRequest > TBSRequest > requestList > Request)."""
    one = good[6:]  # three short-form SEQUENCE headers: the request has no extensions and is < 128 bytes
    assert len(good) < 128 and good[6] == 0x30
    return tlv(0x30, tlv(0x30, tlv(0x30, one + one)))


def test_unknown_issuer_is_unauthorized(server: CaServer, issued: tuple[x509.Certificate, x509.Certificate],
                                        pool_keys: list[rsa.RSAPrivateKey]) -> None:
    # The end-entity certificate posing as an issuer: no CA of ours has its name or key.
    response = post(server, request_der(issued[0], issued[0]))
    assert status_of(response) is ocsp.OCSPResponseStatus.UNAUTHORIZED
    assert "issuer" in response.headers["ocsp-error-detail"]
    # The right issuer at the other CA's URL.
    assert status_of(post(server, request_der(*issued), ca="auth")) is ocsp.OCSPResponseStatus.UNAUTHORIZED


def test_ten_megabyte_body_is_refused_before_reading(server: CaServer) -> None:
    response = post(server, b"\x30" * (10 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json()["error"] == "too-large"


def test_wrong_path_and_method(server: CaServer) -> None:
    assert httpx.post(f"{server.url}/ocsp/nosuch", content=b"").status_code == 404
    assert httpx.put(f"{server.url}/ocsp/sign", content=b"").status_code == 405


def test_fuzzed_requests_never_break_the_responder(server: CaServer, admin: CaClient,
                                                   issued: tuple[x509.Certificate, x509.Certificate]) -> None:
    """Random byte mutations of a valid request: every answer is a parseable OCSPResponse."""
    good = request_der(*issued, nonce=b"n" * 16)
    rng = random.Random(9)
    allowed = {ocsp.OCSPResponseStatus.SUCCESSFUL, ocsp.OCSPResponseStatus.MALFORMED_REQUEST,
               ocsp.OCSPResponseStatus.UNAUTHORIZED}
    before = admin.list("sign", limit=1000)
    with httpx.Client() as http:
        for _ in range(150):
            body = bytearray(good)
            for _ in range(rng.randint(1, 4)):
                action = rng.randrange(3)
                position = rng.randrange(len(body))
                if action == 0:
                    body[position] ^= 1 << rng.randrange(8)
                elif action == 1:
                    del body[position:]
                    if not body:
                        break
                else:
                    body.insert(position, rng.randrange(256))
            response = http.post(f"{server.url}/ocsp/sign", content=bytes(body))
            assert response.status_code == 200
            assert ocsp.load_der_ocsp_response(response.content).response_status in allowed
    assert admin.list("sign", limit=1000) == before


def test_get_accepts_unescaped_and_url_safe_base64(server: CaServer,
                                                   issued: tuple[x509.Certificate, x509.Certificate]) -> None:
    """RFC 5019 §5 says url-encode the base64; clients that do not (a raw '/', '+') or use the
    URL-safe alphabet still get their answer."""
    raw = base64.b64encode(request_der(*issued, algorithm=hashes.SHA256())).decode()
    for encoded in (raw, raw.replace("+", "-").replace("/", "_"), quote(raw, safe="")):
        response = httpx.get(f"{server.url}/ocsp/sign/{encoded}")
        assert ocsp.load_der_ocsp_response(response.content).certificate_status is ocsp.OCSPCertStatus.GOOD, encoded
    head = httpx.head(f"{server.url}/ocsp/sign/{quote(raw, safe='')}")
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"]


def test_serials_outside_the_stores_range(server: CaServer, issued: tuple[x509.Certificate, x509.Certificate]) -> None:
    """A 100-bit serial was never issued (unknown); a negative one is malformed (RFC 5280 §4.1.2.2)."""
    good = ocsp.load_der_ocsp_request(request_der(*issued))
    huge = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        good.issuer_name_hash, good.issuer_key_hash, 2**100, hashes.SHA1()).build().public_bytes(serialization.Encoding.DER)
    assert ocsp.load_der_ocsp_response(post(server, huge).content).certificate_status is ocsp.OCSPCertStatus.UNKNOWN
    one = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        good.issuer_name_hash, good.issuer_key_hash, 1, hashes.SHA1()).build().public_bytes(serialization.Encoding.DER)
    negative = one.replace(b"\x02\x01\x01", b"\x02\x01\xff")  # INTEGER 1 -> INTEGER -1
    assert negative != one
    assert status_of(post(server, negative)) is ocsp.OCSPResponseStatus.MALFORMED_REQUEST
