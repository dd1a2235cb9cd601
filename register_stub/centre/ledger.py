"""Transactions: a document issued for (transaction id, session, resident), then settled or
cancelled by the session that asked for it — never by another, never "the next one" (the 2023
incident, issue 11). The PDF is made here and handed back once; only its SHA-256 is kept.

Rendering the PDF is the slow part of an issue (tens of milliseconds of CPU). On SQLite a write
transaction holds the one write lock of the register, so the centre renders a `Draft` first from a
read snapshot, with no lock held; `issue` then builds the page again inside the write transaction
(reads only, quick) and uses the draft's PDF only when that page is equal to the drafted one —
otherwise (the record changed in between, or midnight passed) it renders anew under the lock.
What is issued is always the document of the data the transaction saw.

What a 住民票の写し shows follows §6.2: the 住民票コード never; 世帯主・続柄, 本籍・筆頭者 and
個人番号 only when the kiosk's options ask for them; 本籍 never for a foreign resident (they have
none, 住基法 30条の45); deleted household members (消除者) never.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mynacard.register_stub.access import record_access
from mynacard.register_stub.centre import offers, pdf
from mynacard.register_stub.centre.eligibility import Member, ResidentFacts, household
from mynacard.register_stub.centre.models import IssuedDocument
from mynacard.register_stub.records import VersionOut
from mynacard.register_stub.schemas import JST
from mynacard.service.auth import Caller
from mynacard.service.errors import ApiError

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off paper
TRANSACTION_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_COPIES = 10
SEX = {"1": "男", "2": "女", "3": ""}
PURPOSE = "コンビニ交付"


def session_digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


def new_verification_code() -> str:
    """16 characters (80 bits), shown in groups of four."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


@dataclass(frozen=True)
class Request:
    kiosk_id: str
    session_id: str
    transaction_id: str
    document: str
    scope: str
    options: tuple[str, ...]
    copies: int


@dataclass(frozen=True)
class Issued:
    transaction_id: str
    pdf: bytes
    sha256: str
    verification_code: str
    pages: int
    fee: int


def check_request(request: Request, place: offers.Municipality, foreign: bool) -> tuple[offers.Document, int]:
    """The document and the fee per copy, or a 400 naming what is wrong."""
    if not TRANSACTION_ID.fullmatch(request.transaction_id):
        raise ApiError(400, "bad_transaction_id", "A transaction id is 16–64 letters, digits, '-' or '_'.")
    fee = place.fees.get(request.document)
    if fee is None:
        raise ApiError(400, "document_not_offered", "The resident's municipality does not offer this document here.")
    document = offers.DOCUMENTS[request.document]
    if request.scope not in document.scopes:
        raise ApiError(400, "bad_scope", f"{document.title_en} has no scope {request.scope!r}.")
    allowed = set(offers.allowed_options(document, foreign))
    unknown = [o for o in request.options if o not in allowed]
    if unknown:
        raise ApiError(400, "bad_option", f"{document.title_en} cannot include {unknown[0]!r} for this resident.")
    if not 1 <= request.copies <= MAX_COPIES:
        raise ApiError(400, "bad_copies", f"Copies are 1 to {MAX_COPIES}.")
    return document, fee


def _member_rows(member: Member, options: tuple[str, ...], honseki: tuple[str | None, str | None] | None
                 ) -> list[tuple[str, str]]:
    rows = [("氏名", f"{member.family_name}　{member.given_name}"),
            ("生年月日", pdf.wareki(member.birth_date)), ("性別", SEX.get(member.sex, "")),
            ("住民となった年月日", pdf.wareki(member.became_resident_on))]
    if offers.HEAD_RELATION in options:
        rows.append(("続柄", member.relationship))
    if honseki is not None and offers.HONSEKI in options:
        rows += [("本籍", honseki[0] or ""), ("筆頭者", honseki[1] or "")]
    if offers.MY_NUMBER in options:
        rows.append(("個人番号", member.my_number or ""))
    return rows


