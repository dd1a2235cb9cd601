"""`/healthz` and `/readyz` of `mynacard serve`, for load balancers and orchestrators.

`/healthz` says only that the process answers (a liveness probe must not fail because a database
is down, or the orchestrator restarts a healthy process). `/readyz` says whether this process can
serve: every mounted service's database answers `SELECT 1`, and the CA's keys were loaded at start
(a CA runtime exists only once its keys are). Otherwise 503 with the reasons, which name the
service and never hold a URL with a password. A service with a read standby (`--read-db`) also
says whether it answers: a standby that does not is no reason to be unready (the primary serves
its reads), but an operator looking at /readyz should see it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from mynacard.service.standby import StandbyReads


def _engines(app: FastAPI) -> list[Engine]:
    runtime: Any = getattr(app.state, "runtime", None)
    if runtime is None:
        return []
    store = getattr(runtime, "store", None)
    engine = getattr(runtime, "engine", None) or getattr(store, "engine", None)
    return [engine] if isinstance(engine, Engine) else []


def _standby(app: FastAPI) -> StandbyReads | None:
    runtime: Any = getattr(app.state, "runtime", None)
    found = getattr(runtime, "standby", None) or getattr(getattr(runtime, "store", None), "standby", None)
    return found if isinstance(found, StandbyReads) else None


def standbys(services: dict[str, FastAPI]) -> dict[str, str]:
    """Each read standby's state by service prefix ({} without `--read-db`)."""
    return {prefix: standby.state() for prefix, app in services.items() if (standby := _standby(app)) is not None}


def problems(services: dict[str, FastAPI]) -> list[str]:
    """Why this process is not ready ([] when it is)."""
    found: list[str] = []
    for prefix, app in services.items():
        for engine in _engines(app):
            try:
                with engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
            except Exception as exc:  # noqa: BLE001 - any failure means not ready; the class names it
                found.append(f"{prefix}: the database does not answer ({type(exc).__name__})")
        if prefix == "/ca" and getattr(getattr(app.state, "runtime", None), "service", None) is None:
            found.append("/ca: the CA keys are not loaded")
    return found


def install(root: FastAPI, services: dict[str, FastAPI]) -> None:
    """Add /healthz and /readyz to the root app of `mynacard serve`."""

    @root.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @root.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        found = problems(services)
        reads = {"standbys": states} if (states := standbys(services)) else {}
        if found:
            return JSONResponse({"status": "not ready", "reasons": found, **reads}, status_code=503)
        return JSONResponse({"status": "ready", "services": sorted(services), **reads})
