"""The CI §12 behaviours as card-profile options (docs/card-model.md): declared once with their
evidence, parsed from `KEY=VALUE`, stored in the card image, and older images keep the defaults."""

from __future__ import annotations

import json

import pytest

from mynacard.applet_model.card import Card
from mynacard.applet_model.profiles import (
    BEHAVIOURS,
    DEFAULT_PROFILE,
    apply_behaviours,
    behaviours_of,
    choices_help,
    parse_choice,
    parse_choices,
)
from mynacard.applet_model.errors import ImageError
from mynacard.applet_model.store import DirectoryStore, MemoryStore


def test_every_behaviour_has_two_sides_with_evidence_and_the_default_first():
    assert set(BEHAVIOURS) == {"reselect", "verify-query", "atr-object", "mf-7f21"}
    for b in BEHAVIOURS.values():
        assert len(b.variants) >= 2 and all(v.evidence for v in b.variants) and b.choice
        assert b.value_of(DEFAULT_PROFILE) == b.default.value
    assert behaviours_of(DEFAULT_PROFILE) == {"reselect": "keeps", "verify-query": "retries",
                                              "atr-object": "mf", "mf-7f21": "present"}


def test_parsing_names_the_choices():
    assert parse_choice("reselect=clears") == ("reselect", "clears")
    assert parse_choices(["reselect=clears", "mf-7f21=absent", "reselect=keeps"]) == {
        "reselect": "keeps", "mf-7f21": "absent"}
    with pytest.raises(ValueError, match="reselect=keeps\\|clears; verify-query=retries\\|ok"):
        parse_choice("reselect")
    with pytest.raises(ValueError, match="choose one of: keeps, clears"):
        parse_choice("reselect=sometimes")
    with pytest.raises(ValueError, match="not KEY=VALUE with a known behaviour"):
        parse_choice("logout=clears")
    assert "reselect      keeps (default), clears" in choices_help()


def test_apply_sets_the_profile_fields():
    profile = apply_behaviours(DEFAULT_PROFILE, {"reselect": "clears", "mf-7f21": "absent", "verify-query": "ok",
                                                 "atr-object": "ap"})
    assert (profile.reselect_same_ap, profile.mf_7f21, profile.verify_query_after_success,
            profile.atr_object_at) == ("clears", False, "ok", "ap")
    assert behaviours_of(profile)["mf-7f21"] == "absent"


def test_the_image_stores_the_behaviours_and_older_images_get_the_defaults(card_dir):
    store = DirectoryStore(card_dir)
    store.replace_profile(apply_behaviours(store.load_image().profile, {"reselect": "clears"}))
    manifest = json.loads((card_dir / "card.json").read_text())
    assert manifest["profile"]["reselect_same_ap"] == "clears"
    assert Card.open(DirectoryStore(card_dir)).profile.reselect_same_ap == "clears"

    del manifest["profile"]["reselect_same_ap"]  # an image written before the option existed
    (card_dir / "card.json").write_text(json.dumps(manifest))
    assert Card.open(DirectoryStore(card_dir)).profile.reselect_same_ap == "keeps"

    for bad in ("sometimes", True):
        manifest["profile"]["reselect_same_ap"] = bad
        (card_dir / "card.json").write_text(json.dumps(manifest))
        with pytest.raises(ImageError, match='reselect_same_ap must be one of "keeps", "clears"'):
            DirectoryStore(card_dir).load_image()
    manifest["profile"]["reselect_same_ap"] = "keeps"
    manifest["profile"]["mf_7f21"] = 1
    (card_dir / "card.json").write_text(json.dumps(manifest))
    with pytest.raises(ImageError, match="mf_7f21 must be one of true, false"):
        DirectoryStore(card_dir).load_image()


def test_replacing_the_profile_keeps_the_counters(card_dir):
    card = Card.open(DirectoryStore(card_dir))
    card.power_up()
    for apdu in ("00A4040C0AD392F000260100000001", "00A4020C020018", "002000800439393939"):
        card.execute(bytes.fromhex(apdu))
    DirectoryStore(card_dir).replace_profile(apply_behaviours(DEFAULT_PROFILE, {"reselect": "clears"}))
    card = Card.open(DirectoryStore(card_dir))
    card.power_up()
    card.execute(bytes.fromhex("00A4040C0AD392F000260100000001"))
    card.execute(bytes.fromhex("00A4020C020018"))
    assert card.execute(bytes.fromhex("00200080")) == b"\x63\xC2"


@pytest.mark.parametrize("reselect", ["keeps", "clears"])
def test_reselect_of_the_text_ap_between_verify_and_read(synthetic_image, reselect):
    """CI §12: PYJ's four-facts flow (VERIFY, SELECT the AP again, READ) per the profile."""
    card = Card.open(MemoryStore(synthetic_image), profile=apply_behaviours(DEFAULT_PROFILE, {"reselect": reselect}))
    for apdu in ("00A4040C0AD3921000310001010408", "00A4020C020011", "002000800431323334",
                 "00A4040C0AD3921000310001010408", "00A4020C020002"):
        assert card.execute(bytes.fromhex(apdu))[-2:] == b"\x90\x00"
    answer = card.execute(bytes.fromhex("00B0000004"))
    assert answer[-2:] == (b"\x90\x00" if reselect == "keeps" else b"\x69\x82")
    # Selecting another AP and back always clears, whatever the profile (CI §4).
    for apdu in ("00A4040C0AD392F000260100000001", "00A4040C0AD3921000310001010408", "00A4020C020002"):
        card.execute(bytes.fromhex(apdu))
    assert card.execute(bytes.fromhex("00B0000004")) == b"\x69\x82"