def _foreign_rows(current: VersionOut, options: tuple[str, ...]) -> list[tuple[str, str]]:
    items = current.foreign
    assert items is not None
    rows = []
    if offers.NATIONALITY in options:
        rows.append(("国籍・地域", items.nationality or ""))
    if offers.RESIDENCE_CARD in options:
        rows.append(("在留カード等の番号", items.residence_card_number or ""))
    if offers.RESIDENCE_STATUS in options:
        rows += [("在留資格", items.residence_status or ""), ("在留期間", items.period_of_stay or ""),
                 ("在留期間の満了の日", pdf.wareki(items.stay_expires_on) if items.stay_expires_on else "")]
    return rows


def _self_member(current: VersionOut, my_number: str | None) -> Member:
    return Member(current.family_name, current.given_name, current.birth_date, current.sex, current.relationship,
                  current.became_resident_on, my_number)


def build_page(session: Session, facts: ResidentFacts, request: Request, document: offers.Document,
               place: offers.Municipality, code: str, verify_url: str) -> pdf.Page:
    current = facts.record.current
    address = [("住所", current.address)]
    if document.code == offers.KISAI:
        me = _self_member(current, None)
        people = [[("氏名", f"{me.family_name}　{me.given_name}"), ("生年月日", pdf.wareki(me.birth_date)),
                   ("性別", SEX.get(me.sex, "")), *address]]
        attestation = "上記の事項は、住民票に記載されていることを証明する。"
    else:
        common = list(address)
        if current.address_set_on is not None:
            common.append(("住所を定めた年月日", pdf.wareki(current.address_set_on)))
        if current.previous_address:
            common.append(("前住所", current.previous_address))
        members = (household(session, current.household_id) if request.scope == offers.HOUSEHOLD
                   else [_self_member(current, facts.record.my_number)])
        if offers.HEAD_RELATION in request.options:
            head = next((m for m in members if m.relationship == "世帯主"), None)
            if head is None:
                head = next((m for m in household(session, current.household_id) if m.relationship == "世帯主"), None)
            common.append(("世帯主", f"{head.family_name}　{head.given_name}" if head else ""))
        honseki = None if facts.foreign else (current.honseki, current.hittosha)
        people = [common, *(_member_rows(m, request.options, honseki) for m in members)]
        if facts.foreign and current.foreign is not None and request.scope == offers.SELF:
            people[-1] += _foreign_rows(current, request.options)
        attestation = "この写しは、住民票の原本と相違ないことを証明する。"
    return pdf.Page(document.title_ja, people, attestation, place.name, place.head, datetime.now(JST).date(),
                    request.transaction_id, code, verify_url)


@dataclass(frozen=True)
class Draft:
    """A document rendered ahead of its write transaction, for `issue` to use if still right."""

    page: pdf.Page
    pdf: bytes
    pages: int


def draft(session: Session, facts: ResidentFacts, request: Request, verify_base: str) -> Draft:
    """The document `issue` would make from what `session` reads (a read snapshot: no lock)."""
    place = offers.municipality(facts.record.municipality_code)
    document, _fee = check_request(request, place, facts.foreign)
    code = new_verification_code()
    page = build_page(session, facts, request, document, place, code, f"{verify_base}/{code}")
    data, pages = pdf.render(page)
    return Draft(page, data, pages)


