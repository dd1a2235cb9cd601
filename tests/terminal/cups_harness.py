"""A private cupsd for the test session, with a cups-pdf queue (Debian's printer-driver-cups-pdf).

The session never touches /etc/cups or the machine's scheduler: its cupsd has its own config,
spool and UNIX socket in a tmp dir, and is stopped at the end. Clients reach it with `-h SOCKET`
(what `CupsPrinter(server=...)` passes). Its config sets `PreserveJobFiles No`, as docs/kiosk.md
asks of a kiosk's CUPS, so no copy of a printed document stays in the spool.

cups-pdf writes its PDFs to ${HOME}/PDF of the job's user (its /etc/cups/cups-pdf.conf), named
after the job title, which is the transaction id.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

QUEUE = "mynacard-kiosk-pdf"
PPD = Path("/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd")
NEEDED = ("cupsd", "lp", "lpstat", "lpadmin", "cancel", "pdftotext")


def tool(name: str) -> str:
    """The path of a CUPS program: the administration ones live in /usr/sbin, often not on PATH."""
    return shutil.which(name) or str(Path("/usr/sbin", name))


def missing() -> str | None:
    """Why CUPS tests cannot run here, or None."""
    for name in NEEDED:
        if not Path(tool(name)).exists():
            return f"{name} is not installed (tools/setup.sh installs cups, printer-driver-cups-pdf)"
    if not PPD.exists() or not Path("/usr/lib/cups/backend/cups-pdf").exists():
        return "printer-driver-cups-pdf (cups-pdf) is not installed"
    if os.geteuid() != 0:
        return "the cups-pdf backend needs the test session to run as root"
    return None


@dataclass
class PrivateCups:
    root: Path
    process: subprocess.Popen[bytes]
    started: float = 0.0

    @property
    def socket(self) -> str:
        return str(self.root / "cups.sock")

    @property
    def output_dir(self) -> Path:
        return Path.home() / "PDF"

    def output_for(self, transaction_id: str, timeout: float = 20) -> Path:
        """The PDF cups-pdf wrote for the job titled `transaction_id`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = sorted(self.output_dir.glob(f"{transaction_id}*.pdf"))
            if found and found[0].stat().st_size > 0:
                time.sleep(0.2)  # cups-pdf renames into place; give it a moment to finish
                return found[0]
            time.sleep(0.1)
        raise AssertionError(f"cups-pdf wrote no PDF for {transaction_id} within {timeout} s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        shutil.rmtree(self.root, ignore_errors=True)
        for made in self.output_dir.glob("*.pdf"):  # the "paper" this session printed
            if made.stat().st_mtime >= self.started:
                made.unlink()


def start() -> PrivateCups:
    """Start the private cupsd. Its root is outside pytest's 0700 tmp dirs: CUPS runs its filters
    as the unprivileged user `lp`, which must reach the spool and the temp dir."""
    root = Path(tempfile.mkdtemp(prefix="mynacard-cups-"))
    root.chmod(0o755)
    for sub in ("etc", "spool", "tmp", "cache", "run", "log", "etc/ppd"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "spool").chmod(0o755)
    (root / "tmp").chmod(0o1777)
    (root / "etc" / "cups-files.conf").write_text(f"""\
ServerRoot {root}/etc
RequestRoot {root}/spool
TempDir {root}/tmp
CacheDir {root}/cache
StateDir {root}/run
ServerBin /usr/lib/cups
DataDir /usr/share/cups
AccessLog {root}/log/access_log
ErrorLog {root}/log/error_log
PageLog {root}/log/page_log
SystemGroup root
""")
    (root / "etc" / "cupsd.conf").write_text(f"""\
Listen {root}/cups.sock
LogLevel warn
PreserveJobFiles No
PreserveJobHistory Yes
WebInterface No
Browsing No
<Location />
  Order allow,deny
  Allow all
</Location>
<Location /admin>
  Order allow,deny
  Allow all
</Location>
""")
    process = subprocess.Popen([tool("cupsd"), "-f", "-c", str(root / "etc" / "cupsd.conf"),
                                "-s", str(root / "etc" / "cups-files.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cups = PrivateCups(root, process, time.time() - 1)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        done = subprocess.run(["lpstat", "-h", cups.socket, "-r"], capture_output=True, text=True)
        if "is running" in done.stdout:
            break
        if process.poll() is not None:
            log = root / "log" / "error_log"
            raise RuntimeError(f"the private cupsd exited: {log.read_text() if log.exists() else ''}")
        time.sleep(0.1)
    else:
        cups.stop()
        raise RuntimeError("the private cupsd did not start within 15 s")
    subprocess.run([tool("lpadmin"), "-h", cups.socket, "-p", QUEUE, "-E", "-v", "cups-pdf:/",
                    "-P", str(PPD)], check=True, capture_output=True)
    return cups
