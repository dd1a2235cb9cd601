"""`mynacard serve --workers N`: N server processes on one port, under uvicorn's supervisor.

Why uvicorn's own supervisor (`uvicorn.supervisors.Multiprocess`) on the socket `serve` already
bound: it is the proven engine the services run on anyway, it shares that one listening socket
(the kernel hands each connection to whichever worker accepts it first), replaces a worker that
dies, stops every worker on SIGINT/SIGTERM, and stops the whole server if a worker fails while
starting (a broken configuration would fail the same way on every restart). No second server
stack (gunicorn) and no SO_REUSEPORT port juggling.

Workers are spawned, not forked: each imports the services afresh and opens its own database
engines and pools, so no connection, lock or thread crosses a fork. What must happen once is done
here, in the supervisor, before any worker starts (`prepare`): migrations, the CA's OCSP signer
keys and certificates, the register's number key — N processes migrating one database or writing
one key file at the same moment would race. Background jobs run in one worker, the leader
(service/leader.py). Metrics are summed across workers (service/metrics.py).
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
from functools import partial

from mynacard.service.config import ServiceConfig
from mynacard.service.fast_paths import Asgi
from mynacard.service.metrics import MULTIPROC_ENV

PASSPHRASE_ENV = "MYNACARD_CA_PASSPHRASE"


def prepare(config: ServiceConfig) -> list[str]:
    """Every service's first-start work, once; returns the mount prefixes the workers will serve."""
    from mynacard.ca.identity import ask_passphrase
    from mynacard.ca.runtime import CaRuntime
    from mynacard.register_stub.centre.store import open_centre_store
    from mynacard.register_stub.runtime import RegisterRuntime
    from mynacard.serve import MOUNTS

    def passphrase_once() -> bytes:
        # Asked (or read) once here; the workers find it where ask_passphrase looks first.
        secret = ask_passphrase()
        os.environ[PASSPHRASE_ENV] = secret.decode()
        return secret

    CaRuntime.open(config, passphrase=passphrase_once).close()
    RegisterRuntime.open(config, start_worker=False).close()
    open_centre_store(config).dispose()
    return [prefix for prefix, _module in MOUNTS]


def worker_app(config: ServiceConfig) -> Asgi:
    """The app of one worker process (uvicorn calls it after the spawn, in the worker)."""
    from uvicorn.config import STARTUP_FAILURE

    from mynacard.serve import build_app, settle_heap

    try:
        app = build_app(config)[0]
        settle_heap()
        return app
    except Exception as exc:  # noqa: BLE001 - any failure here would fail again on every restart
        print(f"mynacard serve: worker {os.getpid()} cannot start: {exc}", file=sys.stderr, flush=True)
        sys.exit(STARTUP_FAILURE)


def run_workers(config: ServiceConfig, sock: socket.socket, workers: int) -> int:
    """Serve until SIGINT/SIGTERM with `workers` processes; 1 when a worker could not start."""
    from uvicorn import Config
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    metrics_dir = tempfile.mkdtemp(prefix="mynacard-metrics-")  # 0700: the workers' samples are ours alone
    os.environ[MULTIPROC_ENV] = metrics_dir
    try:
        uvicorn_config = Config(partial(worker_app, config), factory=True, workers=workers, log_level="warning",
                                access_log=False)
        supervisor = Multiprocess(uvicorn_config, sockets=[sock])
        supervisor.run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        print("mynacard serve: a worker process could not start (its error is above); all workers stopped",
              file=sys.stderr)
        return 1
    return 0
