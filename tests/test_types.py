"""Type checking is part of the test command (README: `bash tools/setup.sh && .venv/bin/pytest`):
mypy over every package of mynacard, with pyproject.toml's [tool.mypy] settings, zero errors.

tools/typecheck.py lays out the package-dir mapping (mynacard.host lives in host/, …) as a symlink
tree mypy can resolve; its output names the repository's files.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parent.parent / "tools" / "typecheck.py"


def _typecheck_module():
    spec = importlib.util.spec_from_file_location("mynacard_typecheck", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mypy_finds_no_error_in_mynacard() -> None:
    status, output, seconds = _typecheck_module().run_mypy()
    print(f"mypy took {seconds:.1f} s")
    assert status == 0, f"mypy ({sys.executable} -m mypy) reports:\n{output}"
    assert "no issues found" in output


def test_the_tree_maps_every_package(tmp_path: Path) -> None:
    """Every folder of pyproject's package-dir shows up under its import name."""
    tool = _typecheck_module()
    tree = tool.build_tree(tmp_path)
    for name, folder in tool.package_dirs().items():
        where = tree.joinpath(*name.split("."))
        assert where.resolve() == folder.resolve() or (where / "__init__.py").resolve() == folder / "__init__.py"
