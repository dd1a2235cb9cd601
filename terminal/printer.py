"""Printers behind one interface: a CUPS queue (`lp`, `lpstat`, `cancel`) and a simulator.

A job is always addressed by the id `submit` returned for one transaction; nothing here ever
takes "the next job" (the 2023 incident, issue 11). The CUPS job title is the transaction id, so
the paper trail in the queue names the transaction too. The PDF goes to `lp` on standard input:
the kiosk writes no file with it (set `PreserveJobFiles No` in cupsd.conf so that CUPS does not
keep a copy either; docs/kiosk.md).
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class JobState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class PrinterError(Exception):
    """The printer refused a job or cannot be reached; `reason` is a code for the screen."""

    def __init__(self, reason: str, sentence: str) -> None:
        super().__init__(sentence)
        self.reason = reason


class Printer(Protocol):
    def submit(self, transaction_id: str, pdf: bytes, copies: int) -> str:
        """Queue the document; returns the job id. `PrinterError` if it cannot be queued."""
        ...

    def status(self, job_id: str) -> tuple[JobState, str | None]:
        """The job's state and, when it failed, the reason (media_jam, media_empty, …)."""
        ...

    def cancel(self, job_id: str) -> bool:
        """Stop the job; True if it will not be printed, False if it was printed already."""
        ...


# --- CUPS ---------------------------------------------------------------------------------------

_REQUEST_ID = re.compile(r"request id is (\S+)")
#: printer-state-reasons that stop a job, as the kiosk reports them.
_STOPPING_REASONS = {"media-jam": "media_jam", "media-empty": "media_empty",
                     "media-needed": "media_empty", "door-open": "door_open",
                     "paused": "printer_paused"}


