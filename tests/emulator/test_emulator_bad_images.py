"""Bad card images through the commands a user runs (issue 8, defect 4; docs/card-image.md).

Each damage is refused by `mynacard apdu --card` and `mynacard emulate --card` with one sentence
naming the file and the problem, exit 1, no traceback, and nothing on disk changed — the refusal
comes before anything is written or any PBKDF2 work is done (a 10⁹ count would take minutes).
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

MYNACARD = [sys.executable, "-m", "mynacard"]
SELECT_JPKI = "00A4040C0AD392F000260100000001"
HUGE = "pbkdf2-sha256$1000000000$" + "00" * 16 + "$" + "00" * 32


def _edit_manifest(card: Path, change: Callable[[dict], None]) -> None:
    doc = json.loads((card / "card.json").read_text("utf-8"))
    change(doc)
    (card / "card.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")


def state_is_a_directory(card: Path) -> None:
    (card / "state.json").unlink()
    (card / "state.json").mkdir()


def hash_removed_from_an_edited_file(card: Path) -> None:
    face = card / "files" / "visual-0002.bin"
    data = bytearray(face.read_bytes())
    data[200] ^= 1
    face.write_bytes(bytes(data))
    _edit_manifest(card, lambda doc: doc["applications"]["visual"]["files"]["0002"].pop("sha256"))


def size_removed(card: Path) -> None:
    _edit_manifest(card, lambda doc: doc["applications"]["jpki"]["files"]["000A"].pop("size"))


def huge_count_in_card_json(card: Path) -> None:
    def change(doc: dict) -> None:
        doc["applications"]["jpki"]["secrets"]["auth-pin"] = HUGE
    _edit_manifest(card, change)


def huge_count_in_state_json(card: Path) -> None:
    doc = json.loads((card / "state.json").read_text())
    doc["changed"]["jpki/auth-pin"] = HUGE
    (card / "state.json").write_text(json.dumps(doc))


def auth_key_of_another_certificate(card: Path) -> None:
    """keys/jpki-auth.pem replaced by the signing key, its hash updated: consistent but wrong."""
    sign = (card / "keys" / "jpki-sign.pem").read_bytes()
    (card / "keys" / "jpki-auth.pem").write_bytes(sign)
    _edit_manifest(card, lambda doc: doc["applications"]["jpki"]["keys"]["auth"].update(
        sha256=hashlib.sha256(sign).hexdigest()))


def internal_auth_key_of_another_cv_certificate(card: Path) -> None:
    """The common AP's key replaced by the text AP's: the MF's CV certificate 7F21 is not for it."""
    other = (card / "keys" / "text-ap.pem").read_bytes()
    (card / "keys" / "common-internal-auth.pem").write_bytes(other)
    _edit_manifest(card, lambda doc: doc["applications"]["common"]["keys"]["internal-auth"].update(
        sha256=hashlib.sha256(other).hexdigest()))


DAMAGES = [
    (state_is_a_directory, r"state\.json is a directory where the card's retry counters belong"),
    (hash_removed_from_an_edited_file, r"no valid SHA-256 for files/visual-0002\.bin"),
    (size_removed, r"no valid size for files/jpki-000A\.bin"),
    (huge_count_in_card_json, r"card\.json: application 'jpki': reference data of 'auth-pin' is "
                              r"unreadable \(PBKDF2 iteration count 1000000000 is outside 1000–100000\)"),
    (huge_count_in_state_json, r"state\.json: the changed reference data of jpki/auth-pin is unreadable "
                               r"\(PBKDF2 iteration count 1000000000 is outside 1000–100000\)"),
    (auth_key_of_another_certificate, r"the private key keys/jpki-auth\.pem does not match the "
                                      r"certificate in files/jpki-000A\.bin"),
    (internal_auth_key_of_another_cv_certificate, r"the private key keys/common-internal-auth\.pem "
                                                  r"does not match the CV certificate in files/mf-7F21\.bin"),
]


def snapshot(card: Path) -> dict[str, bytes | None]:
    """Every path under the card directory with its content (None for a directory)."""
    return {str(p.relative_to(card)): (p.read_bytes() if p.is_file() else None) for p in sorted(card.rglob("*"))}


@pytest.mark.parametrize("damage, sentence", DAMAGES, ids=[d.__name__ for d, _ in DAMAGES])
def test_a_bad_image_is_refused_by_apdu_and_emulate_with_one_sentence(card_dir, damage, sentence):
    damage(card_dir)
    before = snapshot(card_dir)
    for command in (["apdu", "--card", str(card_dir), SELECT_JPKI], ["emulate", "--card", str(card_dir)]):
        done = subprocess.run([*MYNACARD, *command], capture_output=True, text=True, timeout=60)
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr and done.stdout == ""
        message = done.stderr.strip()
        assert message.count("\n") == 0 and message.startswith(f"mynacard: the card image at {card_dir} cannot be used: ")
        assert re.search(sentence, message), message
        assert snapshot(card_dir) == before
