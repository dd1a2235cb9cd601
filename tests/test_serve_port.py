"""`mynacard serve` on a busy port (issue 17, item 3): it must not print its URLs and then exit;
it exits non-zero with one sentence that names the port, before loading or printing anything."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path


def test_busy_port_exits_with_one_sentence_naming_the_port_and_prints_no_url(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "mynacard", "serve", "--data", str(tmp_path / "srv"),
                               "--host", "127.0.0.1", "--port", str(port)],
                              capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "http://" not in done.stdout, done.stdout  # no URL a script could take for a running server
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"port {port}" in lines[0] and "already in use" in lines[0]
    assert "Traceback" not in done.stderr
