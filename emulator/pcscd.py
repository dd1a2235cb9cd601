"""Finding, starting and stopping pcscd with vpcd readers — never touching /etc.

There is one pcscd per machine (its socket path is compiled in, virtual-reader.md §8.2). If one
runs, we use it and learn its vpcd slots from the reader config it was started with (`-c/--config`
on its command line, else /etc/reader.conf.d). If none runs, we start one with a private reader
config in the runtime directory that defines several vpcd readers, each with 2 slots.

Who stops it: a pcscd started by `mynacard pcscd start` is "persistent" and only `mynacard pcscd
stop` stops it. One started on demand (by `mynacard emulate`, a test session, a benchmark) is
stopped when the last mynacard process using it lets go: every user holds a shared flock on
`users.lock`, and whoever can turn it into an exclusive one on release is the last. A pcscd that
mynacard did not start is never stopped.

Pitfalls handled (virtual-reader.md §8): the pid file ends in a NUL byte; a stale pid file after a
kill -9; a killed child can linger as a zombie, which `kill -0` still reports alive; readiness is
"daemon ready" in pcscd's log, never a probe of a vpcd port (vpcd would take the probe for a card).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from mynacard.emulator.errors import PcscdError, PcscdNotInstalled
from mynacard.emulator.paths import private_dir, runtime_dir

PCSCD_PID_FILE = Path("/run/pcscd/pcscd.pid")
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
SYSTEM_READER_CONFIG = Path("/etc/reader.conf.d")

#: Debian's vpcd is built with VPCDSLOTS=2: each reader entry gives slots "… 00 00" and "… 00 01"
#: on ports CHANNELID and CHANNELID+1.
SLOTS_PER_READER = 2

#: Our private config: readers "mynacard Virtual PCD A" … "D", from vsmartcard's default port.
#: Distinct names, because pcscd numbers same-named vpcd readers all "00" (indistinguishable).
FRIENDLY_NAME = "mynacard Virtual PCD"
READER_LETTERS = "ABCD"
BASE_PORT = 0x8C7B

READY_MARK = "daemon ready"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0

INSTALL_HINT = "run `bash tools/setup.sh` (it installs pcscd, vsmartcard-vpcd and opensc)"


@dataclass(frozen=True)
class ReaderSlot:
    """A vpcd slot: the PC/SC reader name clients see and the TCP port the card connects to."""

    reader: str
    port: int


@dataclass(frozen=True)
class ReaderEntry:
    """One entry of a pcscd reader config (FRIENDLYNAME / DEVICENAME / LIBPATH / CHANNELID)."""

    friendly_name: str
    device_name: str | None
    lib_path: str
    channel_id: int | None

    def vpcd_port(self) -> int | None:
        """The first port vpcd listens on for this entry, or None if it is not a listening vpcd."""
        if "ifdvpcd" not in self.lib_path:
            return None
        if self.device_name and ":" in self.device_name:
            host, _, port = self.device_name.rpartition(":")
            if host != "/dev/null":  # "reversed" mode: vpcd connects to the card; not ours to serve
                return None
            return int(port, 0)
        return self.channel_id


@dataclass
class PcscdInfo:
    pid: int
    config: Path
    slots: list[ReaderSlot]
    #: Started by mynacard (it has our owner record); `persistent` = by `mynacard pcscd start`.
    ours: bool = False
    persistent: bool = False


# -- reader configs ---------------------------------------------------------------------------


def private_reader_config(driver_dir: Path) -> str:
    """The text of our reader config: one vpcd reader per letter, 2 slots each.

    vpcd 0.8 keeps its slot connections in one static array indexed by slot number alone, so two
    readers served by the same loaded driver share (and fight over) the same two sockets — tested:
    only the last reader's ports work, and a card there shows up in every reader. pcscd loads a
    driver once per file, so each reader after the first gets its own copy of the driver file
    (`driver_dir/libifdvpcd-<letter>.so`, made by `start_pcscd`) and with it its own array.
    """
    blocks = []
    for index, letter in enumerate(READER_LETTERS):
        port = BASE_PORT + SLOTS_PER_READER * index
        driver = VPCD_DRIVER if index == 0 else driver_dir / f"libifdvpcd-{letter}.so"
        blocks.append(
            f'FRIENDLYNAME "{FRIENDLY_NAME} {letter}"\n'
            f"DEVICENAME   /dev/null:{port}\n"
            f"LIBPATH      {driver}\n"
            f"CHANNELID    {port}\n"
        )
    return "# Written by mynacard (emulator/pcscd.py) at each start of its own pcscd.\n\n" + "\n".join(blocks)


def parse_reader_config(path: Path) -> list[ReaderEntry]:
    """The reader entries of a config file, or of every file of a config directory (sorted)."""
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    entries: list[ReaderEntry] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        entries.extend(_parse_entries(text))
    return entries


def _parse_entries(text: str) -> list[ReaderEntry]:
    entries: list[ReaderEntry] = []
    current: dict[str, str] = {}

    def flush() -> None:
        if "FRIENDLYNAME" in current and "LIBPATH" in current:
            channel = current.get("CHANNELID")
            entries.append(
                ReaderEntry(
                    friendly_name=current["FRIENDLYNAME"],
                    device_name=current.get("DEVICENAME"),
                    lib_path=current["LIBPATH"],
                    channel_id=int(channel, 0) if channel else None,
                )
            )

    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, _, value = line.partition(" ")
        key, value = key.strip().upper(), value.strip().strip('"')
        if key == "FRIENDLYNAME" and current:
            flush()
            current = {}
        current[key] = value
    flush()
    return entries


def vpcd_slots(entries: list[ReaderEntry]) -> list[ReaderSlot]:
    """Every usable vpcd slot the entries define, with the reader names pcscd gives them.

    Of several entries loading the same driver file only the last one works (see
    `private_reader_config`), so the earlier ones are left out.
    """
    last_per_driver: dict[str, ReaderEntry] = {}
    for entry in entries:
        if entry.vpcd_port() is not None:
            last_per_driver[os.path.realpath(entry.lib_path)] = entry
    slots = []
    for entry in entries:
        port = entry.vpcd_port()
        if port is None or last_per_driver[os.path.realpath(entry.lib_path)] is not entry:
            continue
        for slot in range(SLOTS_PER_READER):
            slots.append(ReaderSlot(f"{entry.friendly_name} 00 {slot:02X}", port + slot))
    return slots


# -- processes ---------------------------------------------------------------------------------


def find_pcscd() -> str | None:
    """pcscd's path (it lives in /usr/sbin, which a non-root PATH often lacks)."""
    return shutil.which("pcscd") or next(
        (p for p in ("/usr/sbin/pcscd", "/sbin/pcscd") if os.access(p, os.X_OK)), None
    )


