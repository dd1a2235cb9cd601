"""The CA store on both databases: SQLite (the default) and a real PostgreSQL server started by
the test session (service/pg_testing.py). Same tests, same expectations."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import ocsp
from sqlalchemy import inspect

from mynacard.ca import store_schema
from mynacard.ca.backup import export_archive, restore_archive
from mynacard.ca.errors import AuthorityError
from mynacard.ca.jpki_names import Locality
from mynacard.ca.keys import KeyPool
from mynacard.ca.personal_data import PersonalData
from mynacard.ca.runtime import VERSION_TABLE, CaRuntime, migrate
from mynacard.ca.store import Conflict, NotFound
from mynacard.service.config import ServiceConfig, sqlite_url
from mynacard.service.migrations import current_revision

PERSON = PersonalData("見本\u3000花子", "2", date(1985, 4, 12), "東京都清瀬市中里1-2-3")
LOCALITY = Locality("Tokyo", "Kiyose-shi")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path, "ca")
    postgres_url: Callable[[], str] = request.getfixturevalue("postgres_url")
    return postgres_url()


def open_runtime(data: Path, url: str, pool_keys: list[rsa.RSAPrivateKey]) -> CaRuntime:
    return CaRuntime.open(ServiceConfig(data_dir=data, database_urls={"ca": url}), key_source=KeyPool(pool_keys[:2]))


@pytest.fixture
def runtime(tmp_path: Path, database_url: str, pool_keys: list[rsa.RSAPrivateKey]) -> Iterator[CaRuntime]:
    opened = open_runtime(tmp_path / "data", database_url, pool_keys)
    yield opened
    opened.close()


def issue(runtime: CaRuntime, key: rsa.RSAPrivateKey, resident: str | None = None) -> int:
    record = runtime.service.issue_sign(key.public_key(), PERSON, LOCALITY, "13221", date(2034, 4, 12),
                                        auth_not_after=None, resident_id=resident, card_serial=None, actor="test")
    return record.serial


def test_migrations_match_the_schema_and_are_idempotent(runtime: CaRuntime) -> None:
    migrate(runtime.engine)
    assert current_revision(runtime.engine, VERSION_TABLE) == "ca_0002"
    inspector = inspect(runtime.engine)
    for table in store_schema.metadata.tables.values():
        columns = {c["name"]: c["nullable"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name: c.nullable for c in table.columns}, table.name


def test_lifecycle_is_recorded_and_nothing_deleted(runtime: CaRuntime, pool_keys: list[rsa.RSAPrivateKey]) -> None:
    service, store = runtime.service, runtime.service.store
    first, second, third = (issue(runtime, pool_keys[2 + i], resident=f"R{i}") for i in range(3))
    service.change_status("sign", first, "hold", cause="lost", actor="clerk")
    service.change_status("sign", first, "release", cause="found", actor="clerk")
    service.change_status("sign", second, "revoke", reason="affiliationChanged", actor="register")
    service.change_status("sign", third, "hold", actor="call centre")
    service.change_status("sign", third, "revoke", reason="keyCompromise", actor="clerk")
    assert [e["action"] for e in store.events("sign", first)] == ["issue", "hold", "release"]
    assert store.get("sign", first).status == "good"
    assert store.get("sign", second).revocation.reason == "affiliationChanged"  # type: ignore[union-attr]
    assert store.get("sign", third).revocation.reason == "keyCompromise"  # type: ignore[union-attr]
    with pytest.raises(Conflict):
        service.change_status("sign", second, "release", actor="x")
    with pytest.raises(NotFound):
        store.get("sign", 12345)
    with pytest.raises(AuthorityError):
        service.change_status("sign", first, "revoke", reason="removeFromCRL", actor="x")
    assert {r.serial for r in store.find("sign", status="revoked")} == {second, third}
    assert [r.serial for r in store.find("sign", resident_id="R0")] == [first]
    page = store.find("sign", limit=2)
    assert len(page) == 2 and store.find("sign", after=page[-1].serial)[0].serial > page[-1].serial
    assert len(store.find("sign", limit=10)) == 3


def test_crl_and_ocsp_from_the_store(runtime: CaRuntime, pool_keys: list[rsa.RSAPrivateKey]) -> None:
    good, revoked = issue(runtime, pool_keys[2]), issue(runtime, pool_keys[3])
    runtime.service.change_status("sign", revoked, "revoke", reason="superseded", actor="t")
    first = runtime.crls.generate("sign")
    second = runtime.crls.current("sign")
    assert second.number == first.number  # unchanged: served from memory
    runtime.service.change_status("sign", good, "hold", actor="t")
    third = runtime.crls.current("sign")
    assert third.number == first.number + 1  # a change makes the next fetch a new CRL
    crl = x509.load_der_x509_crl(third.der)
    root = runtime.service.cas["sign"].certificate
    assert crl.is_signature_valid(root.public_key())  # type: ignore[arg-type]
    reasons = {entry.serial_number: entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
               for entry in crl}
    assert reasons == {revoked: x509.ReasonFlags.superseded, good: x509.ReasonFlags.certificate_hold}

    certificate = x509.load_der_x509_certificate(runtime.service.store.get("sign", good).der)
    request = ocsp.OCSPRequestBuilder().add_certificate(certificate, root, hashes.SHA1()).build()
    answer = ocsp.load_der_ocsp_response(runtime.ocsp.answer("sign", request.public_bytes(serialization.Encoding.DER)).der)
    assert answer.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason is x509.ReasonFlags.certificate_hold
    responder = answer.certificates[0].public_key()
    assert isinstance(responder, rsa.RSAPublicKey)
    responder.verify(answer.signature, answer.tbs_response_bytes, padding.PKCS1v15(), hashes.SHA256())


def test_the_newest_status_change_is_not_moved_by_issuance(runtime: CaRuntime, pool_keys: list[rsa.RSAPrivateKey]) -> None:
    """The leading process's CRL job compares it every few seconds: an issuance must not remake CRLs."""
    store = runtime.service.store
    serial = issue(runtime, pool_keys[2])
    assert store.last_change("sign") == 0
    runtime.service.change_status("sign", serial, "hold", actor="t")
    held = store.last_change("sign")
    assert held > 0 and store.last_change("auth") == 0
    issue(runtime, pool_keys[3])
    assert store.last_change("sign") == held


