"""The roots host ships (host/roots/) are the J-LIS roots of the reference and exact copies of the
project's test authority (ca/test_authority/), so the two cannot drift apart.

Run this file directly to refresh host's copies after the test authority was regenerated:
    .venv/bin/python tests/host_verify/test_pinned_roots.py
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from mynacard.host.trust import CV_ROOTS_FILE, TrustError, default_trust, load_trust, roots_directory

REPO = Path(__file__).resolve().parents[2]
AUTHORITY = REPO / "ca" / "test_authority"
REFRESH = "refresh them with: .venv/bin/python tests/host_verify/test_pinned_roots.py"

#: jpki-system.md §1.1 (the 2023 signing fingerprint matches J-LIS's published value).
JLIS_FINGERPRINTS = {
    "sign-jlis-2015": "19645405a1fe14377434bd55957628ac4038557c542403a2243f21c706fc9355",
    "sign-jlis-2023": "d227f6cde11d35c5252178f106f843d24651944975413b539fa2fb68dbfa365f",
    "auth-jlis-2015": "4dcfc4ca0aaf9fb2a3081b3f0c991c320b3acc008667a341eeaec5af1d58ca7d",
    "auth-jlis-2023": "64114f29620c24ed2631d46476a040e7ee740d956089c00b036a6a8118c322b5",
}


def expected_test_roots() -> dict[str, bytes]:
    """host/roots file name -> content, derived from ca/test_authority/authority.json."""
    manifest = json.loads((AUTHORITY / "authority.json").read_text(encoding="utf-8"))
    files = {
        "sign-test-mynacard.pem": (AUTHORITY / manifest["jpki"]["sign"]["certificate"]).read_bytes(),
        "auth-test-mynacard.pem": (AUTHORITY / manifest["jpki"]["auth"]["certificate"]).read_bytes(),
    }
    cv_roots = [
        {"key_id": entry["key_id"].lower(), "origin": "test", "label": name,
         "public_key": (AUTHORITY / entry["public_key"]).read_text(encoding="ascii")}
        for name, entry in manifest["cv"].items() if "public_key" in entry
    ]
    files[CV_ROOTS_FILE] = (json.dumps({"roots": cv_roots}, indent=2) + "\n").encode()
    return files


def test_jlis_roots_are_the_published_ones():
    trust = default_trust()
    found = {r.label: hashlib.sha256(r.certificate.public_bytes(serialization.Encoding.DER)).hexdigest()
             for r in trust.signing.roots + trust.auth.roots if r.origin == "jlis"}
    assert found == JLIS_FINGERPRINTS


def test_each_root_sits_in_the_store_of_its_purpose():
    trust = default_trust()
    assert all("digital signature" in r.certificate.subject.rfc4514_string() for r in trust.signing.roots)
    assert all("user authentication" in r.certificate.subject.rfc4514_string() for r in trust.auth.roots)


@pytest.mark.skipif(not (AUTHORITY / "authority.json").exists(), reason="ca/test_authority not generated yet")
def test_test_roots_equal_the_test_authority():
    for name, content in expected_test_roots().items():
        path = roots_directory() / name
        assert path.exists(), f"host/roots/{name} is missing; {REFRESH}"
        assert path.read_bytes() == content, f"host/roots/{name} differs from ca/test_authority; {REFRESH}"
    trust = default_trust(trust_test_authority=True)
    assert {r.label for r in trust.signing.roots if r.origin == "test"} == {"sign-test-mynacard"}
    assert {r.label for r in trust.auth.roots if r.origin == "test"} == {"auth-test-mynacard"}
    assert {r.label for r in trust.cv_roots.values()} == {"mf-root", "visual-root", "text-root"}


def test_only_jlis_is_trusted_unless_the_caller_opts_in():
    """Fail closed: the test authority's private keys are public, so library callers get the J-LIS
    anchors only; the test anchors are merely withheld (to name them in refusals)."""
    trust = default_trust()
    assert trust.origins == {"jlis"} and not trust.test_authority_trusted
    assert {r.origin for r in trust.signing.roots + trust.auth.roots} == {"jlis"}
    assert trust.cv_roots == {}  # J-LIS publishes no CV keys: no 券面 record is trusted by default
    assert {r.label for r in trust.signing.withheld + trust.auth.withheld} == {"sign-test-mynacard",
                                                                              "auth-test-mynacard"}
    assert {r.label for r in trust.withheld_cv_roots.values()} == {"mf-root", "visual-root", "text-root"}
    opted = default_trust(trust_test_authority=True)
    assert opted.origins == {"jlis", "test"} and opted.test_authority_trusted
    assert not opted.signing.withheld and not opted.withheld_cv_roots


def test_a_broken_roots_folder_is_refused(tmp_path):
    (tmp_path / "sign-test-x.pem").write_text("not a certificate")
    with pytest.raises(TrustError, match="sign-test-x.pem is not a PEM certificate"):
        load_trust(tmp_path)
    (tmp_path / "sign-test-x.pem").unlink()
    (tmp_path / CV_ROOTS_FILE).write_text('{"roots": [{"key_id": "00", "public_key": ""}]}')
    with pytest.raises(TrustError, match="cv-roots.json"):
        load_trust(tmp_path)


if __name__ == "__main__":
    for file_name, data in expected_test_roots().items():
        (REPO / "host" / "roots" / file_name).write_bytes(data)
        print(f"wrote host/roots/{file_name}", file=sys.stderr)
