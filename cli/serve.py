"""`mynacard serve`: the back-office services in one uvicorn process.

Each service is a FastAPI app from `<module>.create_app(config)`, mounted under its prefix
(`/ca`, `/register`, …). A module that is not installed yet is skipped with a warning, so services
land one at a time. On first start the tokens every caller needs are made and written to
`DATA/tokens.json` (mode 0600); each service stores only their SHA-256 digests.
"""

from __future__ import annotations

import argparse
import errno
import gc
import importlib
import json
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mynacard.errors import UserError
from mynacard.main import CommandRoot

if TYPE_CHECKING:
    from fastapi import FastAPI

    from mynacard.service.config import ServiceConfig
    from mynacard.service.fast_paths import Asgi

#: (mount prefix, module with create_app) in mount order.
MOUNTS: tuple[tuple[str, str], ...] = (
    ("/ca", "mynacard.ca.http"),
    ("/register", "mynacard.register_stub.http"),
    ("/centre", "mynacard.register_stub.centre.http"),
)
TOKENS_FILE = "tokens.json"

DESCRIPTION = """\
Run mynacard's back-office services on one port: the JPKI CA service at /ca (issuance,
revocation, CRLs, OCSP), the resident register at /register and the issuance centre for
convenience-store kiosks (証明書交付センター) at /centre.

Data (SQLite databases, CA keys, tokens) lives in --data DIR (default: ~/.local/share/mynacard/
server). The CA signs with the mynacard TEST AUTHORITY (insecure public test keys) unless
`mynacard ca init` made a deployment CA in DIR; that one's keys are encrypted and need
MYNACARD_CA_PASSPHRASE (or a prompt). API tokens are written to DIR/tokens.json on first start.
"""

EPILOG = """\
examples:
  mynacard serve                                   everything under ~/.local/share/mynacard/server
  mynacard serve --data ./srv --port 8471
  mynacard serve --ca-db postgresql+psycopg://user@/mynacard?host=/run/postgresql
  mynacard serve --ca-db postgresql+psycopg://u@pg1/ca --register-db postgresql+psycopg://u@pg1/register \\
                 --read-db postgresql+psycopg://u@pg2/   reads from pg1's standby pg2
then:
  mynacard ca list sign --data ./srv               administrative calls (token from tokens.json)
  openssl ocsp -issuer SIGN-CA.pem -serial 0x… -url http://127.0.0.1:8470/ca/ocsp/sign -resp_text
"""


def register(root: CommandRoot) -> None:
    from mynacard.service.config import DEFAULT_HOST, DEFAULT_PORT

    serve = root.command("serve", help="run the CA service, the register and the issuance centre over HTTP",
                         description=DESCRIPTION, epilog=EPILOG)
    serve.add_argument("--data", type=Path, metavar="DIR", help="data directory (default: the user's data dir)")
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    serve.add_argument("--public-url", metavar="URL",
                       help="base URL written into certificates (OCSP, CRL); default http://HOST:PORT")
    serve.add_argument("--ca-db", metavar="URL", help="SQLAlchemy URL of the CA database (default SQLite in DIR)")
    serve.add_argument("--register-db", metavar="URL", help="SQLAlchemy URL of the register database")
    serve.add_argument("--read-db", metavar="URL",
                       help="PostgreSQL streaming-replication standby of the primaries: lookups, 方法2 and OCSP status "
                       "read there (each service its own database name unless URL names one); writes stay on the "
                       "primary, which also serves the reads while the standby does not answer")
    serve.add_argument("--workers", type=_positive, default=default_workers(), metavar="N",
                       help="server processes on the one port (default: the number of cores, here "
                       f"{default_workers()}); see docs/ca-service.md, 'Worker processes'")
    timing = serve.add_argument_group("CA status timings")
    timing.add_argument("--ocsp-refresh", type=_positive, default=60, metavar="SECONDS",
                        help="re-sign a cached OCSP answer after this long: the bound for a change made by another "
                        "process to show (one process: at once; default 60)")
    timing.add_argument("--ocsp-validity", type=_positive, default=15, metavar="MINUTES",
                        help="OCSP nextUpdate after thisUpdate (default 15, JPKI's refresh interval)")
    timing.add_argument("--crl-refresh", type=_positive, default=60, metavar="MINUTES",
                        help="remake CRLs at least this often (and always after a change; default 60)")
    serve.set_defaults(func=_serve)


