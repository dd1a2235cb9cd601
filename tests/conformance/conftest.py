"""Fixtures of the conformance tests: the demo secrets file, and runs of the catalogue.

Cards come from the emulator's pytest plugin (`card_dir`: a fresh copy of the demo card per test;
`reader_card`: that copy in a virtual reader through pcscd).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mynacard.conformance.secrets import Secrets

from deviant_cards import DEMO_SECRETS


@pytest.fixture
def secrets_file(tmp_path: Path) -> Path:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps(DEMO_SECRETS), encoding="utf-8")
    return path


@pytest.fixture
def demo_secrets() -> Secrets:
    return Secrets.from_mapping(DEMO_SECRETS)
