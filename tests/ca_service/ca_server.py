"""A real CA service for tests: `mynacard serve` in a subprocess on a free loopback port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.ca.client import CaClient


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed_responder_keys(data_dir: Path, keys: list[rsa.RSAPrivateKey], passphrase: bytes | None = None) -> None:
    """Give the server pool keys for its OCSP signers, so it generates none (encrypted for a deployment CA)."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption())
    directory = data_dir / "ca"
    directory.mkdir(parents=True, exist_ok=True)
    for ca_id, key in zip(("sign", "auth"), keys, strict=False):
        path = directory / f"{ca_id}-ocsp.key.pem"
        if not path.exists():
            path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
            path.chmod(0o600)


@dataclass
class CaServer:
    data_dir: Path
    port: int = field(default_factory=free_port)
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ca"

    @property
    def log(self) -> Path:
        """Where the server's stdout and stderr go."""
        return self.data_dir.parent / f"serve-{self.port}.log"

    @property
    def tokens(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in json.loads((self.data_dir / "tokens.json").read_text()).items()}

    def client(self, token_name: str = "ca-admin") -> CaClient:
        return CaClient(self.url, self.tokens[token_name])

    def start(self, timeout: float = 30.0) -> CaServer:
        # One process unless a test asks for more: these tests read a revocation back at once.
        workers = [] if "--workers" in self.extra_args else ["--workers", "1"]
        command = [sys.executable, "-m", "mynacard", "serve", "--data", str(self.data_dir),
                   "--port", str(self.port), *workers, *self.extra_args]
        log = open(self.log, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                        env={**os.environ, **self.env})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mynacard serve exited with {self.process.returncode}; see {log.name}")
            try:
                if httpx.get(f"{self.url}/v1/cas", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("mynacard serve did not come up")

    def kill(self) -> None:
        """kill -9: no shutdown handlers, no flushing."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
