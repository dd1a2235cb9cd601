"""requirements.lock pins every dependency pyproject.toml names (its extras included), and the
test environment runs exactly those versions: a dependency changed without `tools/update-lock.sh`
fails here instead of installing differently on the next machine."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, pinned = line.partition("==")
            assert pinned, f"requirements.lock: '{line}' is not name==version"
            pins[_canonical(name)] = pinned
    return pins


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values()
                                                 for r in extra)]
    return {_canonical(re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0]) for r in requirements}


def test_every_declared_dependency_is_locked() -> None:
    missing = _declared() - set(_locked())
    assert not missing, f"not in requirements.lock: {sorted(missing)}; run tools/update-lock.sh"


def test_the_environment_runs_the_locked_versions() -> None:
    wrong = {}
    for name, pinned in _locked().items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "not installed"
        if installed != pinned:
            wrong[name] = (pinned, installed)
    assert not wrong, f"(locked, installed): {wrong}; run bash tools/setup.sh"
