"""Where a card keeps its image and state: the one place the card model touches storage.

The card OS only sees the `CardStore` protocol, injected when the card is opened. `DirectoryStore`
is a card image directory (image.py, state.py) written atomically: a temporary file of its own
name in the same directory, fsync, rename over the old file, fsync of the directory — so after a
crash a file is either the old or the new version, never a mixture. `MemoryStore` keeps
everything in memory for tests and tools that must not touch the disk.

A real card is one chip with one counter per secret, whoever talks to it. Several processes may
open one card directory (`mynacard emulate` serving it while `mynacard apdu` uses it), so every
change of the state is a transaction (`transaction()`): an exclusive OS lock (flock) on the card
directory, the state re-read from disk under it, the decision taken on what was read, the result
written, the lock released. A process's in-memory state is never written over a newer one.

Both can simulate tearing (`inject_torn_write`): the next state write is cut short as if the card
lost power half-way, and `PowerLost` is raised instead of returning.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from mynacard.applet_model.errors import ImageError, PowerLost
from mynacard.applet_model.image import MANIFEST, CardImage
from mynacard.applet_model.profiles import Profile
from mynacard.applet_model.state import STATE_FILE, CardState

_TMP_SUFFIX = ".tmp-mynacard"


class CardStore(Protocol):
    def load_image(self) -> CardImage: ...

    def load_state(self) -> CardState: ...

    def transaction(self) -> contextlib.AbstractContextManager[CardState]:
        """Exclusive use of the state: yields it as stored now; `save_state` only inside."""
        ...

    def save_state(self, state: CardState) -> None: ...

    def inject_torn_write(self) -> None: ...


class DirectoryStore:
    """A card image directory."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._tear_next = False
        #: Threads of one process share the store; the flock is taken once per transaction.
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._lock_fd: int | None = None

    @classmethod
    def create(cls, path: str | os.PathLike[str], image: CardImage, *, overwrite: bool = False) -> DirectoryStore:
        """Write a new card image (and its fresh state) to `path`.

        The image is assembled in a sibling temporary directory and renamed into place, so an
        interrupted `card new` never leaves a half-written card behind.
        """
        target = Path(path)
        files = image.to_files()
        if target.exists() and not overwrite and (not target.is_dir() or any(target.iterdir())):
            raise ImageError(f"{target} already exists and is not empty (use --force to replace it)")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.parent / f".{target.name}{_TMP_SUFFIX}-{os.getpid()}"
        _remove_tree(staging)
        staging.mkdir(mode=0o700)
        try:
            for name, data in {**files, STATE_FILE: CardState.fresh().to_bytes()}.items():
                dest = staging / name
                dest.parent.mkdir(mode=0o700, exist_ok=True)
                _write_synced(dest, data, 0o600 if name.startswith("keys/") else 0o644)
            _fsync_dir(staging)
            if target.exists():
                old = target.parent / f".{target.name}{_TMP_SUFFIX}-old-{os.getpid()}"
                os.rename(target, old)
                os.rename(staging, target)
                _remove_tree(old)
            else:
                os.rename(staging, target)
            _fsync_dir(target.parent)
        except BaseException:
            _remove_tree(staging)
            raise
        return cls(target)

    def _read(self, name: str) -> bytes:
        return (self.path / name).read_bytes()

    def load_image(self) -> CardImage:
        if not self.path.is_dir():
            raise ImageError(f"{self.path} is not a directory (create a card with `mynacard card new {self.path}`)")
        try:
            return CardImage.from_files(self._read)
        except PermissionError as exc:
            raise ImageError(f"cannot read {exc.filename}: permission denied") from None
        except IsADirectoryError as exc:
            raise ImageError(f"{exc.filename} is a directory where the image needs a file") from None

    def replace_profile(self, profile: Profile) -> None:
        """Give the card another profile (ATR, CI §12 behaviours); only card.json changes, atomically,
        and the retry counters stay as they are."""
        image = self.load_image()
        image.profile = profile
        dest = self.path / MANIFEST
        tmp = dest.with_name(dest.name + _TMP_SUFFIX)
        _write_synced(tmp, image.to_files()[MANIFEST], 0o644)
        os.replace(tmp, dest)
        _fsync_dir(self.path)

    def load_state(self) -> CardState:
        """The state as stored now (a rename is atomic, so no lock is needed to read it)."""
        where = self.path / STATE_FILE
        try:
            raw = where.read_bytes()
        except FileNotFoundError:
            raise ImageError(f"{where} is missing: the card's retry counters are lost, "
                             "and starting again from full counters would give tries back") from None
        except IsADirectoryError:
            raise ImageError(f"{where} is a directory where the card's retry counters belong; "
                             "refusing to guess them") from None
        except PermissionError:
            raise ImageError(f"cannot read {where}: permission denied") from None
        except OSError as exc:
            raise ImageError(f"cannot read {where}: {exc.strerror or exc}") from None
        return CardState.from_bytes(raw)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[CardState]:
        """Hold the card directory's flock and yield the state read under it.

        Every process that changes this directory's state does so inside a transaction, so a
        read-decrement-write of one can never interleave with another's: tries spent in two
        processes add up, as on the one chip.
        """
        with self._locked():
            state = self.load_state()
            if self._depth == 1:  # a refused state.json leaves the directory as it was
                self._remove_stale_temporaries()
            yield state

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock:
            if self._depth == 0:
                self._lock_fd = self._acquire()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._release()

    def _release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the only descriptor releases the flock
            self._lock_fd = None

    def _acquire(self) -> int:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            raise ImageError(f"cannot open the card directory {self.path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _remove_stale_temporaries(self) -> None:
        """Temporary files left by a torn write are never trusted. Only removed under the lock:
        outside it they may be another process's write in progress."""
        for stale in self.path.glob(f"*{_TMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                stale.unlink()

    def save_state(self, state: CardState) -> None:
        """Write `state` atomically; called inside `transaction()` (the lock is taken if it is not)."""
        with self._locked():
            data = state.to_bytes()
            dest = self.path / STATE_FILE
            tmp = dest.with_name(f"{dest.name}.{os.getpid()}-{secrets.token_hex(4)}{_TMP_SUFFIX}")
            if self._tear_next:
                self._tear_next = False
                _write_synced(tmp, data[: len(data) // 2], 0o644)
                raise PowerLost("state write torn")
            try:
                _write_synced(tmp, data, 0o644)
                os.replace(tmp, dest)
            except BaseException:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                raise
            _fsync_dir(self.path)

    def inject_torn_write(self) -> None:
        self._tear_next = True

    def __repr__(self) -> str:
        return f"DirectoryStore({str(self.path)!r})"


class MemoryStore:
    """A card image held in memory; `state` is what a DirectoryStore would have on disk."""

    def __init__(self, image: CardImage, state: CardState | None = None) -> None:
        image.validate()
        self._image = image
        self.state = (state or CardState.fresh()).copy()
        self._tear_next = False
        self._lock = threading.RLock()

    def load_image(self) -> CardImage:
        return self._image

    def load_state(self) -> CardState:
        return self.state.copy()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[CardState]:
        with self._lock:
            yield self.state.copy()

    def save_state(self, state: CardState) -> None:
        with self._lock:
            if self._tear_next:
                self._tear_next = False
                raise PowerLost("state write torn")
            self.state = state.copy()

    def inject_torn_write(self) -> None:
        self._tear_next = True


def _write_synced(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_tree(path: Path) -> None:
    if not path.exists():
        return
    for child in sorted(path.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        child.rmdir() if child.is_dir() else child.unlink()
    path.rmdir()
