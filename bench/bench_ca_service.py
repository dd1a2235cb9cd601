"""The CA service (issue 9): OCSP throughput, revocation latency, CRL generation, issuance.

Prints, in one run:
- OCSP responses/s of `mynacard serve --workers W` (default 2) with --certs issued certificates,
  measured by wrk (POST, a rotating set of 1,000 requests without nonce, answers pre-signed), and
  of `openssl ocsp -multi M` (default 2 processes) serving the same certificates from an
  index.txt with the same delegated signer, under the same wrk load; the ratio between them
  (target >= 2.5); both warmed by a wrk run first, so every worker has its answers signed;
- OCSP GET (RFC 5019) through nginx's cache (docs/nginx-ocsp.conf as shipped) against nginx
  serving a static file of the same size from the same server block (target >= 50 %);
- the time from a revocation's acknowledgement to the first OCSP answer saying "revoked";
- CRL generation with --crl revoked entries (target < 2 s), and cryptography's CRL builder on
  the same entries as the baseline;
- issuances/s through the HTTP API (sign + record), against in-process signing alone.

The store is filled in bulk: one real certificate is issued, and its row is copied under
--certs distinct random serials (the responder reads the status row by serial, never the DER).

Run: .venv/bin/python bench/bench_ca_service.py [--certs 100000] [--duration 10] [--crl 100000]
     [--workers 2] [--multi 2]
Needs `wrk`, `openssl` and `nginx` (tools/setup.sh installs them).
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from mynacard.ca import store_schema as schema
from mynacard.ca.crl import CrlPolicy, CrlPublisher
from mynacard.ca.jpki_ca import random_serial
from mynacard.ca.jpki_names import Locality
from mynacard.ca.keys import generate_rsa_key
from mynacard.ca.personal_data import PersonalData
from mynacard.ca.runtime import CaRuntime
from mynacard.service.config import ServiceConfig

PERSON = PersonalData("見本\u3000花子", "2", date(1985, 4, 12), "東京都清瀬市中里1-2-3")
LOCALITY = Locality("Tokyo", "Kiyose-shi")
#: Fresh starts of `openssl ocsp` before its figure is given up (it can stall, see below).
OPENSSL_ATTEMPTS = 3
WRK_SCRIPT = """
-- No probe connection: wrk's default resolve() opens and closes one, which stalls `openssl ocsp`
-- (3.0 loops on a connection that closes without a request).
function wrk.resolve(host, service) wrk.addrs = wrk.lookup(host, service) end
local bodies = {}
for line in io.lines(os.getenv("OCSP_REQUESTS")) do
  bodies[#bodies + 1] = (line:gsub("..", function(cc) return string.char(tonumber(cc, 16)) end))
end
local path = os.getenv("OCSP_PATH")
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", path, {["Content-Type"] = "application/ocsp-request"}, bodies[i])
end
"""
#: RFC 5019 GETs: one path per line of OCSP_REQUESTS (or the one OCSP_PATH when there is no file).
WRK_GET_SCRIPT = """
local paths = {}
local file = os.getenv("OCSP_REQUESTS")
if file ~= "" then for line in io.lines(file) do paths[#paths + 1] = line end end
if #paths == 0 then paths[1] = os.getenv("OCSP_PATH") end
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
"""
NGINX_MAIN = """{user}daemon off;
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 512; }}
http {{
 access_log off;
 client_body_temp_path {prefix}/body;
 proxy_temp_path {prefix}/proxy;
 fastcgi_temp_path {prefix}/fastcgi;
 uwsgi_temp_path {prefix}/uwsgi;
 scgi_temp_path {prefix}/scgi;
{snippet}
 server {{
  listen {static_listen};
  location /static/ {{ root {prefix}; }}
 }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


def wait_openssl(port: int, log: Path, process: subprocess.Popen[bytes]) -> None:
    """`openssl ocsp` serves one connection at a time: a probe connection would stall it (and with
    -multi it logs to syslog, not its stderr), so look for its listening socket in /proc/net/tcp."""
    listening = re.compile(rf":{port:04X} 0+:0000 0A")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        if any(listening.search(Path(table).read_text()) for table in ("/proc/net/tcp", "/proc/net/tcp6")):
            return
        time.sleep(0.1)
    raise RuntimeError("openssl ocsp did not start: " + log.read_text(errors="replace")[-500:])


def fill_store(runtime: CaRuntime, count: int, revoked_every: int) -> list[tuple[int, str]]:
    """`count` certificates of the signing CA (every `revoked_every`-th revoked); returns (serial, status)."""
    template = runtime.service.issue_sign(
        generate_rsa_key().public_key(), PERSON, LOCALITY, "13221", date(2034, 4, 12),
        auth_not_after=None, resident_id=None, card_serial=None, actor="bench",
    )
    now = datetime.now(UTC).replace(microsecond=0)
    rows, serials = [], []
    for index in range(count):
        serial = random_serial()
        status = "revoked" if revoked_every and index % revoked_every == 0 else "good"
        serials.append((serial, status))
        rows.append({
            "ca": "sign", "serial": serial, "subject": template.subject, "issuance_id": template.issuance_id,
            "municipality_code": "13221", "not_before": template.not_before, "not_after": template.not_after,
            "issued_at": now, "resident_id": None, "card_serial": None, "der": template.der, "status": status,
            "revoked_at": now if status == "revoked" else None,
            "reason": "keyCompromise" if status == "revoked" else None, "cause": None, "invalidity_date": None,
        })
    with runtime.engine.begin() as connection:
        for start in range(0, len(rows), 10_000):
            connection.execute(schema.certificates.insert(), rows[start:start + 10_000])
    return serials


def write_index(path: Path, serials: list[tuple[int, str]], not_after: datetime) -> None:
    """openssl ca's index.txt: status, expiry, revocation (time,reason), serial, file, subject."""
    path.with_name(path.name + ".attr").write_text("unique_subject = no\n")
    expiry = not_after.strftime("%y%m%d%H%M%SZ")
    revoked_at = datetime.now(UTC).strftime("%y%m%d%H%M%SZ")
    with path.open("w") as index:
        for serial, status in serials:
            if status == "revoked":
                index.write(f"R\t{expiry}\t{revoked_at},keyCompromise\t{serial:X}\tunknown\t/CN=bench\n")
            else:
                index.write(f"V\t{expiry}\t\t{serial:X}\tunknown\t/CN=bench\n")


def request_hex(root: x509.Certificate, serial: int) -> str:
    name_hash = hashes.Hash(hashes.SHA1())
    name_hash.update(root.subject.public_bytes())
    key_hash = hashes.Hash(hashes.SHA1())
    key_hash.update(root.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1))
    request = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        name_hash.finalize(), key_hash.finalize(), serial, hashes.SHA1()).build()
    return request.public_bytes(serialization.Encoding.DER).hex()


def run_wrk(url_base: str, path: str, requests_file: Path, script: Path, duration: float, connections: int) -> float:
    env = {**os.environ, "OCSP_REQUESTS": str(requests_file) if requests_file.name else "", "OCSP_PATH": path}
    done = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", f"{max(1, round(duration))}s", "-s", str(script), url_base],
        capture_output=True, text=True, env=env, timeout=duration + 60)
    match = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    if done.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed: {done.stdout}{done.stderr}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    if errors:
        raise RuntimeError(f"wrk saw {errors.group(1)} error responses from {url_base}{path}")
    return float(match.group(1))


