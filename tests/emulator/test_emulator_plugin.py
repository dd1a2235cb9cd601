"""The pytest plugin itself (entry point `pytest11` = mynacard.emulator.pytest_plugin): fresh card
copies per test, the `e2e` marker, and skipping — only — when pcscd or vpcd is missing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib.metadata import entry_points


def test_plugin_is_registered_as_a_pytest11_entry_point():
    (ep,) = [ep for ep in entry_points(group="pytest11") if ep.name == "mynacard"]
    assert ep.value == "mynacard.emulator.pytest_plugin"


def test_each_test_gets_its_own_copy_of_the_demo_card(card_dir):
    from mynacard.emulator.demo import packaged_demo_card

    assert card_dir != packaged_demo_card()
    assert (card_dir / "card.json").read_bytes() == (packaged_demo_card() / "card.json").read_bytes()
    assert (card_dir / "state.json").read_bytes() == (packaged_demo_card() / "state.json").read_bytes()


def _run_pytest(tmp_path, test_source: str, *args: str) -> str:
    (tmp_path / "conftest.py").write_text(textwrap.dedent("""
        import mynacard.emulator.pcscd as pcscd
        pcscd.find_pcscd = lambda: None   # as on a machine without pcscd
    """))
    (tmp_path / "test_sample.py").write_text(textwrap.dedent(test_source))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *args, str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    return result.stdout + result.stderr


SAMPLE = """
    def test_needs_a_reader(reader_name):
        raise AssertionError("must not run without pcscd")

    def test_in_process(inprocess_transport):
        assert inprocess_transport.transmit(bytes.fromhex("00A4040C0AD392F000260100000001")) == b"\\x90\\x00"
"""


def test_e2e_tests_skip_with_the_reason_when_pcscd_is_missing(tmp_path):
    out = _run_pytest(tmp_path, SAMPLE)
    assert "1 passed, 1 skipped" in out
    assert "pcscd is not installed; run `bash tools/setup.sh`" in out


def test_tests_using_pcscd_fixtures_are_marked_e2e(tmp_path):
    out = _run_pytest(tmp_path, SAMPLE, "-m", "not e2e")
    assert "1 passed, 1 deselected" in out
