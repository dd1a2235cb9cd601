"""Where a service keeps its data and how it is reached."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8470


def default_data_dir() -> Path:
    """`$XDG_DATA_HOME/mynacard/server`, i.e. `~/.local/share/mynacard/server` by default."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mynacard" / "server"


def sqlite_url(data_dir: Path, name: str) -> str:
    """The SQLAlchemy URL of the service database `name` (one file) in `data_dir`."""
    return f"sqlite+pysqlite:///{(data_dir / f'{name}.sqlite3').resolve()}"


@dataclass(frozen=True)
class ServiceConfig:
    """What every mounted service app is built from.

    `database_urls` maps a service name (`ca`, `register`, …) to its SQLAlchemy URL; a service
    without an entry gets a SQLite file in `data_dir`. `tokens` holds the tokens this process's
    services use to call each other (e.g. `register->ca`), never logged. The status timings are
    the CA's (docs/ca-service.md): how soon a change made elsewhere shows in OCSP, how long an
    OCSP answer is valid, how often a CRL is remade without changes. `read_database_url` is the
    PostgreSQL standby that lookups, 方法2 and OCSP status reads go to (`service/standby.py`).
    """

    data_dir: Path
    public_base_url: str = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
    database_urls: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict, repr=False)
    read_database_url: str | None = field(default=None, repr=False)
    ocsp_refresh_seconds: int = 60
    ocsp_validity_minutes: int = 15
    crl_refresh_minutes: int = 60

    def database_url(self, service: str) -> str:
        return self.database_urls.get(service) or sqlite_url(self.data_dir, service)

    def service_url(self, mount: str) -> str:
        """The public URL of a mounted service, e.g. `http://127.0.0.1:8470/ca`."""
        return f"{self.public_base_url.rstrip('/')}/{mount.strip('/')}"
