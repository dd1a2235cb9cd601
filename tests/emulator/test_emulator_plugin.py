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


BEHAVIOUR_SAMPLE = """
    import pytest
    from mynacard.emulator.pytest_plugin import behaviour_variants

    SIGN = ["00A4040C0AD392F000260100000001", "00A4020C020018", "002000800431323334",
            "00A4040C0AD392F000260100000001", "00A4020C020017",
            "802A008033" + "3031300D060960864801650304020105000420" + "11" * 32 + "00"]

    def last_sw(transport):
        for apdu in SIGN:
            answer = transport.transmit(bytes.fromhex(apdu))
        return answer[-2:].hex()

    def test_run_wide(inprocess_transport, card_behaviours):
        print("SW", card_behaviours, last_sw(inprocess_transport))

    @pytest.mark.parametrize("card_behaviours", behaviour_variants("reselect"))
    def test_per_test(inprocess_transport, card_behaviours):
        expected = "6982" if card_behaviours.get("reselect") == "clears" else "9000"
        assert last_sw(inprocess_transport) == expected
"""


def test_card_behaviours_from_the_command_line_and_per_test(tmp_path):
    """`pytest --mynacard-behaviour reselect=clears` gives every card that side; a test can
    parametrise `card_behaviours` itself (behaviour_variants)."""
    out = _run_pytest(tmp_path, BEHAVIOUR_SAMPLE, "-s", "--mynacard-behaviour", "reselect=clears")
    assert "SW {'reselect': 'clears'} 6982" in out and "3 passed" in out
    out = _run_pytest(tmp_path, BEHAVIOUR_SAMPLE, "-s")
    assert "SW {} 9000" in out and "3 passed" in out
    out = _run_pytest(tmp_path, BEHAVIOUR_SAMPLE, "--mynacard-behaviour", "reselect=perhaps")
    assert "--mynacard-behaviour: behaviour reselect has no value 'perhaps'" in out