class CupsPrinter:
    """A CUPS queue through the command-line clients (cups-client), e.g. Debian's cups-pdf."""

    def __init__(self, queue: str, *, server: str | None = None) -> None:
        self.queue = queue
        self._env_server = ["-h", server] if server else []
        #: Jobs this adapter cancelled (`lpstat` lists them as completed without saying how).
        self._cancelled: set[str] = set()

    def _run(self, args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run(args, input=stdin, capture_output=True, timeout=30, check=False)
        except FileNotFoundError:
            raise PrinterError("printer_unavailable", f"{args[0]} is not installed: install "
                                                      f"cups-client") from None
        except subprocess.TimeoutExpired:
            raise PrinterError("printer_unavailable", f"{args[0]} did not answer within 30 s "
                                                      f"(is cupsd running?)") from None

    def submit(self, transaction_id: str, pdf: bytes, copies: int) -> str:
        done = self._run(["lp", *self._env_server, "-d", self.queue, "-n", str(copies),
                          "-t", transaction_id, "-o", "job-sheets=none", "-"], stdin=pdf)
        match = _REQUEST_ID.search(done.stdout.decode(errors="replace"))
        if done.returncode != 0 or match is None:
            message = done.stderr.decode(errors="replace").strip()
            raise PrinterError("printer_unavailable",
                               f"the CUPS queue {self.queue} refused the job: {message}")
        return match.group(1)

    def _job_block(self, job_id: str, which: str) -> str | None:
        """The `lpstat -l` lines of one job (its first line and the indented details), or None."""
        done = self._run(["lpstat", *self._env_server, "-l", "-W", which, "-o", self.queue])
        lines = done.stdout.decode(errors="replace").splitlines()
        for i, line in enumerate(lines):
            if line.split()[:1] == [job_id]:
                block = [line]
                for detail in lines[i + 1:]:
                    if not detail.startswith((" ", "\t")):
                        break
                    block.append(detail)
                return "\n".join(block)
        return None

    def _stopping_reason(self) -> str | None:
        done = self._run(["lpstat", *self._env_server, "-l", "-p", self.queue])
        text = done.stdout.decode(errors="replace")
        for key, reason in _STOPPING_REASONS.items():
            if key in text:
                return reason
        if "disabled" in text.split("\n", 1)[0]:
            return "printer_stopped"
        return None

    def status(self, job_id: str) -> tuple[JobState, str | None]:
        if job_id in self._cancelled:
            return JobState.CANCELLED, "cancelled"
        pending = self._job_block(job_id, "not-completed")
        if pending is not None:
            if "completed-with-errors" in pending or "aborted" in pending:
                return JobState.FAILED, "printer_error"
            reason = self._stopping_reason()
            return (JobState.FAILED, reason) if reason else (JobState.PENDING, None)
        finished = self._job_block(job_id, "completed")
        if finished is None:
            return JobState.FAILED, "job_lost"
        if "canceled" in finished or "aborted" in finished or "with-errors" in finished:
            return JobState.FAILED, "job_aborted"
        return JobState.DONE, None

    def cancel(self, job_id: str) -> bool:
        """`cancel` succeeds only for a job not yet completed; CUPS refuses it for one that has
        printed, which is exactly the answer the kiosk needs."""
        if self._job_block(job_id, "not-completed") is None:
            return self.status(job_id)[0] is not JobState.DONE
        done = self._run(["cancel", *self._env_server, job_id])
        if done.returncode == 0:
            self._cancelled.add(job_id)
            return True
        return self.status(job_id)[0] is not JobState.DONE


# --- simulator ----------------------------------------------------------------------------------


@dataclass
class Sheet:
    """A printed document in the simulator's output tray (the paper that left the kiosk)."""

    transaction_id: str
    pdf: bytes
    copies: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()


@dataclass
class _Job:
    transaction_id: str
    pdf: bytes
    copies: int
    submitted: float
    state: JobState = JobState.PENDING
    reason: str | None = None
    fault: str | None = None


@dataclass
class SimulatedPrinter:
    """A printer that takes `seconds_per_copy` per copy and can run out of paper, jam or hang.

    Faults are armed for the next job (`jam_next`, `hang_next`), or by `paper` running out.
    The output tray keeps what was printed, for tests (as paper would, until taken).
    """

    seconds_per_copy: float = 0.2
    paper: int = 500
    tray: list[Sheet] = field(default_factory=list)
    jam_next: int = 0
    hang_next: int = 0
    _jobs: dict[str, _Job] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _count: int = 0

    def submit(self, transaction_id: str, pdf: bytes, copies: int) -> str:
        with self._lock:
            if self.paper <= 0:
                raise PrinterError("media_empty", "the printer is out of paper")
            self._count += 1
            job_id = f"sim-{self._count}"
            fault = None
            if self.jam_next:
                self.jam_next -= 1
                fault = "media_jam"
            elif self.hang_next:
                self.hang_next -= 1
                fault = "hang"
            self._jobs[job_id] = _Job(transaction_id, pdf, copies, time.monotonic(), fault=fault)
            return job_id

    def _advance(self, job: _Job) -> None:
        if job.state is not JobState.PENDING:
            return
        elapsed = time.monotonic() - job.submitted
        duration = self.seconds_per_copy * job.copies
        if job.fault == "hang":
            return
        if job.fault == "media_jam" and elapsed >= duration / 2:
            job.state, job.reason = JobState.FAILED, "media_jam"
        elif elapsed >= duration:
            if self.paper < job.copies:
                job.state, job.reason = JobState.FAILED, "media_empty"
                self.paper = 0
                return
            self.paper -= job.copies
            job.state = JobState.DONE
            self.tray.append(Sheet(job.transaction_id, job.pdf, job.copies))
        if job.state is not JobState.PENDING:
            job.pdf = b""  # the printer's memory of the job is cleared once it is over

    def status(self, job_id: str) -> tuple[JobState, str | None]:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return JobState.FAILED, "job_lost"
            self._advance(job)
            return job.state, job.reason

    def cancel(self, job_id: str) -> bool:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return True
            self._advance(job)
            if job.state is JobState.DONE:
                return False
            if job.state is JobState.PENDING:
                job.state, job.reason, job.pdf = JobState.CANCELLED, "cancelled", b""
            return True
