"""The card image on disk: round trip, durability of counters, torn writes, damaged images
(DESIGN.md "The card model"; docs/card-image.md)."""

from __future__ import annotations

import json
import os

import pytest
from conftest import run

from mynacard.applet_model.card import Card
from mynacard.applet_model.errors import ImageError, PowerLost
from mynacard.applet_model.image import CardImage
from mynacard.applet_model.store import DirectoryStore

HUGE_COUNT = "pbkdf2-sha256$1000000000$" + "00" * 16 + "$" + "00" * 32
JPKI_AUTH_PIN = ("00A4040C0AD392F000260100000001", "00A4020C020018")


@pytest.fixture
def card_dir(tmp_path, synthetic_image):
    DirectoryStore.create(tmp_path / "card", synthetic_image)
    return tmp_path / "card"


def query_auth_pin(card: Card) -> int:
    for apdu in JPKI_AUTH_PIN:
        run(card, apdu)
    return run(card, "00200080")[1]


def test_round_trip_preserves_every_ef_key_and_secret(card_dir, synthetic_image):
    loaded = DirectoryStore(card_dir).load_image()
    for name, app in synthetic_image.applications.items():
        assert loaded.applications[name].files == app.files
        assert loaded.applications[name].records == app.records
        assert {k: v.private_numbers() for k, v in loaded.applications[name].keys.items()} == \
               {k: v.private_numbers() for k, v in app.keys.items()}
    assert loaded.mf_objects == synthetic_image.mf_objects
    assert loaded.profile == synthetic_image.profile


def test_image_is_human_readable_and_holds_no_pin(card_dir):
    manifest = (card_dir / "card.json").read_text("utf-8")
    doc = json.loads(manifest)
    assert doc["format"] == "mynacard-card-image" and doc["version"] == 1
    assert doc["applications"]["jpki"]["aid"] == "D392F000260100000001"
    assert doc["applications"]["jpki"]["secrets"]["auth-pin"].startswith("pbkdf2-sha256$")
    everything = b"".join(p.read_bytes() for p in card_dir.rglob("*") if p.is_file())
    for secret in (b"ABC123", b"55021720352285", b"\"1234\""):
        assert secret not in everything
    assert oct((card_dir / "keys" / "jpki-auth.pem").stat().st_mode & 0o777) == "0o600"


def test_counters_persist_across_reopening(card_dir):
    card = Card.open(DirectoryStore(card_dir))
    query_auth_pin(card)
    assert run(card, "002000800439393939")[1] == 0x63C2
    assert query_auth_pin(Card.open(DirectoryStore(card_dir))) == 0x63C2


def test_a_blocked_pin_stays_blocked_across_a_reload(card_dir):
    """Blocked stays blocked when the card is loaded again from disk (issue 2, CI §3)."""
    card = Card.open(DirectoryStore(card_dir))
    query_auth_pin(card)
    for _ in range(3):
        run(card, "002000800439393939")
    reloaded = Card.open(DirectoryStore(card_dir))
    assert query_auth_pin(reloaded) == 0x63C0
    assert run(reloaded, "002000800431323334")[1] == 0x6984


def test_a_torn_write_during_a_wrong_verify_never_gives_a_try_back(card_dir):
    store = DirectoryStore(card_dir)
    card = Card.open(store)
    before = query_auth_pin(card) & 0x0F
    store.inject_torn_write()
    with pytest.raises(PowerLost):
        run(card, "002000800439393939")
    assert any(p.name.endswith(".tmp-mynacard") for p in card_dir.iterdir())  # the torn temp file
    after = query_auth_pin(Card.open(DirectoryStore(card_dir))) & 0x0F
    assert after <= before
    assert not any(p.name.endswith(".tmp-mynacard") for p in card_dir.iterdir())


def test_a_torn_write_of_the_reset_after_a_right_pin_may_cost_a_try_but_gives_none(card_dir):
    store = DirectoryStore(card_dir)
    card = Card.open(store)
    query_auth_pin(card)
    run(card, "002000800439393939")  # 2 left

    class TearSecondWrite:
        """Let the decrement through, tear the write that restores the counter."""
        def __init__(self, inner):
            self.inner, self.writes = inner, 0

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def save_state(self, state):
            self.writes += 1
            if self.writes == 2:
                self.inner.inject_torn_write()
            self.inner.save_state(state)

    card = Card.open(TearSecondWrite(DirectoryStore(card_dir)))
    query_auth_pin(card)
    with pytest.raises(PowerLost):
        run(card, "002000800431323334")
    assert query_auth_pin(Card.open(DirectoryStore(card_dir))) == 0x63C1  # cost one, gave none


def test_card_comes_back_from_a_power_loss_with_what_the_store_holds(card_dir):
    store = DirectoryStore(card_dir)
    card = Card.open(store)
    query_auth_pin(card)
    store.inject_torn_write()
    with pytest.raises(PowerLost):
        run(card, "002000800439393939")
    card.power_up()
    assert query_auth_pin(card) == 0x63C3


