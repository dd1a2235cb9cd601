"""Where the emulator keeps its files: a private runtime directory and a per-user state directory.

The runtime directory holds what must be shared by every mynacard process on the machine that
talks to the one pcscd (slot lock files, the private reader config, control sockets), so it is
machine-wide for root (`/run/mynacard`) and per user otherwise. It must be private (mode 0700,
ours): the control sockets in it are protected by its permissions alone.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from mynacard.emulator.errors import EmulatorError


def runtime_dir() -> Path:
    """The private runtime directory, created 0700 if missing and checked to be ours and private."""
    override = os.environ.get("MYNACARD_RUNTIME_DIR")
    if override:
        path = Path(override)
    elif os.geteuid() == 0:
        path = Path("/run/mynacard")
    elif os.environ.get("XDG_RUNTIME_DIR"):
        path = Path(os.environ["XDG_RUNTIME_DIR"]) / "mynacard"
    else:
        path = Path(f"/tmp/mynacard-{os.geteuid()}")  # noqa: S108 - private_dir checks owner and mode
    return private_dir(path)


def private_dir(path: Path) -> Path:
    """Create `path` (mode 0700) if needed and refuse it unless it is ours and closed to others."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.lstat()
    except OSError as exc:
        raise EmulatorError(f"cannot create the directory {path}: {exc.strerror}.") from exc
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise EmulatorError(f"{path} is not a directory owned by you; remove it or set MYNACARD_RUNTIME_DIR.")
    if info.st_mode & 0o022:
        raise EmulatorError(f"{path} is open to other users; run `chmod 700 {path}`.")
    if info.st_mode & 0o077:
        # Ours and writable by no one else, so nothing in it can have been planted: an earlier
        # `mkdir -p` (umask 022) or a mount point left it readable, and closing it is safe.
        try:
            path.chmod(0o700)
        except OSError as exc:
            raise EmulatorError(f"{path} is readable by other users and cannot be closed: {exc.strerror}.") from exc
    return path


def state_dir() -> Path:
    """The per-user state directory (`$XDG_STATE_HOME/mynacard`, else ~/.local/state/mynacard)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    path = Path(base) / "mynacard"
    path.mkdir(parents=True, exist_ok=True)
    return path
