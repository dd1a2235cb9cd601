"""Backup and restore of a CA service: its database rows and its key directory, in one archive.

The archive (`.tar.gz`) holds `manifest.json`, `ca/…` (certificates, OCSP signers, and for a
deployment CA its keys, still encrypted under the CA passphrase) and one JSON-lines file per
table. It is database-neutral: a SQLite service can be restored onto PostgreSQL and back.
API tokens are not included; `mynacard serve` makes new ones. Restore writes only into an empty
store and a data directory without CA keys, so it can never mix two CAs' records.
"""

from __future__ import annotations

import base64
import io
import json
import tarfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, Table, func, select

from mynacard.ca import store_schema as schema
from mynacard.ca.errors import AuthorityError
from mynacard.files import write_atomically

FORMAT = "mynacard-ca-backup"
VERSION = 1
TABLES: tuple[Table, ...] = (schema.certificates, schema.events, schema.crl_state)
#: Files of DATA/ca/ that belong in a backup (identity.py names them).
CA_FILES = ("identity.json", "sign-ca.pem", "sign-ca.key.pem", "sign-ocsp.pem", "sign-ocsp.key.pem",
            "auth-ca.pem", "auth-ca.key.pem", "auth-ocsp.pem", "auth-ocsp.key.pem")


def _json_value(value: object) -> object:
    if isinstance(value, bytes):
        return {"b64": base64.b64encode(value).decode()}
    if isinstance(value, datetime):
        return {"time": (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()}
    return value


def _from_json(value: object) -> object:
    if isinstance(value, dict) and "b64" in value:
        return base64.b64decode(value["b64"])
    if isinstance(value, dict) and "time" in value:
        return datetime.fromisoformat(value["time"])
    return value


def _add(archive: tarfile.TarFile, name: str, data: bytes, mode: int = 0o600) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = int(datetime.now(UTC).timestamp())
    archive.addfile(info, io.BytesIO(data))


def export_archive(engine: Engine, ca_directory: Path, origin: str) -> bytes:
    """A consistent snapshot (one read transaction) as a gzip'd tar."""
    buffer = io.BytesIO()
    counts: dict[str, int] = {}
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        with engine.begin() as connection:
            for table in TABLES:
                lines = [
                    json.dumps({key: _json_value(value) for key, value in row._mapping.items()}, ensure_ascii=False)
                    for row in connection.execute(select(table))
                ]
                counts[table.name] = len(lines)
                _add(archive, f"{table.name}.jsonl", ("\n".join(lines) + "\n" if lines else "").encode())
        for name in CA_FILES:
            path = ca_directory / name
            if path.exists():
                _add(archive, f"ca/{name}", path.read_bytes())
        manifest = {"format": FORMAT, "version": VERSION, "created_at": datetime.now(UTC).isoformat(),
                    "origin": origin, "rows": counts}
        _add(archive, "manifest.json", (json.dumps(manifest, indent=2) + "\n").encode(), 0o644)
    return buffer.getvalue()


def _read_archive(
    archive: tarfile.TarFile, archive_path: Path
) -> tuple[dict[str, object], dict[str, list[dict[str, object]]], dict[str, bytes]]:
    """The manifest, the rows of every table and the CA files of an opened backup."""
    members = {member.name: member for member in archive.getmembers() if member.isfile()}

    def read(name: str) -> bytes:
        member = members.get(name)
        handle = archive.extractfile(member) if member else None
        if handle is None:
            raise AuthorityError(f"{archive_path} has no {name}; it is not a complete CA backup")
        return handle.read()

    manifest = json.loads(read("manifest.json"))
    rows = {table.name: [json.loads(line) for line in read(f"{table.name}.jsonl").decode().splitlines() if line]
            for table in TABLES}
    files = {name: read(f"ca/{name}") for name in CA_FILES if f"ca/{name}" in members}
    return manifest, rows, files


def restore_archive(archive_path: Path, engine: Engine, ca_directory: Path) -> dict[str, int]:
    """Load a backup into an empty, migrated store and a data dir without CA keys; returns row counts."""
    try:
        with tarfile.open(archive_path, mode="r:gz") as archive:
            manifest, rows, files = _read_archive(archive, archive_path)
    except (OSError, tarfile.TarError, json.JSONDecodeError, UnicodeDecodeError):
        raise AuthorityError(f"{archive_path} is not a mynacard CA backup (not a readable .tar.gz)") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise AuthorityError(f"{archive_path} is not a version-{VERSION} mynacard CA backup")
    if any((ca_directory / name).exists() for name in CA_FILES if name.endswith("-ca.key.pem") or name == "identity.json"):
        raise AuthorityError(f"{ca_directory} already holds CA keys; restore into a new data directory")
    with engine.begin() as connection:
        if connection.execute(select(func.count()).select_from(schema.certificates)).scalar():
            raise AuthorityError("the target database already holds certificates; restore into an empty one")
        connection.execute(schema.crl_state.delete())  # the migration's zero counters, replaced below
        for table in TABLES:
            if rows[table.name]:
                connection.execute(
                    table.insert(), [{k: _from_json(v) for k, v in row.items()} for row in rows[table.name]]
                )
    for name, data in files.items():
        write_atomically(ca_directory / name, data, 0o600 if "key" in name else 0o644)
    return {name: len(values) for name, values in rows.items()}
