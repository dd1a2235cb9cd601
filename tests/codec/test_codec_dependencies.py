"""DESIGN.md dependency rule: codec is a leaf every package may import; host still never imports
applet_model now that both use the codec."""

from __future__ import annotations

import subprocess
import sys

import pytest

_LOADED = ("import sys, pkgutil, importlib, mynacard.{pkg} as p\n"
           "for m in pkgutil.walk_packages(p.__path__, 'mynacard.{pkg}.'): importlib.import_module(m.name)\n"
           "print(' '.join(sorted(m for m in sys.modules if m.startswith('mynacard.'))))")


@pytest.mark.parametrize("package, forbidden", [
    ("codec", ("mynacard.",)),
    ("host", ("mynacard.applet_model", "mynacard.emulator")),
])
def test_package_imports(package: str, forbidden: tuple[str, ...]) -> None:
    done = subprocess.run([sys.executable, "-c", _LOADED.format(pkg=package)],
                          capture_output=True, text=True, check=True)
    loaded = done.stdout.split()
    assert any(m.startswith("mynacard.codec.") for m in loaded)
    bad = [m for m in loaded if m.startswith(forbidden) and not m.startswith(f"mynacard.{package}")]
    assert bad == [], f"mynacard.{package} imports {bad}"
