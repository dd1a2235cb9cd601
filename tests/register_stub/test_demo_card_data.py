"""The committed demo card (emulator/demo_card/, made by tools/make_demo_card.py): its secrets are
the documented ones (docs/test-authority.md) and it chains to the committed test authority, so a
regenerated authority without a regenerated demo card fails here (CI §6.1, §7.3, §10)."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509

from mynacard.applet_model.store import DirectoryStore
from mynacard.ca.authority import Authority
from mynacard.ca.cv import CvCertificate
from mynacard.register_stub.application_form import application_form
from mynacard.register_stub.person import DEMO_PERSON

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "emulator" / "demo_card"


@pytest.fixture(scope="module")
def demo_image():
    if not (DEMO / "card.json").is_file():
        pytest.fail("emulator/demo_card is missing: run .venv/bin/python tools/make_demo_card.py")
    return DirectoryStore(DEMO).load_image()


def test_demo_secrets_are_the_documented_ones(demo_image) -> None:
    apps = demo_image.applications
    assert apps["jpki"].pins["auth-pin"].matches(b"1234")
    assert apps["jpki"].pins["sign-password"].matches(b"ABC123")
    assert apps["text"].pins["pin"].matches(b"1234")
    assert apps["common"].pins["pin"].matches(b"1234") and apps["juki"].pins["pin"].matches(b"1234")
    for app in ("text", "visual"):
        assert apps[app].pins["code-a"].matches(b"123456789018")
        assert apps[app].pins["code-b"].matches(b"60041220362468")
    assert apps["visual"].pins["birth-key"].matches(b"600412")
    assert apps["text"].files[0x0001] == b"\xff\x10\x0c123456789018\xff\xff"
    assert demo_image.mf_objects[0x0045] == b"900000000000001"


def test_demo_card_chains_to_the_committed_authority(demo_image, authority: Authority) -> None:
    jpki = demo_image.applications["jpki"]
    for cert_fid, ca in ((0x0001, authority.sign_ca), (0x000A, authority.auth_ca)):
        cert = x509.load_der_x509_certificate(jpki.files[cert_fid])
        cert.verify_directly_issued_by(ca.certificate)
        assert cert.not_valid_after_utc > datetime.now(UTC)
    CvCertificate.parse(demo_image.applications["visual"].files[0x0004]).verify(authority.cv.visual_root.public_key)
    CvCertificate.parse(demo_image.applications["text"].files[0x0004]).verify(authority.cv.text_root.public_key)
    CvCertificate.parse(demo_image.mf_objects[0x00F8]).verify(authority.cv.mf_root.public_key)


def test_application_form_matches_the_demo_person() -> None:
    """The clerk check compares the card with this form: My Number + four facts (jpki-system §7)."""
    form = json.loads((DEMO / "application.json").read_text(encoding="utf-8"))
    assert form == application_form(DEMO_PERSON)
    assert form["my_number"] == "123456789018" and form["name"] == "見本\u3000花子"
    assert (form["birth_date"], form["sex"]) == ("1985-04-12", "2")


def test_demo_tool_writes_card_and_form(tmp_path: Path, capsys) -> None:
    spec = importlib.util.spec_from_file_location("make_demo_card", REPO / "tools" / "make_demo_card.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)  # type: ignore[union-attr]
    target = tmp_path / "demo_card"
    assert tool.main(["--directory", str(target)]) == 0
    assert DirectoryStore(target).load_image().mf_objects[0x0045] == b"900000000000001"
    assert json.loads((target / "application.json").read_text(encoding="utf-8"))["my_number"] == "123456789018"
    assert "60041220362468" in capsys.readouterr().out
