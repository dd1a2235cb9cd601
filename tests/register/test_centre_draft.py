"""A document rendered ahead of its write transaction (ledger.Draft, outside SQLite's write lock)
is issued only if the transaction builds the very same page; a stale draft is rendered anew."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest
from test_centre_api import pdf_text

from register_server import Services, birth, event
from mynacard.register_stub.centre import eligibility, ledger, pdf
from mynacard.register_stub.schemas import today_in_japan
from mynacard.service.auth import Caller

KIOSK = Caller("kiosk:draft-test", "kiosk")
BASE = "http://centre.invalid/v1/verify"


def request() -> ledger.Request:
    return ledger.Request("draft-test", "a-session", f"draft-{secrets.token_hex(8)}", "juminhyo", "self", (), 1)


def drafted(services: Services, code: str, wanted: ledger.Request) -> ledger.Draft:
    assert services.runtime is not None
    with services.runtime.store.reader() as snapshot:
        return ledger.draft(snapshot, eligibility.facts(snapshot, code, today_in_japan()), wanted, BASE)


def issued(services: Services, code: str, wanted: ledger.Request, draft: ledger.Draft) -> ledger.Issued:
    assert services.runtime is not None
    with services.runtime.store.transaction() as session:
        facts = eligibility.facts(session, code, today_in_japan())
        return ledger.issue(session, KIOSK, facts, wanted, BASE, drafted=draft)


def test_a_draft_of_the_same_page_is_issued_without_rendering_again(
        services: Services, admin: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    code = birth(admin, family="下書", given="一郎", born="1980-05-05")["resident_code"]
    wanted = request()
    draft = drafted(services, code, wanted)
    renders: list[pdf.Page] = []
    monkeypatch.setattr(pdf, "render", lambda page: renders.append(page) or (b"", 0))
    document = issued(services, code, wanted, draft)
    assert renders == []
    assert document.pdf is draft.pdf and document.verification_code == draft.page.verification_code


def test_a_stale_draft_is_rendered_again_with_what_the_transaction_reads(
        services: Services, admin: httpx.Client, tmp_path: Path) -> None:
    code = birth(admin, family="下書", given="二郎", born="1980-06-06", address="東京都千代田区見本町1-1")["resident_code"]
    wanted = request()
    draft = drafted(services, code, wanted)
    event(admin, code, "move-within", address="東京都千代田区見本町9-9")  # after the draft, before the issue
    document = issued(services, code, wanted, draft)
    assert document.pdf != draft.pdf
    text = pdf_text(document.pdf, tmp_path)
    assert "住所東京都千代田区見本町9-9" in text.replace(" ", "")  # and 1-1 only as 前住所
    assert "見本町9-9" not in pdf_text(draft.pdf, tmp_path)
    assert document.verification_code == draft.page.verification_code  # the code the draft reserved
