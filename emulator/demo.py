"""The demo card: a card image shipped with mynacard, copied to a writable place before use.

The image in `emulator/demo_card/` is made by `tools/make_demo_card.py` (`mynacard card new` with
the demo values documented in the README). It is never served in place: a card's retry counters
are written to its directory, the package may be read-only, and the user's counters are theirs.
So `mynacard emulate` without --card copies it once to the per-user state directory and serves
that copy from then on (delete the copy to get a fresh card). Tests copy it per test instead.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from mynacard.emulator.errors import EmulatorError
from mynacard.emulator.paths import state_dir

PACKAGED_DEMO_CARD = Path(__file__).resolve().parent / "demo_card"


def packaged_demo_card() -> Path:
    """The pristine demo image in the package (never written to)."""
    if not (PACKAGED_DEMO_CARD / "card.json").is_file():
        raise EmulatorError(
            f"the demo card image is missing from this installation ({PACKAGED_DEMO_CARD}); "
            "build it with `.venv/bin/python tools/make_demo_card.py`, or pass a card made by "
            "`mynacard card new DIR` with --card DIR."
        )
    return PACKAGED_DEMO_CARD


def copy_card(source: Path, target: Path) -> Path:
    """Copy a card image directory to `target` (which must not exist), keeping key files private."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        shutil.copytree(source, staging, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.tmp-mynacard", "__pycache__"))
        # A git checkout or a wheel does not keep the 0600 of the source's key files.
        for key in (staging / "keys").glob("*.pem"):
            key.chmod(0o600)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def user_demo_card() -> tuple[Path, bool]:
    """(the user's copy of the demo card, True if it was copied just now)."""
    target = state_dir() / "demo-card"
    if (target / "card.json").is_file():
        return target, False
    if target.exists():
        raise EmulatorError(f"{target} exists but holds no card image; delete it to get a fresh demo card.")
    return copy_card(packaged_demo_card(), target), True
