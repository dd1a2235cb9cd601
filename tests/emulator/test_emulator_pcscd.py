"""The pcscd launcher's pure parts and its pitfalls (virtual-reader.md §2, §8): reader configs, the
vpcd slots they give, pcscd's command line, the NUL-terminated pid file, zombies, slot leases."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from mynacard.emulator import pcscd
from mynacard.emulator.errors import SlotBusy
from mynacard.emulator.pcscd import (
    ReaderSlot,
    config_argument,
    parse_reader_config,
    private_reader_config,
    process_alive,
    read_pid_file,
    vpcd_slots,
)

DEBIAN_VPCD = """\
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:0x8C7B
LIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so
CHANNELID    0x8C7B
"""

GEMALTO_COMMENTED = """\
# Gemalto reader with serial communication
#DEVICENAME        /dev/ttySn[:reader]
#FRIENDLYNAME      "GemPCTwin serial"
#LIBPATH           /usr/lib/pcsc/drivers/serial/libccidtwin.so
"""


def test_debian_default_config_gives_two_slots_on_35963_and_35964(tmp_path):
    """§2.1: one entry = 2 slots, readers "<name> 00 00"/"00 01" on CHANNELID and CHANNELID+1."""
    (tmp_path / "vpcd").write_text(DEBIAN_VPCD)
    (tmp_path / "libccidtwin").write_text(GEMALTO_COMMENTED)
    assert vpcd_slots(parse_reader_config(tmp_path)) == [
        ReaderSlot("Virtual PCD 00 00", 35963), ReaderSlot("Virtual PCD 00 01", 35964)]
    assert vpcd_slots(parse_reader_config(tmp_path / "vpcd")) == vpcd_slots(parse_reader_config(tmp_path))


def test_reversed_mode_and_other_drivers_are_not_ours_to_serve(tmp_path):
    """§8.6: DEVICENAME host:port makes vpcd connect to the card; we only serve listening vpcd."""
    (tmp_path / "conf").write_text(
        'FRIENDLYNAME "Reversed"\nDEVICENAME 127.0.0.1:0x8C7B\n'
        "LIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID 0x8C7B\n\n"
        'FRIENDLYNAME "GemPCTwin serial"\nDEVICENAME /dev/ttyS0\n'
        "LIBPATH /usr/lib/pcsc/drivers/serial/libccidtwin.so\n")
    assert vpcd_slots(parse_reader_config(tmp_path)) == []


def test_entries_sharing_one_driver_file_keep_only_the_last(tmp_path):
    """vpcd 0.8 indexes its sockets by slot number only: readers of one loaded driver collide."""
    (tmp_path / "conf").write_text(
        DEBIAN_VPCD + '\nFRIENDLYNAME "Second"\nDEVICENAME /dev/null:35965\n'
        "LIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID 35965\n")
    assert [s.reader for s in vpcd_slots(parse_reader_config(tmp_path))] == ["Second 00 00", "Second 00 01"]


def test_private_config_gives_eight_independent_slots(tmp_path):
    (tmp_path / "mynacard-vpcd").write_text(private_reader_config(tmp_path / "drivers"))
    entries = parse_reader_config(tmp_path)
    assert len({e.lib_path for e in entries}) == 4  # one driver file per reader
    slots = vpcd_slots(entries)
    assert [s.port for s in slots] == list(range(35963, 35971))
    assert slots[0].reader == "mynacard Virtual PCD A 00 00" and slots[-1].reader == "mynacard Virtual PCD D 00 01"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["pcscd", "--foreground"], None),
        (["pcscd", "-f", "-c", "/x/conf"], "/x/conf"),
        (["pcscd", "--config", "/x/conf", "--info"], "/x/conf"),
        (["pcscd", "--config=/x/conf"], "/x/conf"),
        (["pcscd", "-c/x/conf"], "/x/conf"),
    ],
)
def test_config_argument_of_a_running_pcscd(argv, expected):
    assert config_argument(argv) == expected


def test_pid_file_with_trailing_nul(tmp_path):
    """§8.3: pcscd.pid ends in a NUL byte."""
    (tmp_path / "pid").write_bytes(b"5586\n\0")
    assert read_pid_file(tmp_path / "pid") == 5586
    (tmp_path / "pid").write_bytes(b"\0")
    assert read_pid_file(tmp_path / "pid") is None
    assert read_pid_file(tmp_path / "missing") is None


def test_a_zombie_is_not_alive():
    """§8.13: kill -0 succeeds on a zombie; the launcher must not take it for a running pcscd."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while process_alive(child.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(child.pid, 0)  # still "there" for kill -0: it is a zombie until reaped
    assert not process_alive(child.pid)
    child.wait()
    assert process_alive(os.getpid())