def test_concurrent_revocations_apply_once(runtime: CaRuntime, pool_keys: list[rsa.RSAPrivateKey]) -> None:
    serial = issue(runtime, pool_keys[2])
    reasons = ["keyCompromise", "superseded", "affiliationChanged", "cessationOfOperation"] * 2
    results = []

    def revoke(reason: str) -> None:
        results.append(runtime.service.change_status("sign", serial, "revoke", reason=reason, actor=reason))

    threads = [threading.Thread(target=revoke, args=(reason,)) for reason in reasons]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == len(reasons)
    assert len({(r.revocation.time, r.revocation.reason) for r in results if r.revocation}) == 1
    assert [e["action"] for e in runtime.service.store.events("sign", serial)] == ["issue", "revoke"]


def test_crl_numbers_never_repeat_under_concurrency(runtime: CaRuntime) -> None:
    from datetime import UTC, datetime

    numbers: list[int] = []
    threads = [threading.Thread(target=lambda: numbers.append(
        runtime.service.store.next_crl_number("auth", datetime.now(UTC)))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == list(range(1, 9))


def test_backup_restores_onto_the_other_database(runtime: CaRuntime, database_url: str, tmp_path: Path,
                                                 pool_keys: list[rsa.RSAPrivateKey],
                                                 request: pytest.FixtureRequest) -> None:
    serial = issue(runtime, pool_keys[2])
    runtime.service.change_status("sign", serial, "revoke", reason="keyCompromise", actor="t")
    archive = tmp_path / "backup.tar.gz"
    archive.write_bytes(export_archive(runtime.engine, runtime.config.data_dir / "ca", runtime.origin))

    target_url = (sqlite_url(tmp_path / "restored", "ca") if database_url.startswith("postgresql")
                  else request.getfixturevalue("postgres_url")())
    from mynacard.service.db import make_engine

    engine = make_engine(target_url)
    migrate(engine)
    counts = restore_archive(archive, engine, tmp_path / "restored" / "ca")
    engine.dispose()
    assert counts["ca_certificates"] == 1 and counts["ca_events"] == 2
    restored = open_runtime(tmp_path / "restored", target_url, pool_keys)
    try:
        record = restored.service.store.get("sign", serial)
        assert record.status == "revoked" and record.revocation.reason == "keyCompromise"  # type: ignore[union-attr]
        assert restored.crls.generate("sign").number == runtime.crls.generate("sign").number
        with pytest.raises(AuthorityError, match="already holds"):
            restore_archive(archive, make_engine(target_url), tmp_path / "elsewhere" / "ca")
    finally:
        restored.close()


def test_background_publisher_remakes_the_crl_after_a_change(runtime: CaRuntime,
                                                              pool_keys: list[rsa.RSAPrivateKey]) -> None:
    import time

    serial = issue(runtime, pool_keys[2])
    before = runtime.crls.current("sign").number
    runtime.crls.REGENERATE_DELAY = 0.05
    runtime.crls.start()
    runtime.service.change_status("sign", serial, "revoke", reason="keyCompromise", actor="t")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        published = runtime.crls.latest("sign")
        if published is not None and published.number > before:
            break
        time.sleep(0.02)
    else:
        pytest.fail("no new CRL was made after the revocation")
    assert serial in {entry.serial_number for entry in x509.load_der_x509_crl(published.der)}


def test_a_change_made_by_another_process_shows_within_the_refresh(
    tmp_path: Path, database_url: str, pool_keys: list[rsa.RSAPrivateKey]
) -> None:
    """Two runtimes on one database (two server processes): the second answers from its cache
    until the answer is `ocsp_refresh_seconds` old, then from the store."""
    from datetime import UTC, datetime, timedelta

    config = ServiceConfig(data_dir=tmp_path / "data", database_urls={"ca": database_url}, ocsp_refresh_seconds=30)
    first = CaRuntime.open(config, key_source=KeyPool(pool_keys[:2]))
    second = CaRuntime.open(config, key_source=KeyPool(pool_keys[:2]))
    try:
        serial = issue(first, pool_keys[2])
        root = first.service.cas["sign"].certificate
        certificate = x509.load_der_x509_certificate(first.service.store.get("sign", serial).der)
        body = ocsp.OCSPRequestBuilder().add_certificate(certificate, root, hashes.SHA1()).build().public_bytes(
            serialization.Encoding.DER)
        now = datetime.now(UTC)

        def status(at: datetime) -> ocsp.OCSPCertStatus:
            return ocsp.load_der_ocsp_response(second.ocsp.answer("sign", body, now=at).der).certificate_status

        assert status(now) is ocsp.OCSPCertStatus.GOOD
        first.service.change_status("sign", serial, "revoke", reason="keyCompromise", actor="t")
        assert status(now + timedelta(seconds=10)) is ocsp.OCSPCertStatus.GOOD  # cached, within the bound
        assert status(now + timedelta(seconds=31)) is ocsp.OCSPCertStatus.REVOKED
        assert ocsp.load_der_ocsp_response(first.ocsp.answer("sign", body).der).certificate_status is (
            ocsp.OCSPCertStatus.REVOKED)  # the process that revoked: at once
    finally:
        first.close()
        second.close()


def test_refresh_longer_than_validity_is_refused(tmp_path: Path) -> None:
    config = ServiceConfig(data_dir=tmp_path, ocsp_refresh_seconds=3600, ocsp_validity_minutes=15)
    with pytest.raises(AuthorityError, match="shorter than"):
        CaRuntime.open(config)


def test_responder_survives_thousands_of_mutated_requests(runtime: CaRuntime,
                                                          pool_keys: list[rsa.RSAPrivateKey]) -> None:
    """In process, many more mutations than over HTTP: every answer is a well-formed OCSPResponse
    whose status is successful, malformedRequest or unauthorized, and never an exception."""
    import random

    serial = issue(runtime, pool_keys[2])
    root = runtime.service.cas["sign"].certificate
    certificate = x509.load_der_x509_certificate(runtime.service.store.get("sign", serial).der)
    seeds = [
        ocsp.OCSPRequestBuilder().add_certificate(certificate, root, algorithm).add_extension(
            x509.OCSPNonce(b"n" * 20), critical=False).build().public_bytes(serialization.Encoding.DER)
        for algorithm in (hashes.SHA1(), hashes.SHA256())
    ]
    allowed = {ocsp.OCSPResponseStatus.SUCCESSFUL, ocsp.OCSPResponseStatus.MALFORMED_REQUEST,
               ocsp.OCSPResponseStatus.UNAUTHORIZED}
    rng = random.Random(5654)
    for _ in range(2000):
        body = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            position = rng.randrange(len(body))
            choice = rng.randrange(4)
            if choice == 0:
                body[position] = rng.randrange(256)
            elif choice == 1:
                del body[position: position + rng.randint(1, 8)]
            elif choice == 2:
                body[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
            else:
                body[position:position] = body[: rng.randint(1, 16)]  # repeated structure
            if not body:
                body = bytearray(b"\x30")
        answer = runtime.ocsp.answer(rng.choice(["sign", "auth", None]), bytes(body))
        assert ocsp.load_der_ocsp_response(answer.der).response_status in allowed


def test_ocsp_signer_is_renewed_while_running(runtime: CaRuntime, pool_keys: list[rsa.RSAPrivateKey]) -> None:
    from datetime import UTC, datetime, timedelta

    serial = issue(runtime, pool_keys[2])
    root = runtime.service.cas["sign"].certificate
    old = runtime.service.cas["sign"].responder.certificate
    certificate = x509.load_der_x509_certificate(runtime.service.store.get("sign", serial).der)
    body = ocsp.OCSPRequestBuilder().add_certificate(certificate, root, hashes.SHA1()).build().public_bytes(
        serialization.Encoding.DER)
    assert ocsp.load_der_ocsp_response(runtime.ocsp.answer("sign", body).der).certificates[0] == old

    assert runtime.renew_responders() == []  # fresh: nothing to do
    later = datetime.now(UTC) + timedelta(days=70)  # 20 days before the 90-day signer expires
    assert sorted(runtime.renew_responders(now=later)) == ["auth", "sign"]
    new = runtime.service.cas["sign"].responder.certificate
    assert new.not_valid_after_utc > old.not_valid_after_utc
    assert new.public_key() == old.public_key()  # same key, new certificate, issued by the CA
    new.verify_directly_issued_by(root)
    answer = ocsp.load_der_ocsp_response(runtime.ocsp.answer("sign", body).der)
    assert answer.certificates[0] == new  # pre-signed answers with the old certificate were dropped
    on_disk = x509.load_pem_x509_certificate((runtime.config.data_dir / "ca" / "sign-ocsp.pem").read_bytes())
    assert on_disk == new