def check_installed() -> str:
    """The pcscd binary path; PcscdNotInstalled if pcscd or the vpcd driver is missing."""
    binary = find_pcscd()
    if binary is None:
        raise PcscdNotInstalled(f"pcscd is not installed; {INSTALL_HINT}.")
    if not VPCD_DRIVER.exists():
        raise PcscdNotInstalled(f"vsmartcard's vpcd driver ({VPCD_DRIVER}) is not installed; {INSTALL_HINT}.")
    return binary


def process_alive(pid: int) -> bool:
    """True if `pid` runs and is not a zombie (`kill -0` succeeds on zombies, §8.13)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


def _is_pcscd(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "pcscd" and process_alive(pid)
    except OSError:
        return False


def running_pcscd_pid() -> int | None:
    """The pid of the running pcscd: its pid file (NUL-terminated, maybe stale), else a /proc scan."""
    pid = read_pid_file()
    if pid is not None and _is_pcscd(pid):
        return pid
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _is_pcscd(int(entry.name)):
            return int(entry.name)
    return None


def config_of(pid: int) -> Path:
    """The reader config a running pcscd uses: its --config/-c argument, else /etc/reader.conf.d."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return SYSTEM_READER_CONFIG
    value = config_argument([a.decode(errors="replace") for a in args if a])
    if value is None:
        return SYSTEM_READER_CONFIG
    path = Path(value)
    if not path.is_absolute():
        try:
            path = Path(os.readlink(f"/proc/{pid}/cwd")) / path
        except OSError:
            pass
    return path


def config_argument(argv: list[str]) -> str | None:
    """The value of pcscd's `-c DIR`, `-cDIR`, `--config DIR` or `--config=DIR` (the last wins)."""
    value = None
    for i, word in enumerate(argv[1:], start=1):
        if word in ("-c", "--config") and i + 1 < len(argv):
            value = argv[i + 1]
        elif word.startswith("--config="):
            value = word.split("=", 1)[1]
        elif word.startswith("-c") and len(word) > 2 and not word.startswith("--"):
            value = word[2:]
    return value


def read_pid_file(path: Path = PCSCD_PID_FILE) -> int | None:
    """The pid in pcscd's pid file, which ends in a NUL byte (virtual-reader.md §8.3)."""
    try:
        return int(path.read_bytes().strip(b"\0 \n"))
    except (OSError, ValueError):
        return None


# -- the owner record and locks ----------------------------------------------------------------


def _pcscd_dir() -> Path:
    return private_dir(runtime_dir() / "pcscd")


def _owner_file() -> Path:
    return _pcscd_dir() / "owner.json"