def default_workers() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's total)."""
    return len(os.sched_getaffinity(0))


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def load_tokens(data_dir: Path) -> dict[str, str]:
    """The tokens file `mynacard serve` wrote ({} when there is none yet)."""
    path = data_dir / TOKENS_FILE
    try:
        return {str(k): str(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
    except FileNotFoundError:
        return {}


def ensure_tokens(data_dir: Path) -> dict[str, str]:
    """Load DATA/tokens.json, make any token still missing, write it back (0600, atomically)."""
    from mynacard.files import write_atomically
    from mynacard.service.auth import SERVE_TOKENS, new_token

    tokens = load_tokens(data_dir)
    missing = [name for name in SERVE_TOKENS if name not in tokens]
    if missing or not (data_dir / TOKENS_FILE).exists():
        tokens.update({name: new_token() for name in missing})
        write_atomically(data_dir / TOKENS_FILE, (json.dumps(tokens, indent=2) + "\n").encode(), 0o600)
    return tokens


def settle_heap() -> None:
    """Move everything the services loaded at start into the collector's permanent generation.
    Why: ~160,000 long-lived objects (the frameworks, models, compiled queries) made every full
    collection a ~50–100 ms pause of the whole server — measured, and enough on its own to set a
    benchmark's p99; frozen, they are never scanned again, and what requests allocate is."""
    gc.collect()
    gc.freeze()


def build_app(config: ServiceConfig) -> tuple[Asgi, list[str]]:
    """The root ASGI app with every available service mounted; returns it and the mounted prefixes."""
    from fastapi import FastAPI

    from mynacard.service import health
    from mynacard.service.fast_paths import dispatch
    from mynacard.service.metrics import METRICS_TOKEN, MetricsMiddleware

    root = FastAPI(title="mynacard services", docs_url=None, redoc_url=None, openapi_url=None)
    mounted: list[str] = []
    apps: dict[str, FastAPI] = {}
    for prefix, module_name in MOUNTS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                print(f"serve: {module_name} is not installed; {prefix} is not served", file=sys.stderr)
                continue
            raise
        create: Callable[[ServiceConfig], FastAPI] = module.create_app
        app = create(config)
        root.mount(prefix, app)
        mounted.append(prefix)
        apps[prefix] = app
    health.install(root, apps)
    sources = [source for app in apps.values() for source in getattr(app.state, "metric_sources", [])]
    dispatcher = dispatch(root, apps)
    return MetricsMiddleware(dispatcher, dict(dispatcher.paths), dispatcher.routes, sources, config.tokens.get(METRICS_TOKEN)), mounted


class PortUnavailableError(UserError):
    """The port `mynacard serve` was asked for cannot be listened on (another server holds it)."""


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to HOST:PORT and already listening, so the URLs printed after it are live:
    a script that reads them can connect at once (the kernel queues until uvicorn accepts), and a
    busy port is reported before anything claims the server is up."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = "is already in use" if exc.errno == errno.EADDRINUSE else f"cannot be listened on ({exc.strerror})"
        raise PortUnavailableError(f"port {port} on {host} {reason}; stop the server that holds it "
                                   "or choose another with --port") from None
    sock.set_inheritable(True)
    return sock


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from mynacard.service.config import ServiceConfig, default_data_dir
    from mynacard.service.standby import standby_url

    data_dir = (args.data or default_data_dir()).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    public = args.public_url or f"http://{args.host}:{args.port}"
    urls = {name: url for name, url in (("ca", args.ca_db), ("register", args.register_db)) if url}
    config = ServiceConfig(data_dir=data_dir, public_base_url=public, database_urls=urls,
                           tokens=ensure_tokens(data_dir), read_database_url=args.read_db,
                           ocsp_refresh_seconds=args.ocsp_refresh,
                           ocsp_validity_minutes=args.ocsp_validity, crl_refresh_minutes=args.crl_refresh)
    sock = listening_socket(args.host, args.port)  # before anything is printed or loaded: a busy port fails fast
    app: Asgi | None = None
    try:
        for service in ("ca", "register"):  # a refused --read-db before any service writes (keys, tables)
            standby_url(config, service)
        if args.workers > 1:
            from mynacard.workers import prepare

            mounted = prepare(config)  # the workers build the apps; the supervisor does the one-time work
        else:
            app, mounted = build_app(config)
    except ValueError as exc:  # AuthorityError and the services' own refusals: one sentence, no traceback
        print(f"mynacard serve: {exc}", file=sys.stderr)
        return 1
    print(f"mynacard serve: data in {data_dir}")
    for prefix in mounted:
        print(f"  {public}{prefix}/   (OpenAPI: {public}{prefix}/openapi.json, docs: {public}{prefix}/docs)")
    if "/ca" in mounted:
        from mynacard.ca.identity import TEST_AUTHORITY, CaDirectory

        if CaDirectory(data_dir / "ca").origin() == TEST_AUTHORITY:
            print("  CA keys: the mynacard TEST AUTHORITY (insecure public test keys; hosts trust it only with "
                  "--trust-test-authority)")
        else:
            print(f"  CA keys: the deployment CA in {data_dir / 'ca'} (encrypted; its roots are sign-ca.pem, auth-ca.pem)")
        for ca_id in ("sign", "auth"):
            print(f"  {ca_id} CA: OCSP {public}/ca/ocsp/{ca_id}   CRL {public}/ca/crl/{ca_id}.crl")
    print(f"  API tokens: {data_dir / TOKENS_FILE}")
    if app is None:
        from mynacard.workers import run_workers

        print(f"  {args.workers} worker processes")
        sys.stdout.flush()
        return run_workers(config, sock, args.workers)
    sys.stdout.flush()
    settle_heap()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[sock])
    return 0
