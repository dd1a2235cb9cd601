#!/usr/bin/env python3
"""Type-check mynacard with mypy: `.venv/bin/python tools/typecheck.py` (tests/test_types.py runs it).

Why a symlink tree: pyproject.toml maps each top-level folder onto the `mynacard` namespace
(`mynacard.host` lives in `host/`, the package root `mynacard` in `cli/`). mypy resolves modules
from directories, and the editable install's import hook is invisible to it, so it would see
`host.records` instead of `mynacard.host.records` and fail every `from mynacard.host import …`.
The tree `.venv/typecheck/tree/mynacard/{host,ca,…}` links each folder under its import name (read from
pyproject.toml's `package-dir`, so a new package is picked up without editing this file), and
mypy checks the real files through it; paths in its output are mapped back to the repository's.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The tree and mypy's cache live in the virtual environment (ignored by git), at a fixed place so
#: that mypy's incremental cache stays valid between runs: a second run takes a fraction of the first.
WORK = ROOT / ".venv" / "typecheck"


def package_dirs() -> dict[str, Path]:
    """Import name → folder, from pyproject.toml (`mynacard` → cli/, `mynacard.host` → host/ …)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    mapping: dict[str, str] = config["tool"]["setuptools"]["package-dir"]
    return {name: ROOT / folder for name, folder in mapping.items()}


def build_tree(into: Path) -> Path:
    """`into/mynacard/…` as the import system sees it (rebuilt from scratch); returns `into`."""
    dirs = package_dirs()
    package = into / "mynacard"
    if package.exists():
        shutil.rmtree(package)
    package.mkdir(parents=True)
    for source in sorted(dirs["mynacard"].glob("*.py")):
        (package / source.name).symlink_to(source)
    for name, folder in dirs.items():
        if name != "mynacard":
            (package / name.removeprefix("mynacard.")).symlink_to(folder, target_is_directory=True)
    return into


def run_mypy(extra: list[str] | None = None) -> tuple[int, str, float]:
    """(mypy's exit status, its output with repository paths, seconds taken)."""
    tree = build_tree(WORK / "tree")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "--cache-dir", str(WORK / "cache"), "-p", "mynacard", *(extra or [])],
        cwd=tree, capture_output=True, text=True,
        env={"MYPYPATH": str(tree), "PATH": "/usr/bin:/bin"},
    )
    elapsed = time.monotonic() - started
    output = (done.stdout + done.stderr).replace(f"{tree}/mynacard/", "")
    return done.returncode, _repository_paths(output), elapsed


def _repository_paths(output: str) -> str:
    """`mynacard/host/x.py` → `host/x.py`, `mynacard/main.py` → `cli/main.py`."""
    lines = []
    for line in output.splitlines():
        if line.startswith("mynacard/"):
            rest = line.removeprefix("mynacard/")
            head = rest.split("/", 1)[0]
            line = rest if (ROOT / head).is_dir() and "/" in rest.split(":", 1)[0] else f"cli/{rest}"
        lines.append(line)
    return "\n".join(lines)


def main() -> int:
    status, output, elapsed = run_mypy(sys.argv[1:])
    print(output)
    print(f"(mypy took {elapsed:.1f} s)")
    return status


if __name__ == "__main__":
    sys.exit(main())
