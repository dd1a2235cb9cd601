"""What a fast route opens on the event loop is closed there when the server shuts down
(service/fast_paths.py `declare_closer`): mounted apps' own lifespans never run, so the dispatcher
that `mynacard serve` serves runs the closers — once, at shutdown, before the root app's own."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from mynacard.service.fast_paths import declare_closer, dispatch


def test_declared_closers_run_once_at_shutdown() -> None:
    happened: list[str] = []
    service = FastAPI()

    async def close() -> None:
        happened.append("closed")

    declare_closer(service, close)
    root = FastAPI()
    root.mount("/service", service)
    with TestClient(dispatch(root, {"/service": service})) as client:
        assert client.get("/service/nothing").status_code == 404  # the app serves as usual
        assert happened == []  # nothing is closed while the server runs
    assert happened == ["closed"]
