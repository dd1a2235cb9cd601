"""The revocation outbox: a CA that cannot be reached delays a revocation without losing it; a
refusal the CA will repeat marks the entry failed, visible until an operator retries it; the
delivery is idempotent (the CA keeps the first revocation)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.ca.client import CaClient
from mynacard.register_stub import bulk, events, outbox
from mynacard.register_stub.models import Card, Certificate, Resident, Revocation
from mynacard.register_stub.schemas import MoveWithin
from mynacard.register_stub.store import RegisterStore
from mynacard.service.auth import Caller
from register_server import Services

CLERK = Caller("clerk", "clerk")


def test_outbox_retries_through_an_outage_and_shows_refusals(services: Services, tmp_path: Path,
                                                             register_keys: list[rsa.RSAPrivateKey]) -> None:
    store = RegisterStore.open(f"sqlite+pysqlite:///{tmp_path / 'register.sqlite3'}")
    bulk.load(store, bytes(32), bytes(32), "13101", [bulk.LoadRow("障害", "太郎", date(1980, 1, 1), "1", "東京都千代田区見本町1")])
    with store.reader() as session:
        code = session.query(Resident.resident_code).scalar()
    ca = services.ca()
    pem = register_keys[0].public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    sign = ca.issue_sign(public_key_pem=pem, person={"name": "障害\u3000太郎", "sex": "1", "birth_date": "1980-01-01",
                                                      "address": "東京都千代田区見本町１"},
                         locality={"prefecture": "Tokyo-to", "city": "Chiyoda-ku"}, municipality_code="13101",
                         card_expiry=date(2035, 1, 1))
    with store.transaction() as session:
        session.add(Card(card_serial="900000000000001", resident_code=code, status="active",
                         issued_at=datetime.now(UTC), expires_on=date(2035, 1, 1)))
        session.flush()
        for serial in (str(sign["serial"]), "DEADBEEF01"):  # the second one the CA never issued
            session.add(Certificate(ca="sign", serial=serial, card_serial="900000000000001", resident_code=code,
                                    status="good", issued_at=datetime.now(UTC)))
    with store.transaction() as session:
        events.record_event(session, CLERK, code, MoveWithin(event_date=date.today(), cause="転居届",
                                                            address="東京都千代田区見本町2"))

    down = CaClient("http://127.0.0.1:9/ca", services.tokens["register->ca"])
    assert outbox.deliver_due(store, down) == outbox.Delivery(delivered=0, retrying=2, failed=0)
    with store.reader() as session:
        rows = {r.serial: r for r in session.query(Revocation)}
    assert all(r.status == "pending" and r.attempts == 1 and "cannot reach" in (r.last_error or "") for r in rows.values())
    assert outbox.deliver_due(store, down) == outbox.Delivery(0, 0, 0)  # backing off: not due yet

    up = CaClient(f"{services.base}/ca", services.tokens["register->ca"])
    later = datetime.now(UTC) + timedelta(seconds=5)
    assert outbox.deliver_due(store, up, now=later) == outbox.Delivery(delivered=1, retrying=0, failed=1)
    with store.reader() as session:
        rows = {r.serial: r for r in session.query(Revocation)}
    assert rows[str(sign["serial"])].status == "delivered"
    assert rows["DEADBEEF01"].status == "failed" and rows["DEADBEEF01"].last_error
    revoked = ca.get("sign", str(sign["serial"]))
    assert revoked["status"] == "revoked"

    again = outbox.retry(store, rows["DEADBEEF01"].id)
    assert again.status == "pending"
    # the CA keeps the first revocation when the same entry is delivered twice
    first_time = revoked["revocation"]
    up.revoke("sign", str(sign["serial"]), "keyCompromise", "a second delivery")
    assert ca.get("sign", str(sign["serial"]))["revocation"] == first_time
    store.dispose()


def test_a_hold_or_release_the_ca_already_reflects_counts_as_delivered(services: Services, tmp_path: Path,
                                                                        register_keys: list[rsa.RSAPrivateKey]) -> None:
    """A hold on a certificate revoked since (revocation supersedes the hold) is done; a release of
    a revoked certificate cannot be, and fails visibly."""
    from mynacard.register_stub.models import Event

    store = RegisterStore.open(f"sqlite+pysqlite:///{tmp_path / 'register.sqlite3'}")
    ca = services.ca()
    pem = register_keys[1].public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    serial = str(ca.issue_auth(public_key_pem=pem, birth_date=date(1980, 1, 1),
                               locality={"prefecture": "Tokyo-to", "city": "Chiyoda-ku"}, municipality_code="13101",
                               card_expiry=date(2035, 1, 1))["serial"])
    ca.revoke("auth", serial, "cessationOfOperation", "test")
    with store.transaction() as session:
        event = Event(resident_code="00000000000", kind="card-lost", event_date=date.today(), cause="紛失",
                      recorded_at=datetime.now(UTC), recorded_by="t", summary={})
        session.add(event)
        session.flush()
        events.queue_action(session, event, "auth", serial, "hold", None)
        events.queue_action(session, event, "auth", serial, "release", None)
    up = CaClient(f"{services.base}/ca", services.tokens["register->ca"])
    assert outbox.deliver_due(store, up) == outbox.Delivery(delivered=1, retrying=0, failed=1)
    with store.reader() as session:
        assert {r.action: r.status for r in session.query(Revocation)} == {"hold": "delivered", "release": "failed"}
    store.dispose()
