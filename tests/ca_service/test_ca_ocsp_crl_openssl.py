"""OCSP and CRL from a running `mynacard serve`, judged by openssl (an independent client).

jpki-system.md §2.3 (OCSP and CRL methods), §1.2/§1.3 (CRLDP), RFC 6960, RFC 5280 §5.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.ca.client import CaClient

from ca_server import CaServer
from ca_service_helpers import issue_auth, issue_sign, write_pem


def openssl(*args: str) -> str:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=30)
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def roots(admin: CaClient, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("roots")
    return {str(ca["id"]): write_pem(folder / f"{ca['id']}.pem", str(ca["certificate_pem"])) for ca in admin.cas()}


def ocsp_query(server: CaServer, roots: dict[str, Path], ca: str, *target: str) -> str:
    return openssl("ocsp", "-issuer", str(roots[ca]), *target, "-url", f"{server.url}/ocsp/{ca}",
                   "-CAfile", str(roots[ca]), "-resp_text")


def test_issued_certificate_carries_the_service_urls(admin: CaClient, pool_keys: list[rsa.RSAPrivateKey],
                                                     server: CaServer) -> None:
    record = issue_sign(admin, pool_keys[2])
    certificate = x509.load_pem_x509_certificate(str(record["certificate_pem"]).encode())
    aia = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [d.access_location.value for d in aia] == [f"{server.url}/ocsp/sign"]
    points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    uris = [name.value for point in points for name in point.full_name or [] if isinstance(name, x509.UniformResourceIdentifier)]
    assert uris == [f"{server.url}/crl/sign.crl"]
    assert int(str(record["serial"]), 16) == certificate.serial_number


def test_openssl_ocsp_good_revoked_with_reason_unknown(admin: CaClient, server: CaServer, roots: dict[str, Path],
                                                       pool_keys: list[rsa.RSAPrivateKey], tmp_path: Path) -> None:
    record = issue_sign(admin, pool_keys[3])
    cert = write_pem(tmp_path / "cert.pem", str(record["certificate_pem"]))

    good = ocsp_query(server, roots, "sign", "-cert", str(cert))
    assert "Response verify OK" in good and f"{cert}: good" in good, good
    assert "Cert Status: good" in good
    assert "OCSP Responder" in good  # signed by the delegated responder, not the CA key

    admin.revoke("sign", str(record["serial"]), "keyCompromise", cause="test")
    revoked = ocsp_query(server, roots, "sign", "-cert", str(cert))
    assert "Response verify OK" in revoked and f"{cert}: revoked" in revoked, revoked
    assert "Reason: keyCompromise" in revoked

    unknown = ocsp_query(server, roots, "sign", "-serial", "0x1234567")
    assert "Response verify OK" in unknown and "0x1234567: unknown" in unknown, unknown


def test_hold_then_release_over_ocsp(admin: CaClient, server: CaServer, roots: dict[str, Path],
                                      pool_keys: list[rsa.RSAPrivateKey], tmp_path: Path) -> None:
    record = issue_auth(admin, pool_keys[4])
    cert = write_pem(tmp_path / "auth.pem", str(record["certificate_pem"]))
    admin.hold("auth", str(record["serial"]), cause="lost card, call centre")
    held = ocsp_query(server, roots, "auth", "-cert", str(cert))
    assert "revoked" in held and "Reason: certificateHold" in held, held
    admin.release("auth", str(record["serial"]), cause="card found")
    assert f"{cert}: good" in ocsp_query(server, roots, "auth", "-cert", str(cert))
    actions = [event["action"] for event in admin.events("auth", str(record["serial"]))]
    assert actions == ["issue", "hold", "release"]


def test_wrong_issuer_is_unauthorized(admin: CaClient, server: CaServer, roots: dict[str, Path]) -> None:
    # The auth root as issuer, sent to the signing CA's responder.
    answer = openssl("ocsp", "-issuer", str(roots["auth"]), "-serial", "0x10", "-url", f"{server.url}/ocsp/sign")
    assert "unauthorized (6)" in answer, answer


def test_openssl_accepts_the_crl_and_lists_the_revoked_serial(
    admin: CaClient, server: CaServer, roots: dict[str, Path], pool_keys: list[rsa.RSAPrivateKey], tmp_path: Path
) -> None:
    record = issue_sign(admin, pool_keys[5])
    cert = write_pem(tmp_path / "cert.pem", str(record["certificate_pem"]))
    admin.revoke("sign", str(record["serial"]), "affiliationChanged", cause="moved (register event 7)")
    response = httpx.get(f"{server.url}/crl/sign.crl")
    assert response.headers["content-type"] == "application/pkix-crl"
    assert "max-age=" in response.headers["cache-control"] and response.headers["etag"]
    der = tmp_path / "sign.crl"
    der.write_bytes(response.content)

    text = openssl("crl", "-inform", "DER", "-in", str(der), "-CAfile", str(roots["sign"]), "-verify", "-noout", "-text")
    assert "verify OK" in text, text
    assert f"Serial Number: {record['serial']}" in text
    assert "Affiliation Changed" in text and "X509v3 CRL Number" in text
    assert f"URI:{server.url}/crl/sign.crl" in text and "Only User Certificates" in text

    # The CRL's issuingDistributionPoint matches the certificate's CRLDP: openssl's full path check.
    pem = tmp_path / "sign.crl.pem"
    openssl("crl", "-inform", "DER", "-in", str(der), "-out", str(pem))
    verdict = openssl("verify", "-crl_check", "-CAfile", str(roots["sign"]), "-CRLfile", str(pem), str(cert))
    assert "certificate revoked" in verdict, verdict

    again = httpx.get(f"{server.url}/crl/sign.crl", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


def test_good_certificate_passes_openssl_crl_check(admin: CaClient, server: CaServer, roots: dict[str, Path],
                                                    pool_keys: list[rsa.RSAPrivateKey], tmp_path: Path) -> None:
    record = issue_sign(admin, pool_keys[1])
    cert = write_pem(tmp_path / "cert.pem", str(record["certificate_pem"]))
    pem = tmp_path / "crl.pem"
    (tmp_path / "crl.der").write_bytes(httpx.get(f"{server.url}/crl/sign.crl").content)
    openssl("crl", "-inform", "DER", "-in", str(tmp_path / "crl.der"), "-out", str(pem))
    verdict = openssl("verify", "-crl_check", "-CAfile", str(roots["sign"]), "-CRLfile", str(pem), str(cert))
    assert f"{cert}: OK" in verdict, verdict


def test_host_takes_the_ocsp_url_from_the_certificate_only_when_asked(admin: CaClient, server: CaServer,
                                                                       pool_keys: list[rsa.RSAPrivateKey]) -> None:
    from mynacard.ca.authority import load_test_authority
    from mynacard.host.revocation import RevocationUnknown, aia_ocsp_url

    record = issue_sign(admin, pool_keys[1])
    certificate = x509.load_pem_x509_certificate(str(record["certificate_pem"]).encode())
    assert aia_ocsp_url(certificate) == f"{server.url}/ocsp/sign"
    with pytest.raises(RevocationUnknown, match="names no OCSP responder"):
        aia_ocsp_url(load_test_authority().sign_ca.certificate)