def _read_owner(pid: int) -> dict[str, object] | None:
    """Our owner record, if it is about the pcscd with this pid."""
    try:
        record = json.loads(_owner_file().read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("pid") == pid else None


def _lock(name: str, mode: int) -> int:
    fd = os.open(_pcscd_dir() / name, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, mode)
    return fd


def describe_running() -> PcscdInfo | None:
    """What the running pcscd is (pid, config, vpcd slots, whether we own it), or None."""
    pid = running_pcscd_pid()
    if pid is None:
        return None
    config = config_of(pid)
    slots = vpcd_slots(parse_reader_config(config)) if config.exists() else []
    owner = _read_owner(pid)
    return PcscdInfo(pid, config, slots, ours=owner is not None, persistent=bool(owner and owner.get("persistent")))


def start_pcscd(persistent: bool) -> PcscdInfo:
    """Start pcscd with our private reader config and wait for "daemon ready" in its log."""
    binary = check_installed()
    directory = _pcscd_dir()
    config = directory / "reader.conf.d"
    config.mkdir(mode=0o700, exist_ok=True)
    drivers = directory / "drivers"
    drivers.mkdir(mode=0o700, exist_ok=True)
    for letter in READER_LETTERS[1:]:
        shutil.copyfile(VPCD_DRIVER, drivers / f"libifdvpcd-{letter}.so")
    (config / "mynacard-vpcd").write_text(private_reader_config(drivers))
    log_path = directory / "pcscd.log"
    with open(log_path, "w") as log_file:
        process = subprocess.Popen(
            [binary, "--foreground", "--info", "--config", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the terminal must not reach it before our cards leave
        )
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        text = log_path.read_text(errors="replace")
        if READY_MARK in text:
            break
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                process.kill()
                process.wait()
            raise PcscdError(_start_failure(text, process.returncode))
        time.sleep(0.005)
    _owner_file().write_text(json.dumps({"pid": process.pid, "persistent": persistent, "log": str(log_path)}))
    _children[process.pid] = process
    return PcscdInfo(process.pid, config, vpcd_slots(parse_reader_config(config)), ours=True, persistent=persistent)


def _start_failure(log_text: str, returncode: int | None) -> str:
    lines = [line for line in log_text.splitlines() if line.strip()]
    last = lines[-1].split(" ", 1)[-1] if lines else "no output"
    if "Another pcscd" in log_text:
        return f"another pcscd is already running and pcscd allows one per machine ({last})."
    if os.geteuid() != 0 and ("Permission denied" in log_text or returncode):
        return f"pcscd could not start without root ({last}); run `sudo mynacard pcscd start` once."
    return f"pcscd did not become ready (exit status {returncode}); its last words: {last}"


#: pcscd processes this process started, so that stopping them also reaps them (no zombie).
_children: dict[int, subprocess.Popen[bytes]] = {}


def stop_pcscd(pid: int) -> None:
    """SIGTERM pcscd (it removes its socket and pid file), SIGKILL if it does not go, and reap it."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + STOP_TIMEOUT
    child = _children.pop(pid, None)
    while process_alive(pid) and time.monotonic() < deadline:
        if child is not None and child.poll() is not None:
            break
        time.sleep(0.01)
    if process_alive(pid):
        os.kill(pid, signal.SIGKILL)
    if child is not None:
        child.wait()
    try:
        if json.loads(_owner_file().read_text()).get("pid") == pid:
            _owner_file().unlink()
    except (OSError, ValueError):
        pass


class PcscdLease:
    """This process's use of the machine's pcscd, from `acquire()` to `release()`.

    `acquire` uses the running pcscd or starts one (`persistent=False`: on demand). `release`
    stops it only if mynacard started it on demand and no other mynacard process still uses it.
    """

    def __init__(self) -> None:
        self._users_fd: int | None = None
        self.info: PcscdInfo | None = None
        #: True if this lease started the pcscd.
        self.started = False

    def acquire(self) -> PcscdInfo:
        check_installed()
        start_fd = _lock("start.lock", fcntl.LOCK_EX)
        try:
            info = describe_running()
            if info is None:
                info = start_pcscd(persistent=False)
                self.started = True
            elif not info.slots:
                raise PcscdError(
                    f"pcscd (pid {info.pid}) runs with the reader config {info.config}, which has no "
                    "listening vpcd reader; stop that pcscd (mynacard did not start it) so mynacard can "
                    "start its own, or add a vpcd reader to its config (docs/emulator.md)."
                )
            self._users_fd = _lock("users.lock", fcntl.LOCK_SH)
        finally:
            os.close(start_fd)
        self.info = info
        return info

    def release(self) -> bool:
        """Let go of pcscd; True if this was the last user of an on-demand pcscd and it was stopped."""
        if self._users_fd is None or self.info is None:
            return False
        stopped = False
        start_fd = _lock("start.lock", fcntl.LOCK_EX)
        try:
            owner = _read_owner(self.info.pid)
            if owner is not None and not owner.get("persistent") and process_alive(self.info.pid):
                try:
                    fcntl.flock(self._users_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    pass  # another mynacard process still uses it: the last one out stops it
                else:
                    stop_pcscd(self.info.pid)
                    stopped = True
        finally:
            os.close(self._users_fd)
            self._users_fd = None
            os.close(start_fd)
        return stopped


def users_elsewhere() -> bool:
    """True if some mynacard process holds a pcscd lease (used before `mynacard pcscd stop`)."""
    fd = _lock("users.lock", fcntl.LOCK_SH)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
