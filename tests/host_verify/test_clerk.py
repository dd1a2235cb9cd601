"""The clerk's card check against the demo card and tampered copies of it (jpki-system.md §7;
個人番号の確認方法: photo, chip card-face data, My Number and four facts against the application).
Card layouts: CI §7.1 (text AP), §8.1 (card face), §6.1 (auth certificate)."""

from __future__ import annotations

import datetime
import io
from dataclasses import replace

import pytest
from PIL import Image

from host_verify_cards import flip_at, open_image, tamper
from host_verify_pki import key
from mynacard.host.clerk import ApplicationForm, ClerkSecrets, Status, mask_my_number, run_clerk_check
from mynacard.host.pins import TEXT_CODE_B
from mynacard.host.records import CardFace
from mynacard.host.revocation import RevocationConfig
from mynacard.host.trust import default_trust
from revocation_server import build_crl


def check(image, demo, *, secrets=None, application=None, **kwargs):
    """The clerk check of a test card, with the test authority trusted unless `trust` is given."""
    kwargs.setdefault("trust", default_trust(trust_test_authority=True))
    card = open_image(image)
    try:
        return run_clerk_check(card, ApplicationForm.from_mapping(application or demo.application),
                               secrets or ClerkSecrets(code_b=demo.code_b, text_pin=demo.text_pin), **kwargs)
    finally:
        card.close()


def statuses(report) -> dict[str, Status]:
    return {c.id: c.status for c in report.checks}


def test_the_genuine_demo_card_passes_every_check(demo_image, demo):
    report = check(demo_image, demo)
    assert report.passed, report.render()
    s = statuses(report)
    for passed in ("card.face_read", "signatures.visual_cv", "signatures.card_face", "presence.visual",
                   "face.code_b_consistent", "face.not_expired", "face.photo", "signatures.age_record",
                   "text.read", "signatures.text_cv", "signatures.text_integrity", "presence.text",
                   "chip.text_matches_face", "application.my_number", "application.name",
                   "application.address", "application.birth", "application.sex", "certificates.auth"):
        assert s[passed] is Status.PASSED, passed
    assert s["signatures.my_number_image"] is Status.SKIPPED  # needs 照合番号A
    assert s["certificates.auth_revocation"] is Status.SKIPPED  # nothing configured
    with Image.open(io.BytesIO(report.photo_png)) as photo:
        assert photo.format == "PNG" and photo.width > 0
    assert report.trust_origins == {"test"}


def test_half_width_application_equals_the_full_width_chip(demo_image, demo):
    typed = {**demo.application, "name": demo.application["name"].replace("\u3000", " "),
             "address": "東京都千代田区見本町1-2-3", "birth": "昭和60年4月12日", "sex": "女",
             "my_number": "1234 5678 9018"}
    report = check(demo_image, demo, application=typed)
    assert report.passed, report.render()
    address = report.check("application.address")
    assert address.reason == "equal after normalisation"
    assert address.details["chip"] == "東京都千代田区見本町１－２－３"  # originals kept
    assert address.details["application"] == "東京都千代田区見本町1-2-3"


def test_with_code_a_only(demo_image, demo):
    report = check(demo_image, demo, secrets=ClerkSecrets(code_a=demo.code_a))
    s = statuses(report)
    assert report.passed, report.render()
    assert s["signatures.my_number_image"] is Status.PASSED
    assert s["application.my_number"] is Status.PASSED
    assert s["application.name"] is Status.SKIPPED and "照合番号B" in report.check("application.name").reason
    assert s["application.birth"] is Status.PASSED  # from the signed card face


def test_one_byte_changed_in_the_four_facts_is_named(demo_image, demo):
    ef = demo_image.applications["text"].files[0x0002]
    index = ef.index("見本町".encode()) + 1
    report = check(tamper(demo_image, "text", 0x0002, flip_at(index)), demo)
    assert not report.passed
    integrity = report.check("signatures.text_integrity")
    assert integrity.status is Status.FAILED
    assert "four-facts file (text EF 0002) does not match" in integrity.reason
    assert report.check("signatures.card_face").status is Status.PASSED  # the face is untouched


def test_one_byte_changed_in_the_my_number_is_named(demo_image, demo):
    report = check(tamper(demo_image, "text", 0x0001, flip_at(8)), demo)
    assert "My Number file (text EF 0001) does not match" in report.check("signatures.text_integrity").reason


