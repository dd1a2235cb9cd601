"""OCSP behind nginx's proxy_cache, the config of docs/nginx-ocsp.conf run as shipped.

RFC 5019 §5 (GET with the url-encoded base64 DER request) and §6 (HTTP caching headers): nginx
caches GET answers for the responder's max-age, so good → revoked reaches a client through the
cache within max-age; POST is not cached and reaches the responder. openssl judges the answers
(Debian 12's openssl 3.0 `ocsp` has no GET switch, so the GET is built from `-reqout` and its
answer read back with `-respin`).
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.ca.client import CaClient

from ca_server import CaServer, free_port, seed_responder_keys
from ca_service_helpers import issue_sign, write_pem

CONFIG = Path(__file__).resolve().parents[2] / "docs" / "nginx-ocsp.conf"
REFRESH_SECONDS = 3

pytestmark = pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
                                reason="Debian's nginx is not installed (tools/setup.sh installs it)")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pool_keys: list[rsa.RSAPrivateKey]) -> Iterator[CaServer]:
    """The responder with a short refresh, so max-age (and the test) is a few seconds."""
    data = tmp_path_factory.mktemp("ca-server") / "data"
    seed_responder_keys(data, pool_keys[:2])
    ca_server = CaServer(data, extra_args=["--ocsp-refresh", str(REFRESH_SECONDS)]).start()
    yield ca_server
    ca_server.stop()


def nginx_main_config(prefix: Path, http_snippet: str) -> str:
    """The main context a test needs around the shipped snippet: everything under `prefix`."""
    user = "user root root;\n" if os.geteuid() == 0 else ""  # workers must write the temp cache dir
    return (f"{user}daemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\n"
            f"error_log {prefix}/error.log warn;\nevents {{ worker_connections 256; }}\n"
            f"http {{\n access_log off;\n client_body_temp_path {prefix}/body;\n"
            f" proxy_temp_path {prefix}/proxy;\n fastcgi_temp_path {prefix}/fastcgi;\n"
            f" uwsgi_temp_path {prefix}/uwsgi;\n scgi_temp_path {prefix}/scgi;\n"
            f"{http_snippet}\n}}\n")


@pytest.fixture(scope="module")
def nginx(server: CaServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    prefix = tmp_path_factory.mktemp("nginx")
    port = free_port()
    snippet = (CONFIG.read_text(encoding="utf-8").replace("@CACHE_DIR@", str(prefix / "cache"))
               .replace("@LISTEN@", f"127.0.0.1:{port}").replace("@UPSTREAM@", f"127.0.0.1:{server.port}"))
    config = prefix / "nginx.conf"
    config.write_text(nginx_main_config(prefix, snippet), encoding="utf-8")
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    check = subprocess.run([binary, "-t", "-p", str(prefix), "-c", str(config)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen([binary, "-p", str(prefix), "-c", str(config)], stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/ca/ocsp/none", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(10)


def openssl(*args: str) -> str:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=30)
    return result.stdout + result.stderr


def get_through_cache(nginx: str, request_der: bytes, root: Path, cert: Path, folder: Path) -> tuple[str, httpx.Response]:
    """GET the RFC 5019 URL from nginx; openssl verifies and reads the answer."""
    url = f"{nginx}/ca/ocsp/sign/{quote(base64.b64encode(request_der).decode(), safe='')}"
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200 and response.headers["content-type"] == "application/ocsp-response"
    answer = folder / "answer.der"
    answer.write_bytes(response.content)
    text = openssl("ocsp", "-respin", str(answer), "-issuer", str(root), "-cert", str(cert),
                   "-CAfile", str(root), "-resp_text")
    assert "Response verify OK" in text, text
    return text, response


def test_get_cached_by_nginx_revocation_within_max_age_post_passes_through(
        admin: CaClient, server: CaServer, nginx: str, pool_keys: list[rsa.RSAPrivateKey], tmp_path: Path) -> None:
    root = write_pem(tmp_path / "sign-root.pem", str(next(ca for ca in admin.cas() if ca["id"] == "sign")["certificate_pem"]))
    record = issue_sign(admin, pool_keys[3])
    cert = write_pem(tmp_path / "cert.pem", str(record["certificate_pem"]))
    request = tmp_path / "request.der"
    openssl("ocsp", "-issuer", str(root), "-cert", str(cert), "-no_nonce", "-reqout", str(request))
    der = request.read_bytes()

    text, first = get_through_cache(nginx, der, root, cert, tmp_path)
    assert f"{cert}: good" in text
    assert first.headers["x-cache-status"] == "MISS"
    max_age = int(re.search(r"max-age=(\d+)", first.headers["cache-control"]).group(1))  # type: ignore[union-attr]
    assert 0 < max_age <= REFRESH_SECONDS and "etag" in first.headers
    _, second = get_through_cache(nginx, der, root, cert, tmp_path)
    assert second.headers["x-cache-status"] == "HIT" and second.content == first.content

    admin.revoke("sign", str(record["serial"]), "keyCompromise", cause="test")
    revoked_at = time.monotonic()
    deadline = revoked_at + max_age + REFRESH_SECONDS + 2  # max-age of the cached answer, then a fresh one
    while True:
        text, _ = get_through_cache(nginx, der, root, cert, tmp_path)
        if f"{cert}: revoked" in text:
            break
        assert f"{cert}: good" in text, text
        assert time.monotonic() < deadline, "the revocation did not reach the nginx cache within max-age"
        time.sleep(0.25)
    assert "Reason: keyCompromise" in text

    # POST through nginx reaches the responder every time (never cached): openssl's own client.
    posted = openssl("ocsp", "-issuer", str(root), "-cert", str(cert), "-url", f"{nginx}/ca/ocsp/sign",
                     "-CAfile", str(root), "-resp_text")
    assert "Response verify OK" in posted and f"{cert}: revoked" in posted, posted
    post = httpx.post(f"{nginx}/ca/ocsp/sign", content=der,
                      headers={"content-type": "application/ocsp-request"}, timeout=10)
    assert post.status_code == 200 and "x-cache-status" not in post.headers  # nginx bypassed its cache
    assert post.content != first.content


def test_the_documented_config_is_the_tested_file() -> None:
    """docs/ca-service.md shows docs/nginx-ocsp.conf verbatim: the page cannot drift from what runs."""
    page = (CONFIG.parent / "ca-service.md").read_text(encoding="utf-8")
    assert f"```nginx\n{CONFIG.read_text(encoding='utf-8')}```" in page
