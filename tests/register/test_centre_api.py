"""The issuance centre (証明書交付センター) over HTTP, driven by the kiosk's own client
(`HttpCentre`) with cards the register issued (in-process emulator, auth key signing the
challenge through the host middleware): docs/kiosk.md "Centre API", jpki-system.md §6."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from register_server import Services, birth, event, issue_card, wait_delivered, write_card
from mynacard.host.card import MyNumberCard
from mynacard.host.jpki import Key
from mynacard.terminal.centre_client import CentreError, HttpCentre
from mynacard.terminal.documents import Selection

KIOSK = "store-0001-1"


def centre_of(services: Services, token: str | None = None) -> HttpCentre:
    return HttpCentre(f"{services.base}/centre", token or services.tokens["kiosk"], timeout=30)


def sign_in(centre: HttpCentre, card_dir: Path, kiosk: str = KIOSK):  # type: ignore[no-untyped-def]
    challenge = centre.challenge(kiosk)
    with MyNumberCard.open(f"emulator:{card_dir}") as card:
        signature = card.jpki.sign(challenge.challenge, key=Key.AUTH, pin="1234")
        certificate = card.jpki.auth_certificate()
    return centre.open_session(kiosk, challenge.challenge_id, signature, certificate)


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def qr_codes(pdf: bytes, tmp_path: Path) -> list[str]:
    """What the QR codes of the printed page say, read by zbar from a 150 dpi rendering (poppler)."""
    (tmp_path / "qr.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(tmp_path / "qr.pdf"), str(tmp_path / "qr")],
                   check=True)
    found = subprocess.run(["zbarimg", "--quiet", "--raw", "--nodbus", str(tmp_path / "qr.png")],
                           capture_output=True, text=True, check=True)
    return found.stdout.split()


@pytest.fixture(scope="module")
def resident(admin: httpx.Client, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    created = birth(admin, family="交付", given="花子", born="1985-04-12", sex="2",
                    honseki="東京都千代田区見本町1番", hittosha="交付　太郎")
    card = issue_card(admin, created["resident_code"])
    return {**created, "card_dir": write_card(card, tmp_path_factory.mktemp("centre") / "card")}


def test_complete_issuance_bound_to_its_transaction(services: Services, resident: dict[str, object],
                                                   tmp_path: Path) -> None:
    centre = centre_of(services)
    session = sign_in(centre, Path(str(resident["card_dir"])))
    assert session.eligibility.eligible and session.eligibility.reason is None
    [juminhyo, kisai] = session.documents
    assert (juminhyo.code, juminhyo.fee, kisai.code) == ("juminhyo", 200, "kisai")  # Chiyoda-ku's offers
    txn = "kiosk-centre-test-0001"
    document = centre.request_document(KIOSK, session.session_id, txn,
                                       Selection("juminhyo", "self", ("head_relation",), 2))
    assert (document.fee, document.pages) == (400, 1)
    text = pdf_text(document.pdf, tmp_path)
    flat = re.sub(r"\s+", "", text)
    assert "住民票の写し" in flat and "交付花子" in flat and "昭和60年4月12日" in flat
    assert "東京都千代田区見本町1-2-3" in text and "千代田区長" in text and txn in text
    assert document.verification_code in text and "世帯主" in text
    assert str(resident["resident_code"]) not in flat  # 住民票コード: never printed
    assert str(resident["my_number"]) not in flat  # 個人番号: not asked for
    assert "本籍" not in text  # not asked for

    public = httpx.Client(base_url=f"{services.base}/centre")
    unpaid = public.get(f"/v1/verify/{document.verification_code}").json()
    assert unpaid["status"] == "not_paid"
    with pytest.raises(CentreError) as wrong:  # another session cannot settle it
        other = sign_in(centre, Path(str(resident["card_dir"])))
        centre.settle(KIOSK, other.session_id, txn, 400)
    assert wrong.value.code == "wrong_session" and wrong.value.refused
    centre.settle(KIOSK, session.session_id, txn, 400)
    checked = public.get(f"/v1/verify/{document.verification_code}").json()
    assert checked == {"verification_code": document.verification_code, "document": "juminhyo",
                       "title_ja": "住民票の写し", "issued_on": checked["issued_on"], "municipality_code": "13101",
                       "municipality": "東京都千代田区", "copies": 2,
                       "sha256": hashlib.sha256(document.pdf).hexdigest(), "status": "valid"}
    assert public.get("/v1/verify/AAAA-BBBB-CCCC-DDDD").status_code == 404
    assert qr_codes(document.pdf, tmp_path) == [f"{services.base}/centre/v1/verify/{document.verification_code}"]
    with pytest.raises(CentreError) as reused:
        centre.request_document(KIOSK, session.session_id, txn, Selection("juminhyo", "self", (), 1))
    assert reused.value.code == "transaction_reused"
    centre.end_session(KIOSK, session.session_id)
    with pytest.raises(CentreError, match="session"):
        centre.request_document(KIOSK, session.session_id, "kiosk-centre-test-0002", Selection("kisai", "self", (), 1))


def test_options_print_what_they_ask_for(services: Services, resident: dict[str, object], tmp_path: Path) -> None:
    centre = centre_of(services)
    session = sign_in(centre, Path(str(resident["card_dir"])))
    document = centre.request_document(KIOSK, session.session_id, "kiosk-centre-test-0003",
                                       Selection("juminhyo", "self", ("my_number", "honseki"), 1))
    text = pdf_text(document.pdf, tmp_path).replace(" ", "")
    assert str(resident["my_number"]) in text and "本籍" in text and "東京都千代田区見本町1番" in text
    assert str(resident["resident_code"]) not in text
    with pytest.raises(CentreError) as bad:
        centre.request_document(KIOSK, session.session_id, "kiosk-centre-test-0004",
                                Selection("juminhyo", "self", ("resident_code",), 1))
    assert bad.value.code == "bad_option"
    with pytest.raises(CentreError) as wrong_amount:
        centre.settle(KIOSK, session.session_id, "kiosk-centre-test-0003", 100)
    assert wrong_amount.value.code == "wrong_amount"
    centre.settle(KIOSK, session.session_id, "kiosk-centre-test-0003", 200)
    centre.cancel(KIOSK, session.session_id, "kiosk-centre-test-0003", "media_jam")  # refunded after settle
    voided = httpx.get(f"{services.base}/centre/v1/verify/{document.verification_code}").json()
    assert voided["status"] == "cancelled"
    kisai = centre.request_document(KIOSK, session.session_id, "kiosk-centre-test-0005", Selection("kisai", "self", (), 1))
    flat = re.sub(r"\s+", "", pdf_text(kisai.pdf, tmp_path))
    assert "住民票記載事項証明書" in flat and "交付花子" in flat and "住民票に記載されていることを証明する" in flat
    assert str(resident["my_number"]) not in flat and "世帯主" not in flat


def test_challenges_are_single_use_and_signatures_checked(services: Services, resident: dict[str, object]) -> None:
    centre = centre_of(services)
    challenge = centre.challenge(KIOSK)
    certificate = (Path(str(resident["card_dir"])) / "files" / "jpki-000A.bin").read_bytes()
    with pytest.raises(CentreError) as forged:
        centre.open_session(KIOSK, challenge.challenge_id, b"\0" * 256, certificate)
    assert forged.value.code == "signature_invalid" and forged.value.refused
    with pytest.raises(CentreError) as replay:
        centre.open_session(KIOSK, challenge.challenge_id, b"\0" * 256, certificate)
    assert replay.value.code == "challenge_unknown"
    with pytest.raises(CentreError) as unknown_kiosk:
        centre_of(services, token="not-a-token").challenge(KIOSK)
    assert unknown_kiosk.value.code == "unauthenticated"
    with pytest.raises(CentreError) as clerk:  # a register token is not a kiosk token
        centre_of(services, token=services.tokens["clerk"]).challenge(KIOSK)
    assert clerk.value.code == "forbidden"
    with services.register("kiosk") as kiosk_at_register:  # and a kiosk token is nothing at the register
        refused = kiosk_at_register.get(f"/v1/residents/{resident['resident_code']}", params={"purpose": "t"})
    assert refused.status_code == 403  # known token, role kiosk: not a register role


@pytest.mark.parametrize("kind", ["support_measure", "gaiji_pending"])
def test_restrictions_refuse_until_lifted(services: Services, admin: httpx.Client, resident: dict[str, object],
                                          kind: str) -> None:
    centre, code = centre_of(services), resident["resident_code"]
    staff = httpx.Client(base_url=f"{services.base}/centre", headers=dict(admin.headers))
    assert staff.put(f"/v1/restrictions/{code}/{kind}").status_code == 200
    session = sign_in(centre, Path(str(resident["card_dir"])))
    assert (session.eligibility.eligible, session.eligibility.reason) == (False, kind)
    with pytest.raises(CentreError) as refused:
        centre.request_document(KIOSK, session.session_id, f"kiosk-centre-{kind}", Selection("kisai", "self", (), 1))
    assert refused.value.code == kind and refused.value.refused
    assert staff.delete(f"/v1/restrictions/{code}/{kind}").status_code == 200
    assert sign_in(centre, Path(str(resident["card_dir"]))).eligibility.eligible
    assert staff.put(f"/v1/restrictions/{code}/dv").status_code == 400


def test_moved_out_and_deceased_residents_are_refused(services: Services, admin: httpx.Client, tmp_path: Path) -> None:
    centre = centre_of(services)
    code = birth(admin, given="転出")["resident_code"]
    card_dir = write_card(issue_card(admin, code), tmp_path / "moving")
    event(admin, code, "move-out", planned_date="2026-12-20", destination="大阪府大阪市北区1-1")
    session = sign_in(centre, card_dir)
    assert (session.eligibility.eligible, session.eligibility.reason) == (False, "moved_out")

    code = birth(admin, given="故人")["resident_code"]
    card_dir = write_card(issue_card(admin, code), tmp_path / "dead")
    done = event(admin, code, "death")
    wait_delivered(admin, done["id"])
    with pytest.raises(CentreError) as dead:  # both certificates revoked: OCSP answers revoked
        sign_in(centre, card_dir)
    assert dead.value.refused and dead.value.code in ("certificate_revoked", "card_not_active")


def test_residents_under_15_are_refused(services: Services, admin: httpx.Client, tmp_path: Path) -> None:
    from mynacard.register_stub.schemas import today_in_japan

    born = f"{today_in_japan().year - 10}-01-01"  # 9 or 10 years old: an auth-only card (§1.2)
    code = birth(admin, given="子", born=born)["resident_code"]
    card_dir = write_card(issue_card(admin, code), tmp_path / "child")
    assert sign_in(centre_of(services), card_dir).eligibility.reason == "under_15"


def test_long_names_are_refused(services: Services, admin: httpx.Client, tmp_path: Path) -> None:
    code = birth(admin, family="寿限無寿限無五劫の擦", given="海砂利水魚の水行末雲来")["resident_code"]
    card_dir = write_card(issue_card(admin, code), tmp_path / "long")
    session = sign_in(centre_of(services), card_dir)
    assert session.eligibility.reason == "name_too_long"


def test_unknown_fields_are_refused(services: Services) -> None:
    answer = httpx.post(f"{services.base}/centre/v1/challenges", json={"kiosk_id": KIOSK, "extra": 1},
                        headers={"Authorization": f"Bearer {services.tokens['kiosk']}"})
    assert answer.status_code == 422 and answer.json()["error"] == "invalid-request"


def test_a_household_copy_lists_the_current_members_only(services: Services, admin: httpx.Client,
                                                         tmp_path: Path) -> None:
    head = birth(admin, family="世帯", given="太郎", born="1970-03-03", sex="1")
    household = admin.get(f"/v1/residents/{head['resident_code']}", params={"purpose": "test"}).json()
    household_id = household["current"]["household_id"]
    birth(admin, family="世帯", given="花子", born="1972-05-05", sex="2", household_id=household_id,
          relationship="妻")
    gone = birth(admin, family="世帯", given="次郎", born="2000-07-07", sex="1", household_id=household_id,
                 relationship="子")
    event(admin, gone["resident_code"], "death")
    card_dir = write_card(issue_card(admin, head["resident_code"]), tmp_path / "head")
    centre = centre_of(services)
    session = sign_in(centre, card_dir)
    document = centre.request_document(KIOSK, session.session_id, "kiosk-centre-household-1",
                                       Selection("juminhyo", "household", ("head_relation",), 1))
    flat = re.sub(r"\s+", "", pdf_text(document.pdf, tmp_path))
    assert "世帯太郎" in flat and "世帯花子" in flat and "続柄妻" in flat
    assert "次郎" not in flat  # a deleted member (消除者) is never printed


def test_the_day_of_a_move_in_is_refused_and_the_new_municipality_offers(services: Services, admin: httpx.Client,
                                                                        tmp_path: Path) -> None:
    from datetime import timedelta

    from mynacard.register_stub.schemas import today_in_japan

    code = birth(admin, given="転入")["resident_code"]
    card_dir = write_card(issue_card(admin, code), tmp_path / "mover")
    today = today_in_japan()  # the centre's "today" is Japan's
    event(admin, code, "move-out", planned_date=today.isoformat(), destination="東京都新宿区見本町4-5-6",
          event_date=(today - timedelta(days=1)).isoformat())
    event(admin, code, "move-in", moved_in_on=today.isoformat(), event_date=today.isoformat(),
          municipality_code="13104", address="東京都新宿区見本町4-5-6")
    session = sign_in(centre_of(services), card_dir)
    assert session.eligibility.reason == "move_in_today"
    assert [(d.code, d.fee) for d in session.documents] == [("juminhyo", 200), ("kisai", 200)]  # Shinjuku's


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")  # its in-process client suffices
def test_no_status_answer_no_session(services: Services, resident: dict[str, object]) -> None:
    """Fail closed: a centre whose CA service (OCSP) does not answer opens no session (503, try later)."""
    from fastapi.testclient import TestClient

    from mynacard.register_stub.centre import http as centre_http
    from mynacard.service.config import ServiceConfig

    assert services.runtime is not None
    config = ServiceConfig(data_dir=services.data_dir, public_base_url="http://127.0.0.1:9",
                           tokens=services.tokens)
    client = TestClient(centre_http.create_app(config, services.runtime.store))
    headers = {"Authorization": f"Bearer {services.tokens['kiosk']}"}
    challenge = client.post("/v1/challenges", json={"kiosk_id": KIOSK}, headers=headers).json()
    with MyNumberCard.open(f"emulator:{resident['card_dir']}") as card:
        signature = card.jpki.sign(base64.b64decode(challenge["challenge"]), key=Key.AUTH, pin="1234")
        certificate = card.jpki.auth_certificate()
    answer = client.post("/v1/sessions", headers=headers, json={
        "kiosk_id": KIOSK, "challenge_id": challenge["challenge_id"], "hash": "sha256",
        "signature": base64.b64encode(signature).decode(), "certificate": base64.b64encode(certificate).decode()})
    assert answer.status_code == 503 and answer.json()["error"] == "status_unavailable"


def test_a_foreign_resident_gets_their_own_items_and_no_honseki(services: Services, admin: httpx.Client,
                                                                tmp_path: Path) -> None:
    code = birth(admin, family="SMITH", given="ANNA", born="1990-09-09", sex="2", foreign={
        "nationality": "英国", "category": "中長期在留者", "residence_status": "技術・人文知識・国際業務",
        "period_of_stay": "5年", "stay_expires_on": "2030-04-01", "residence_card_number": "AB12345678CD",
        "became_foreign_resident_on": "2020-04-01"})["resident_code"]
    card_dir = write_card(issue_card(admin, code), tmp_path / "foreign")
    centre = centre_of(services)
    session = sign_in(centre, card_dir)
    [juminhyo] = [d for d in session.documents if d.code == "juminhyo"]
    assert [o.code for o in juminhyo.options] == ["head_relation", "my_number", "nationality", "residence_card",
                                                  "residence_status"]
    with pytest.raises(CentreError) as honseki:
        centre.request_document(KIOSK, session.session_id, "kiosk-centre-foreign-1",
                                Selection("juminhyo", "self", ("honseki",), 1))
    assert honseki.value.code == "bad_option"
    document = centre.request_document(KIOSK, session.session_id, "kiosk-centre-foreign-2",
                                       Selection("juminhyo", "self", ("nationality", "residence_status"), 1))
    flat = re.sub(r"\s+", "", pdf_text(document.pdf, tmp_path))
    assert "国籍・地域英国" in flat and "在留資格技術・人文知識・国際業務" in flat and "在留期間5年" in flat
    assert "AB12345678CD" not in flat  # not asked for


def test_deleted_records_answer_deceased_or_moved_out(services: Services, resident: dict[str, object]) -> None:
    """The refusal itself, for a record whose card still passes (the revocation not yet delivered)."""
    from mynacard.register_stub import records
    from mynacard.register_stub.centre.eligibility import refusal
    from mynacard.register_stub.schemas import today_in_japan

    assert services.runtime is not None
    with services.runtime.store.reader() as session:
        record = records.record_out(session, str(resident["resident_code"]), with_number=False)
        cases = {(status, reason): refusal(session, record.model_copy(update={"status": status, "deleted_reason": reason}),
                                           today_in_japan())
                 for status, reason in (("deleted", "death"), ("deleted", "emigration"), ("moving-out", None),
                                        ("active", None))}
    assert cases == {("deleted", "death"): "deceased", ("deleted", "emigration"): "moved_out",
                     ("moving-out", None): "moved_out", ("active", None): None}