def bench_ocsp(args: argparse.Namespace, work: Path) -> None:
    data = work / "data"
    port = free_port()
    config = ServiceConfig(data_dir=data, public_base_url=f"http://127.0.0.1:{port}")
    runtime = CaRuntime.open(config)
    started = time.perf_counter()
    serials = fill_store(runtime, args.certs, revoked_every=100)
    print(f"store: {args.certs} certificates (1 % revoked) written in {time.perf_counter() - started:.1f} s")
    root = runtime.service.cas["sign"].certificate
    not_after = runtime.service.store.find("sign", limit=1)[0].not_after
    runtime.close()

    sample = random.Random(9).sample(serials, min(1000, len(serials)))
    requests_file = work / "requests.hex"
    requests_file.write_text("".join(request_hex(root, serial) + "\n" for serial, _ in sample))
    script = work / "ocsp.lua"
    script.write_text(WRK_SCRIPT)
    index = work / "index.txt"
    write_index(index, serials, not_after)
    (work / "ca.pem").write_bytes(root.public_bytes(serialization.Encoding.PEM))

    serve_log = work / "serve.log"
    serve = subprocess.Popen([sys.executable, "-m", "mynacard", "serve", "--data", str(data), "--port", str(port),
                              "--workers", str(args.workers)],
                             stdout=subprocess.DEVNULL, stderr=serve_log.open("wb"))
    openssl_port = free_port()
    responder = None
    try:
        try:
            wait_port(port)
        except RuntimeError:
            raise RuntimeError("mynacard serve did not start: " + serve_log.read_text(errors="replace")[-800:]) from None
        responder = start_openssl(args, work, data, index, openssl_port)
        base = f"http://127.0.0.1:{port}"
        bodies = [bytes.fromhex(line) for line in requests_file.read_text().split()]
        with httpx.Client() as http:
            started = time.perf_counter()
            for body in bodies:  # first answers: signed on demand, then cached
                answer = ocsp.load_der_ocsp_response(http.post(f"{base}/ca/ocsp/sign", content=body).content)
                assert answer.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
            cold = len(bodies) / (time.perf_counter() - started)
            check = http.post(f"http://127.0.0.1:{openssl_port}/", content=bodies[0])
            assert ocsp.load_der_ocsp_response(check.content).response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
        warm = max(1.0, args.duration / 2)  # every worker signs its answers once before the measured run
        run_wrk(base, "/ca/ocsp/sign", requests_file, script, warm, args.connections)
        ours = run_wrk(base, "/ca/ocsp/sign", requests_file, script, args.duration, args.connections)
        for attempt in range(OPENSSL_ATTEMPTS):
            run_wrk(f"http://127.0.0.1:{openssl_port}", "/", requests_file, script, warm, args.connections)
            theirs = run_wrk(f"http://127.0.0.1:{openssl_port}", "/", requests_file, script, args.duration,
                             args.connections)
            if theirs > 0:
                break
            # openssl ocsp sometimes stops answering altogether (every -multi child stuck on a
            # connection): its figure would be a stall, not its speed — start it afresh.
            print(f"  openssl ocsp answered nothing (attempt {attempt + 1}); restarting it", file=sys.stderr)
            stop_openssl(responder)
            responder = start_openssl(args, work, data, index, openssl_port)
        else:
            raise SystemExit(f"bench_ca_service: openssl ocsp answered nothing in {OPENSSL_ATTEMPTS} attempts")
        print(f"OCSP, {len(bodies)} distinct requests, wrk -c {args.connections}, {args.duration:.0f} s each, "
              f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores:")
        print(f"  mynacard serve --workers {args.workers} (pre-signed) {ours:8.0f} responses/s")
        print(f"  openssl ocsp -index -multi {args.multi} (same run)   {theirs:6.0f} responses/s")
        print(f"  ratio mynacard / openssl      {ours / theirs:10.2f}x   (target >= 2.5)")
        print(f"  first answers (signed on demand, one client) {cold:.0f} responses/s")
        bench_nginx(args, work, port, root, bodies)
        reflect(base, data, root, bodies)
        issuance(base, data, args.issue)
    finally:
        serve.terminate()
        if responder is not None:
            stop_openssl(responder)
        serve.wait(30)


def start_openssl(args: argparse.Namespace, work: Path, data: Path, index: Path, port: int) -> subprocess.Popen[bytes]:
    """`openssl ocsp -multi` on `port`, serving `index` with the CA service's delegated signer."""
    responder = subprocess.Popen(
        ["openssl", "ocsp", "-index", str(index), "-port", str(port), "-rsigner", str(data / "ca" / "sign-ocsp.pem"),
         "-rkey", str(data / "ca" / "sign-ocsp.key.pem"), "-CA", str(work / "ca.pem"), "-nmin", "15", "-ignore_err",
         "-multi", str(args.multi)],
        stdout=subprocess.DEVNULL, stderr=(work / "openssl-ocsp.log").open("wb"))
    wait_openssl(port, work / "openssl-ocsp.log", responder)
    return responder


def stop_openssl(responder: subprocess.Popen[bytes]) -> None:
    if responder.poll() is None:  # -multi's parent leads a process group of its own and ignores SIGTERM
        os.killpg(responder.pid, signal.SIGKILL)
    responder.wait(30)


def bench_nginx(args: argparse.Namespace, work: Path, upstream: int, root: x509.Certificate,
                bodies: list[bytes]) -> None:
    """RFC 5019 GETs through nginx's cache against a static file of an answer's size, same nginx."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        print("nginx: not installed (tools/setup.sh installs it); skipped")
        return
    prefix = work / "nginx"
    (prefix / "static").mkdir(parents=True)
    port, static_port = free_port(), free_port()
    snippet = ((Path(__file__).resolve().parent.parent / "docs" / "nginx-ocsp.conf").read_text(encoding="utf-8")
               .replace("@CACHE_DIR@", str(prefix / "cache")).replace("@LISTEN@", f"127.0.0.1:{port}")
               .replace("@UPSTREAM@", f"127.0.0.1:{upstream}"))
    config = prefix / "nginx.conf"
    config.write_text(NGINX_MAIN.format(user="user root root;\n" if os.geteuid() == 0 else "", prefix=prefix,
                                        snippet=snippet, static_listen=f"127.0.0.1:{static_port}"))
    paths = ["/ca/ocsp/sign/" + quote(base64.b64encode(body).decode(), safe="") for body in bodies]
    (work / "get-paths.txt").write_text("\n".join(paths) + "\n")
    script = work / "ocsp-get.lua"
    script.write_text(WRK_GET_SCRIPT)
    nginx = subprocess.Popen([binary, "-p", str(prefix), "-c", str(config)], stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            for path in paths:  # fill the cache
                answer = http.get(path)
                assert answer.status_code == 200, answer.text
            size = len(answer.content)
            assert http.get(paths[0]).headers.get("x-cache-status") == "HIT"
        (prefix / "static" / "answer.der").write_bytes(os.urandom(size))
        cached = run_wrk(f"http://127.0.0.1:{port}", "", work / "get-paths.txt", script, args.duration,
                         args.connections)
        static = run_wrk(f"http://127.0.0.1:{static_port}", "/static/answer.der", Path(""), script, args.duration,
                         args.connections)
    finally:
        nginx.terminate()
        nginx.wait(10)
    print(f"OCSP GET through nginx's cache ({len(paths)} URLs, {size} B answers): {cached:.0f} responses/s; "
          f"nginx serving a {size} B static file: {static:.0f}/s; ratio {cached / static:.0%} (target >= 50 %)")


def reflect(base: str, data: Path, root: x509.Certificate, bodies: list[bytes]) -> None:
    """Time from the revoke call's answer to the first OCSP answer saying revoked."""
    import json

    token = json.loads((data / "tokens.json").read_text())["ca-admin"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client() as http:
        for body in bodies:
            answer = ocsp.load_der_ocsp_response(http.post(f"{base}/ca/ocsp/sign", content=body).content)
            if answer.certificate_status is ocsp.OCSPCertStatus.GOOD:
                break
        serial = f"{answer.serial_number:X}"
        started = time.perf_counter()
        http.post(f"{base}/ca/v1/sign/certificates/{serial}/revoke", json={"reason": "keyCompromise"},
                  headers=headers).raise_for_status()
        acknowledged = time.perf_counter()
        while True:
            answer = ocsp.load_der_ocsp_response(http.post(f"{base}/ca/ocsp/sign", content=body).content)
            if answer.certificate_status is ocsp.OCSPCertStatus.REVOKED:
                break
        seen = time.perf_counter()
    print(f"revocation -> OCSP: revoke call {1000 * (acknowledged - started):.1f} ms, "
          f"first 'revoked' answer {1000 * (seen - acknowledged):.1f} ms after the acknowledgement "
          "(the same connection, so the worker that revoked: immediate; other workers and processes: "
          "within the 60 s refresh)")


def issuance(base: str, data: Path, count: int) -> None:
    import json

    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from mynacard.ca.authority import load_test_authority

    token = json.loads((data / "tokens.json").read_text())["register->ca"]
    pem = generate_rsa_key().public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    body = {"public_key_pem": pem, "person": {"name": PERSON.name, "sex": "2", "birth_date": "1985-04-12",
                                              "address": PERSON.address},
            "locality": {"prefecture": "Tokyo", "city": "Kiyose-shi"}, "municipality_code": "13221",
            "card_expiry": "2034-04-12"}
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as http:
        started = time.perf_counter()
        for _ in range(count):
            http.post(f"{base}/ca/v1/sign/certificates", json=body).raise_for_status()
        over_http = count / (time.perf_counter() - started)
    authority = load_test_authority()
    key = x509.load_pem_x509_certificate  # noqa: F841 - keep the import cost out of the timing below
    public = generate_rsa_key().public_key()
    started = time.perf_counter()
    for _ in range(count):
        authority.sign_ca.issue(public, PERSON, LOCALITY, "13221", date(2034, 4, 12),
                                datetime.now(UTC) + timedelta(days=3000))
    alone = count / (time.perf_counter() - started)
    print(f"issuance: {over_http:.0f} certificates/s through the HTTP API (signed, recorded, one client); "
          f"signing alone in process {alone:.0f}/s; ratio {over_http / alone:.2f}")


def bench_crl(args: argparse.Namespace, work: Path) -> None:
    data = work / "crl-data"
    runtime = CaRuntime.open(ServiceConfig(data_dir=data))
    serials = fill_store(runtime, args.crl, revoked_every=1)
    publisher = CrlPublisher(runtime.service, {"sign": "http://127.0.0.1:8470/ca/crl/sign.crl"}, CrlPolicy())
    started = time.perf_counter()
    published = publisher.generate("sign")
    ours = time.perf_counter() - started
    crl = x509.load_der_x509_crl(published.der)
    assert len(crl) == len(serials) + 0 or len(crl) == len(serials)
    served = runtime.service.cas["sign"]
    entries = list(runtime.service.store.revoked("sign"))
    started = time.perf_counter()
    builder = (x509.CertificateRevocationListBuilder().issuer_name(served.certificate.subject)
               .last_update(datetime.now(UTC)).next_update(datetime.now(UTC) + timedelta(days=1)))
    for entry in entries:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(entry.serial).revocation_date(entry.time)
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False).build())
    builder.sign(served.ca.private_key, hashes.SHA256())
    baseline = time.perf_counter() - started
    runtime.close()
    print(f"CRL with {len(crl)} revoked entries ({len(published.der) / 1e6:.1f} MB): generated in {ours:.2f} s "
          f"(store read + DER + signature; target < 2 s); cryptography's builder {baseline:.2f} s; "
          f"ratio {baseline / ours:.1f}x faster")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--certs", type=int, default=100_000, help="issued certificates for the OCSP run")
    parser.add_argument("--duration", type=float, default=10, help="seconds of wrk load per server")
    parser.add_argument("--connections", type=int, default=4,
                        help="wrk connections (openssl ocsp serves one at a time; default 4)")
    parser.add_argument("--crl", type=int, default=100_000, help="revoked entries for the CRL run")
    parser.add_argument("--issue", type=int, default=200, help="issuances for the issuance run")
    parser.add_argument("--workers", type=int, default=2, help="mynacard serve --workers (default 2)")
    parser.add_argument("--multi", type=int, default=2, help="openssl ocsp -multi (responder processes, default 2)")
    args = parser.parse_args()
    for tool in ("wrk", "openssl"):
        if not shutil.which(tool):
            print(f"bench_ca_service: needs {tool} (tools/setup.sh installs it)", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory(prefix="bench-ca-") as folder:
        work = Path(folder)
        bench_ocsp(args, work)
        bench_crl(args, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