@pytest.fixture
def runtime(monkeypatch, tmp_path):
    monkeypatch.setenv("MYNACARD_RUNTIME_DIR", str(tmp_path / "run"))


SLOTS = [ReaderSlot("R 00 00", 40001), ReaderSlot("R 00 01", 40002)]


def test_slot_leases_exclude_other_processes_until_they_exit(runtime, tmp_path):
    from mynacard.emulator.slots import holder, lease_slot

    code = (
        "import sys, time\n"
        "from mynacard.emulator.pcscd import ReaderSlot\n"
        "from mynacard.emulator.slots import lease_slot\n"
        "lease = lease_slot([ReaderSlot('R 00 00', 40001)], 0, 'other card')\n"
        "print('leased', flush=True)\n"
        "sys.stdin.readline()\n"
    )
    other = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, env=os.environ.copy())
    try:
        assert other.stdout.readline().strip() == "leased"
        assert holder(SLOTS[0]) == {"pid": other.pid, "card": "other card"}
        with pytest.raises(SlotBusy, match=f"slot 0 .R 00 00. is in use by process {other.pid}"):
            lease_slot(SLOTS, 0, "mine")
        mine = lease_slot(SLOTS, None, "mine")
        assert mine.index == 1
        with pytest.raises(SlotBusy, match="all 2 vpcd slots are in use"):
            lease_slot(SLOTS, None, "third")
    finally:
        other.stdin.close()
        other.wait()
    assert holder(SLOTS[0]) is None  # the kernel dropped the dead process's lock
    assert lease_slot(SLOTS, 0, "mine again").index == 0
    mine.release()
    assert holder(SLOTS[1]) is None


def test_slot_numbers_out_of_range_are_refused(runtime):
    from mynacard.emulator.slots import lease_slot

    with pytest.raises(SlotBusy, match="there is no slot 5: pcscd offers slots 0 to 1"):
        lease_slot(SLOTS, 5, "mine")


def test_runtime_dir_writable_by_others_is_refused(monkeypatch, tmp_path):
    """Others could have planted sockets or locks in it: refuse, change nothing."""
    from mynacard.emulator.errors import EmulatorError
    from mynacard.emulator.paths import runtime_dir

    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    monkeypatch.setenv("MYNACARD_RUNTIME_DIR", str(open_dir))
    with pytest.raises(EmulatorError, match="open to other users"):
        runtime_dir()
    assert open_dir.stat().st_mode & 0o777 == 0o777


def test_runtime_dir_only_readable_by_others_is_closed(monkeypatch, tmp_path):
    """A `mkdir -p` leftover (0755, e.g. a mount point under /run) is ours and unplantable: closed to 0700."""
    from mynacard.emulator.paths import runtime_dir

    readable = tmp_path / "readable"
    readable.mkdir()
    readable.chmod(0o755)
    monkeypatch.setenv("MYNACARD_RUNTIME_DIR", str(readable))
    assert runtime_dir() == readable
    assert readable.stat().st_mode & 0o777 == 0o700


def test_pcscd_not_started_by_mynacard_is_not_ours(runtime, monkeypatch):
    """A pcscd without our owner record is never stopped by a lease (only used)."""
    monkeypatch.setattr(pcscd, "running_pcscd_pid", lambda: os.getpid())
    monkeypatch.setattr(pcscd, "config_of", lambda pid: pcscd.SYSTEM_READER_CONFIG)
    info = pcscd.describe_running()
    assert info is not None and info.pid == os.getpid() and not info.ours and not info.persistent