def test_one_byte_changed_in_the_photo_is_named(demo_image, demo):
    ef = demo_image.applications["visual"].files[0x0002]
    photo = CardFace.parse(ef).photo_jp2
    report = check(tamper(demo_image, "visual", 0x0002, flip_at(ef.index(photo) + len(photo) // 2)), demo)
    face = report.check("signatures.card_face")
    assert face.status is Status.FAILED and "card face" in face.reason
    assert report.check("presence.visual").status is Status.SKIPPED  # an untrusted key is not challenged
    assert "signatures.card_face" in report.as_dict()["failed"]


def test_one_byte_changed_in_the_auth_certificate_is_named(demo_image, demo):
    der = demo_image.applications["jpki"].files[0x000A]
    # In the signature: a changed public key would no longer belong to the card's key, and the
    # image format refuses such a card (applet_model/key_pairs.py).
    report = check(tamper(demo_image, "jpki", 0x000A, flip_at(len(der) - 20)), demo)
    auth = report.check("certificates.auth")
    assert auth.status is Status.FAILED
    assert report.as_dict()["failed"] == ["certificates.auth"]


def test_a_forged_cv_certificate_is_named(demo_image, demo):
    report = check(tamper(demo_image, "visual", 0x0004, flip_at(100)), demo)
    assert report.check("signatures.visual_cv").status is Status.FAILED
    assert report.check("signatures.card_face").status is Status.SKIPPED


def test_a_copied_card_fails_the_challenge(demo_image, demo):
    """Genuine signed records copied onto a chip that lacks the card's private key."""
    visual = demo_image.applications["visual"]
    clone = replace(demo_image, applications={
        **demo_image.applications, "visual": replace(visual, keys={**visual.keys, "card": key("clone")})})
    report = check(clone, demo)
    assert report.check("signatures.card_face").status is Status.PASSED
    presence = report.check("presence.visual")
    assert presence.status is Status.FAILED and "challenge" in presence.reason


def test_an_application_that_differs_is_named_with_both_values(demo_image, demo):
    report = check(demo_image, demo, application={**demo.application, "address": "東京都千代田区見本町1-2-4"})
    address = report.check("application.address")
    assert address.status is Status.FAILED
    assert address.details["chip_normalized"] == "東京都千代田区見本町1-2-3"
    assert address.details["application_normalized"] == "東京都千代田区見本町1-2-4"
    assert report.as_dict()["failed"] == ["application.address"]


def test_an_application_my_number_with_a_wrong_check_digit(demo_image, demo):
    report = check(demo_image, demo, application={**demo.application, "my_number": "123456789019"})
    assert "check digit" in report.check("application.my_number").reason


def test_a_wrong_code_b_is_not_tried_on_the_other_ap(demo_image, demo):
    wrong = demo.code_b[:-1] + str((int(demo.code_b[-1]) + 1) % 10)
    card = open_image(demo_image)
    before = card.pins.tries_left(TEXT_CODE_B)
    report = run_clerk_check(card, ApplicationForm.from_mapping(demo.application), ClerkSecrets(code_b=wrong))
    assert report.check("card.face_read").status is Status.FAILED
    assert "tries left" in report.check("card.face_read").reason
    assert report.check("text.read").status is Status.SKIPPED
    assert card.pins.tries_left(TEXT_CODE_B) == before  # the card-info AP's counter was not spent


def test_an_expired_card(demo_image, demo):
    later = datetime.datetime(2037, 1, 1, tzinfo=datetime.UTC)
    report = check(demo_image, demo, at=later)
    assert report.check("face.not_expired").status is Status.FAILED
    assert report.check("certificates.auth").status is Status.FAILED


def test_without_secrets_only_free_data_is_checked(demo_image, demo):
    report = check(demo_image, demo, secrets=ClerkSecrets())
    s = statuses(report)
    assert s["card.face_read"] is Status.SKIPPED and s["text.read"] is Status.SKIPPED
    assert s["certificates.auth"] is Status.PASSED and s["signatures.visual_cv"] is Status.PASSED
    assert report.passed  # nothing failed; the report says what was not checked


def test_the_library_default_refuses_the_test_card(demo_image, demo):
    """run_clerk_check without `trust`: J-LIS only, for the X.509 chain and both CV anchors."""
    card = open_image(demo_image)
    try:
        report = run_clerk_check(card, ApplicationForm.from_mapping(demo.application),
                                 ClerkSecrets(code_b=demo.code_b, text_pin=demo.text_pin))
    finally:
        card.close()
    assert not report.passed
    assert {c.id for c in report.failed} == {"signatures.visual_cv", "signatures.text_cv", "certificates.auth"}
    assert report.untrusted_origins == {"test"} and not report.test_authority_trusted
    first = report.render().splitlines()[2]
    assert first.startswith("UNTRUSTED: this card chains to the mynacard TEST authority (JPKI-TEST (mynacard))")
    assert "--trust-test-authority" in first and "MYNACARD_TRUST_TEST_AUTHORITY=1" in first
    data = report.as_dict()
    assert list(data)[2:4] == ["notice", "test_authority_trusted"] and data["notice"] == first


def test_the_opt_in_is_announced_at_the_top(demo_image, demo):
    report = check(demo_image, demo)
    assert report.passed and report.test_authority_trusted
    assert report.render().splitlines()[2].startswith("TEST AUTHORITY TRUSTED: the mynacard TEST authority")
    assert report.as_dict()["test_authority_trusted"] is True


@pytest.fixture(scope="module")
def authority():
    from mynacard.ca.authority import load_test_authority

    return load_test_authority()


def test_revocation_of_the_auth_certificate(demo_image, demo, authority, tmp_path):
    from cryptography import x509

    serial = x509.load_der_x509_certificate(demo_image.applications["jpki"].files[0x000A]).serial_number
    ca = authority.auth_ca
    good, revoked = tmp_path / "good.crl", tmp_path / "revoked.crl"
    good.write_bytes(build_crl(ca.certificate, ca.private_key, {}))
    revoked.write_bytes(build_crl(ca.certificate, ca.private_key, {serial: None}))
    ok = check(demo_image, demo, revocation=RevocationConfig(crl=str(good)))
    assert ok.check("certificates.auth_revocation").status is Status.PASSED
    bad = check(demo_image, demo, revocation=RevocationConfig(crl=str(revoked)))
    assert bad.check("certificates.auth_revocation").status is Status.FAILED
    unreachable = check(demo_image, demo, revocation=RevocationConfig(ocsp_url="http://127.0.0.1:9/ocsp", timeout=2))
    closed = unreachable.check("certificates.auth_revocation")
    assert closed.status is Status.FAILED and "could not be reached" in closed.reason


def test_the_my_number_is_masked_unless_asked(demo_image, demo):
    report = check(demo_image, demo)
    text, data = report.render(), str(report.as_dict())
    assert demo.code_a not in text and demo.code_a not in data
    assert mask_my_number(demo.code_a) in text
    assert demo.code_a in report.render(show_my_number=True)
    assert report.as_dict(show_my_number=True)["chip"]["my_number"] == demo.code_a


def test_secrets_never_appear_in_the_report_or_repr(demo_image, demo):
    secrets = ClerkSecrets(code_b=demo.code_b, text_pin=demo.text_pin)
    report = check(demo_image, demo, secrets=secrets)
    for text in (report.render(show_my_number=True), str(report.as_dict(show_my_number=True)), repr(secrets)):
        assert demo.code_b not in text


def test_code_b_typed_full_width_with_spaces(demo_image, demo):
    typed = "".join(chr(ord(c) + 0xFEE0) for c in demo.code_b)
    typed = f"{typed[:6]} {typed[6:10]} {typed[10:]}"
    report = check(demo_image, demo, secrets=ClerkSecrets(code_b=typed))
    assert report.check("face.code_b_consistent").status is Status.PASSED
    assert report.check("signatures.age_record").status is Status.PASSED


def test_a_card_face_that_disagrees_with_the_printed_code_b(demo_image, demo):
    """A chip whose 照合番号B reference was set for another birth date than its signed face says:
    the printed card (from which the clerk typed B) and the chip disagree (CI §8, §12)."""
    from mynacard.applet_model.secrets import PinReference

    other_b = "590101" + demo.code_b[6:]
    visual = demo_image.applications["visual"]
    odd = replace(demo_image, applications={**demo_image.applications, "visual": replace(
        visual, pins={**visual.pins, "code-b": PinReference.create(other_b)})})
    report = check(odd, demo, secrets=ClerkSecrets(code_b=other_b))
    consistent = report.check("face.code_b_consistent")
    assert consistent.status is Status.FAILED and "birth date" in consistent.reason
    assert report.check("signatures.age_record").status is Status.SKIPPED  # no birth key is guessed