def test_create_refuses_to_overwrite_unless_asked(card_dir, synthetic_image):
    with pytest.raises(ImageError, match="already exists"):
        DirectoryStore.create(card_dir, synthetic_image)
    DirectoryStore.create(card_dir, synthetic_image, overwrite=True)
    assert not [p for p in card_dir.parent.iterdir() if p.name.startswith(".")]


def test_an_invalid_image_writes_nothing(tmp_path, synthetic_image):
    broken = CardImage(synthetic_image.profile, dict(synthetic_image.applications))
    del broken.applications["juki"]
    with pytest.raises(ImageError, match="住基AP"):
        DirectoryStore.create(tmp_path / "card", broken)
    assert list(tmp_path.iterdir()) == []


def _damage(card_dir, how):
    if how == "truncated file":
        f = card_dir / "files" / "jpki-000A.bin"
        f.write_bytes(f.read_bytes()[:100])
    elif how == "edited file":
        f = card_dir / "files" / "visual-0002.bin"
        data = bytearray(f.read_bytes())
        data[10] ^= 1
        f.write_bytes(bytes(data))
    elif how == "truncated manifest":
        f = card_dir / "card.json"
        f.write_bytes(f.read_bytes()[:500])
    elif how == "missing key":
        os.unlink(card_dir / "keys" / "jpki-sign.pem")
    elif how == "garbage key":
        (card_dir / "keys" / "jpki-sign.pem").write_bytes(b"not a key")
    elif how == "newer version":
        doc = json.loads((card_dir / "card.json").read_text())
        doc["version"] = 2
        (card_dir / "card.json").write_text(json.dumps(doc))
    elif how == "missing state":
        os.unlink(card_dir / "state.json")
    elif how == "corrupt state":
        (card_dir / "state.json").write_text('{"format": "mynacard-card-state", "vers')
    elif how == "state is a directory":
        os.unlink(card_dir / "state.json")
        os.mkdir(card_dir / "state.json")
    elif how in ("hash removed", "size removed"):
        doc = json.loads((card_dir / "card.json").read_text())
        doc["applications"]["visual"]["files"]["0002"].pop("sha256" if how == "hash removed" else "size")
        (card_dir / "card.json").write_text(json.dumps(doc))
    elif how == "key hash removed":
        doc = json.loads((card_dir / "card.json").read_text())
        doc["applications"]["jpki"]["keys"]["sign"].pop("sha256")
        (card_dir / "card.json").write_text(json.dumps(doc))
    elif how == "huge PBKDF2 count":
        doc = json.loads((card_dir / "card.json").read_text())
        doc["applications"]["text"]["secrets"]["code-a"] = HUGE_COUNT
        (card_dir / "card.json").write_text(json.dumps(doc))
    elif how == "small PBKDF2 count in state":
        doc = json.loads((card_dir / "state.json").read_text())
        doc["changed"]["text/pin"] = HUGE_COUNT.replace("$1000000000$", "$1$")
        (card_dir / "state.json").write_text(json.dumps(doc))
    elif how == "impossible counter":
        doc = json.loads((card_dir / "state.json").read_text())
        doc["tries"]["jpki/auth-pin"] = 9
        (card_dir / "state.json").write_text(json.dumps(doc))


@pytest.mark.parametrize("how, message", [
    ("truncated file", r"jpki-000A\.bin .* has 100 bytes .* truncated"),
    ("edited file", r"visual-0002\.bin .* SHA-256"),
    ("truncated manifest", r"card\.json is not valid JSON .* truncated"),
    ("missing key", r"jpki-sign\.pem .* missing"),
    ("garbage key", r"jpki-sign\.pem .* SHA-256"),
    ("newer version", r"version 2"),
    ("missing state", r"state\.json is missing"),
    ("corrupt state", r"state\.json is corrupt"),
    ("impossible counter", r"jpki/auth-pin = 9 is impossible"),
    ("state is a directory", r"state\.json is a directory where the card's retry counters belong"),
    ("hash removed", r"no valid SHA-256 for files/visual-0002\.bin"),
    ("size removed", r"no valid size for files/visual-0002\.bin"),
    ("key hash removed", r"no valid SHA-256 for keys/jpki-sign\.pem"),
    ("huge PBKDF2 count", r"'code-a' is unreadable \(PBKDF2 iteration count 1000000000 is outside"),
    ("small PBKDF2 count in state", r"text/pin is unreadable \(PBKDF2 iteration count 1 is outside"),
])
def test_a_damaged_image_is_refused_with_a_sentence_naming_the_problem(card_dir, how, message):
    _damage(card_dir, how)
    before = sorted((str(p), p.read_bytes() if p.is_file() else None) for p in card_dir.rglob("*"))
    with pytest.raises(ImageError, match=message):
        Card.open(DirectoryStore(card_dir))
    assert sorted((str(p), p.read_bytes() if p.is_file() else None) for p in card_dir.rglob("*")) == before


def test_not_a_card_directory(tmp_path):
    with pytest.raises(ImageError, match="card.json is missing"):
        Card.open(DirectoryStore(tmp_path))
    with pytest.raises(ImageError, match="is not a directory"):
        Card.open(DirectoryStore(tmp_path / "nothing"))
