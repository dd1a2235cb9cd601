"""The committed test authority (ca/test_authority/) and its generator, tools/make_test_authority.py."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from mynacard.ca.authority import CV_KEYS, PACKAGE_DIRECTORY, Authority
from mynacard.ca.errors import AuthorityError
from mynacard.ca.jpki_names import Locality

REPO = Path(__file__).resolve().parents[2]


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_committed_files_are_labelled_insecure() -> None:
    """Every private key says INSECURE-TEST-KEY in its file name; the README says why."""
    manifest = json.loads((PACKAGE_DIRECTORY / "authority.json").read_text(encoding="utf-8"))
    key_files = [e["key"] for e in manifest["jpki"].values()] + [e["key"] for e in manifest["cv"].values()]
    assert len(key_files) == 8
    assert all(name.startswith("INSECURE-TEST-KEY-") for name in key_files)
    for path in PACKAGE_DIRECTORY.glob("*.pem"):
        is_private = b"PRIVATE KEY" in path.read_bytes()
        assert is_private == path.name.startswith("INSECURE-TEST-KEY-"), path.name
    assert "INSECURE TEST KEYS" in (PACKAGE_DIRECTORY / "README.md").read_text(encoding="utf-8")


def test_published_roots_match_the_keys(authority: Authority) -> None:
    """The public PEMs a host bundles are the halves of the committed keys."""
    for kind, ca in (("sign", authority.sign_ca), ("auth", authority.auth_ca)):
        pem = x509.load_pem_x509_certificate((PACKAGE_DIRECTORY / f"jpki-{kind}-ca.pem").read_bytes())
        assert pem == ca.certificate
    anchors = authority.cv.anchors()
    assert {str(k) for k in anchors} == {"9000020/001", "9000023/001", "9000033/001"}
    for name, (number, anchor) in CV_KEYS.items():
        if anchor:
            public = serialization.load_pem_public_key((PACKAGE_DIRECTORY / f"cv-{name}-{number}.pub.pem").read_bytes())
            key_id = next(k for k in anchors if k.number == number)
            assert public.public_numbers() == anchors[key_id].public_numbers()


def test_cv_key_ids_are_clearly_ours(authority: Authority) -> None:
    """CI §7.3: production IDs start with 5, J-LIS's test hierarchy with 6; ours with 9."""
    for _, key in authority.cv.items():
        assert key.key_id.number.startswith("9")
        assert bytes(key.key_id)[12:] == b"\x00\x00\x00\x00"


def test_cv_chain_certificates_verify(authority: Authority) -> None:
    """CI §10: 00F8 = MF root -> intermediate; CI §7.3: each 券面 AP root -> its record key."""
    cv = authority.cv
    upper = cv.mf_upper_certificate()
    upper.verify(cv.mf_root.public_key)
    assert (upper.issuer_key_id, upper.subject_key_id) == (cv.mf_root.key_id, cv.mf_intermediate.key_id)
    for cert, root, records in (
        (cv.visual_certificate(), cv.visual_root, cv.visual_records),
        (cv.text_certificate(), cv.text_root, cv.text_records),
    ):
        cert.verify(root.public_key)
        assert cert.subject_key_id == records.key_id
        assert cert.public_key.public_numbers() == records.public_key.public_numbers()


def test_generate_write_load_round_trip(tmp_path: Path, key_pool) -> None:
    generated = Authority.generate(key_pool, datetime(2026, 1, 1, tzinfo=UTC))
    generated.write(tmp_path)
    loaded = Authority.load(tmp_path)
    assert loaded.sign_ca.certificate == generated.sign_ca.certificate
    assert loaded.auth_ca.certificate == generated.auth_ca.certificate
    assert {str(k) for k in loaded.cv.anchors()} == {str(k) for k in generated.cv.anchors()}
    assert loaded.generated_at == datetime(2026, 1, 1, tzinfo=UTC)


def test_same_names_different_authority_does_not_verify(authority: Authority, key_pool, pool_keys) -> None:
    """jpki-system.md §1.1: generations share a DN, so chains are confirmed by signature; a card
    from another authority with our names must fail that check."""
    other = Authority.generate(key_pool, datetime(2026, 1, 1, tzinfo=UTC))
    assert other.sign_ca.certificate.subject == authority.sign_ca.certificate.subject
    issued = other.auth_ca.issue(
        pool_keys[0].public_key(), date(1980, 2, 17), Locality("Tokyo-to", "Kiyose-shi"), "13221",
        date(2035, 2, 17), datetime(2026, 1, 2, tzinfo=UTC),
    )
    with pytest.raises(InvalidSignature):
        issued.certificate.verify_directly_issued_by(authority.auth_ca.certificate)


def test_loading_a_missing_authority_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(AuthorityError, match="make_test_authority.py"):
        Authority.load(tmp_path / "nowhere")


def test_generator_refuses_to_replace_an_authority(tmp_path: Path, key_pool, monkeypatch, capsys) -> None:
    """Regenerating would orphan every card made so far: only --force replaces."""
    tool = _tool("make_test_authority")
    monkeypatch.setattr("mynacard.ca.keys.generate_rsa_key", key_pool)
    assert tool.main(["--directory", str(tmp_path)]) == 0
    first = (tmp_path / "jpki-sign-ca.pem").read_bytes()
    assert "INSECURE TEST KEYS" in (tmp_path / "README.md").read_text(encoding="utf-8")
    assert tool.main(["--directory", str(tmp_path)]) == 1
    assert "--force" in capsys.readouterr().err
    assert (tmp_path / "jpki-sign-ca.pem").read_bytes() == first
    assert tool.main(["--directory", str(tmp_path), "--force"]) == 0
    assert Authority.load(tmp_path).sign_ca.certificate.subject.rfc4514_string().startswith("OU=mynacard")