def issue(session: Session, caller: Caller, facts: ResidentFacts, request: Request, verify_base: str,
          purpose: str = PURPOSE, drafted: Draft | None = None) -> Issued:
    """Make the document and record the transaction (in the caller's database transaction); `purpose`
    names the channel in the access record (the kiosk's コンビニ交付, or the window's). A `drafted`
    document is used only if the page built here is the same page."""
    place = offers.municipality(facts.record.municipality_code)
    document, fee = check_request(request, place, facts.foreign)
    if session.get(IssuedDocument, request.transaction_id) is not None:
        raise ApiError(409, "transaction_reused", "This transaction id was used already; a transaction issues one document.")
    code = drafted.page.verification_code if drafted is not None else new_verification_code()
    page = build_page(session, facts, request, document, place, code, f"{verify_base}/{code}")
    data, pages = (drafted.pdf, drafted.pages) if drafted is not None and drafted.page == page else pdf.render(page)
    digest = hashlib.sha256(data).hexdigest()
    session.add(IssuedDocument(
        transaction_id=request.transaction_id, kiosk_id=request.kiosk_id,
        session_digest=session_digest(request.session_id), resident_code=facts.record.resident_code,
        municipality_code=place.code, document=document.code, scope=request.scope, options=list(request.options),
        copies=request.copies, fee=fee * request.copies, sha256=digest, verification_code=code, status="issued",
        issued_at=datetime.now(UTC)))
    items = ", ".join(["four facts", *request.options, *(["household"] if request.scope == offers.HOUSEHOLD else [])])
    record_access(session, caller, facts.record.resident_code, f"centre-issue-{document.code}", purpose, items)
    return Issued(request.transaction_id, data, digest, code, pages, fee * request.copies)


def _owned(session: Session, transaction_id: str, kiosk_id: str, session_id: str) -> IssuedDocument:
    row = session.get(IssuedDocument, transaction_id, with_for_update=True)
    if row is None:
        raise ApiError(404, "transaction_unknown", "No document was issued under this transaction id.")
    if row.session_digest != session_digest(session_id) or row.kiosk_id != kiosk_id:
        raise ApiError(403, "wrong_session", "The transaction belongs to another session; nothing was changed.")
    return row


def settle(session: Session, transaction_id: str, kiosk_id: str, session_id: str, amount: int) -> None:
    row = _owned(session, transaction_id, kiosk_id, session_id)
    if row.status == "settled" and amount == row.fee:
        return  # a retried settle
    if row.status != "issued":
        raise ApiError(409, "cannot_settle", f"The transaction is {row.status}; it cannot be settled.")
    if amount != row.fee:
        raise ApiError(409, "wrong_amount", f"The fee is {row.fee} yen, not {amount}.")
    row.status, row.settled_at = "settled", datetime.now(UTC)


def cancel(session: Session, transaction_id: str, kiosk_id: str, session_id: str, reason: str) -> None:
    row = _owned(session, transaction_id, kiosk_id, session_id)
    if row.status != "cancelled":
        row.status, row.cancel_reason = "cancelled", reason


def operator_view(session: Session, transaction_id: str) -> dict[str, object]:
    row = session.get(IssuedDocument, transaction_id)
    if row is None:
        raise ApiError(404, "transaction_unknown", "No document was issued under this transaction id.")
    return {"transaction_id": row.transaction_id, "kiosk_id": row.kiosk_id, "document": row.document,
            "copies": row.copies, "fee": row.fee, "status": row.status, "cancel_reason": row.cancel_reason,
            "issued_at": row.issued_at.isoformat(), "verification_code": row.verification_code}


#: What the paper's holder learns from the verification endpoint (nothing they cannot read on it).
STATUS_MEANING = {"settled": "valid", "issued": "not_paid", "cancelled": "cancelled"}


def verification(session: Session, code: str) -> dict[str, object]:
    row = session.execute(select(IssuedDocument).where(IssuedDocument.verification_code == code)).scalar_one_or_none()
    if row is None:
        raise ApiError(404, "unknown_code", "No document was issued under this verification code.")
    place = offers.municipality(row.municipality_code)
    return {"verification_code": code, "document": row.document, "title_ja": offers.DOCUMENTS[row.document].title_ja,
            "issued_on": row.issued_at.astimezone(JST).date().isoformat(), "municipality_code": place.code,
            "municipality": place.name, "copies": row.copies, "sha256": row.sha256,
            "status": STATUS_MEANING[row.status]}
