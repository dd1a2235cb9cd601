"""The issuance centre (証明書交付センター) as the kiosk sees it: a Protocol and its HTTP client.

docs/kiosk.md, "Centre API", documents the JSON over HTTP that `HttpCentre` speaks. In short:

    POST /v1/challenges                       {kiosk_id}                → {challenge_id, challenge}
    POST /v1/sessions                         {kiosk_id, challenge_id, signature, certificate}
                                              → {session_id, eligibility, documents}
    POST /v1/transactions                     {kiosk_id, session_id, transaction_id, document,
                                               scope, options, copies}
                                              → {transaction_id, pdf, sha256, verification_code,
                                                 pages, fee}
    POST /v1/transactions/{id}/settle         {kiosk_id, session_id, amount} → {status}
    POST /v1/transactions/{id}/cancel         {kiosk_id, session_id, reason} → {status}
    DELETE /v1/sessions/{id}                  {kiosk_id}                → {status}

Every request carries `Authorization: Bearer <kiosk token>`: the centre serves kiosks it knows.
Errors are `{"error": "<code>", "detail": "<one sentence>"}` with 4xx/5xx, as every mynacard
service answers; 401/403 are decisions (go to the window),
the rest failures (try again later).
Every document is requested with a transaction id the kiosk chose, and the answer must name
that same id and match its own SHA-256, or it is refused here: the kiosk never prints a
document that is not the one it asked for (the 2023 incident, issue 11).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from mynacard.terminal.documents import Choice, DocumentOffer, Eligibility, Selection

#: Refusal codes that send the person to the municipal window (jpki-system.md §6.2).
ELIGIBILITY_REASONS = ("moved_out", "support_measure", "deceased", "move_in_today",
                       "name_too_long", "gaiji_pending", "under_15", "not_resident")


class CentreError(Exception):
    """The centre refused or failed; `code` is its machine-readable reason."""

    def __init__(self, code: str, sentence: str, *, refused: bool = False) -> None:
        super().__init__(sentence)
        self.code = code
        #: True for a decision about the resident or the card (go to the window), False for a
        #: failure of the service (try again later).
        self.refused = refused


@dataclass(frozen=True)
class Challenge:
    challenge_id: str
    challenge: bytes


@dataclass(frozen=True)
class CentreSession:
    session_id: str
    eligibility: Eligibility
    documents: tuple[DocumentOffer, ...]


@dataclass(frozen=True)
class IssuedDocument:
    """A document for one transaction. `pdf` lives in memory only and is wiped after printing."""

    transaction_id: str
    pdf: bytes
    verification_code: str
    pages: int
    fee: int

    def __repr__(self) -> str:
        return (f"IssuedDocument(transaction_id={self.transaction_id!r}, pages={self.pages}, "
                f"{len(self.pdf)} bytes)")


class Centre(Protocol):
    """What the kiosk needs from the centre; `HttpCentre` is the real one."""

    def challenge(self, kiosk_id: str) -> Challenge: ...

    def open_session(self, kiosk_id: str, challenge_id: str, signature: bytes,
                     certificate: bytes) -> CentreSession: ...

    def request_document(self, kiosk_id: str, session_id: str, transaction_id: str,
                         selection: Selection) -> IssuedDocument: ...

    def settle(self, kiosk_id: str, session_id: str, transaction_id: str, amount: int) -> None: ...

    def cancel(self, kiosk_id: str, session_id: str, transaction_id: str, reason: str) -> None: ...

    def end_session(self, kiosk_id: str, session_id: str) -> None: ...


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise CentreError("bad_answer", f"the centre's answer has no {what}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise CentreError("bad_answer", f"the centre's {what} is not base64") from None


def _choices(values: object) -> tuple[Choice, ...]:
    if not isinstance(values, list):
        raise CentreError("bad_answer", "the centre's document list is malformed")
    out = []
    for v in values:
        if not isinstance(v, dict):
            raise CentreError("bad_answer", "the centre's document list is malformed")
        out.append(Choice(str(v["code"]), str(v.get("title_ja", v["code"])),
                          str(v.get("title_en", v["code"]))))
    return tuple(out)


def parse_offers(values: object) -> tuple[DocumentOffer, ...]:
    if not isinstance(values, list):
        raise CentreError("bad_answer", "the centre's answer has no document list")
    try:
        return tuple(DocumentOffer(
            code=str(v["code"]), title_ja=str(v["title_ja"]), title_en=str(v["title_en"]),
            fee=int(v["fee"]), scopes=_choices(v.get("scopes", [])),
            options=_choices(v.get("options", [])), available=bool(v.get("available", True)),
            refusal=v.get("refusal")) for v in values)
    except (KeyError, TypeError, ValueError):
        raise CentreError("bad_answer", "the centre's document list is malformed") from None


class HttpCentre:
    """`Centre` over HTTP (stdlib urllib: one request per call, a timeout on each)."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 15.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"the centre URL must start with http:// or https://, not "
                             f"{base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"HttpCentre({self.base_url!r})"

    def _call(self, method: str, path: str, body: dict[str, object] | None = None
              ) -> dict[str, object]:
        data = json.dumps(body).encode() if body is not None else None
        # The scheme is http(s), checked in __init__.
        request = urllib.request.Request(  # noqa: S310
            self.base_url + path, data=data, method=method,
            headers={"Authorization": f"Bearer {self._token}",
                     "Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read() or b"{}")
            except ValueError:
                detail = {}
            code = str(detail.get("error", f"http_{exc.code}"))
            message = str(detail.get("detail", exc.reason))
            raise CentreError(code, f"the centre refused {method} {path}: {message}",
                              refused=exc.code in (401, 403)) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CentreError("unreachable", f"the centre at {self.base_url} did not answer "
                                             f"({reason})") from None
        except ValueError:
            raise CentreError("bad_answer", f"the centre's answer to {path} is not JSON") from None
        if not isinstance(answer, dict):
            raise CentreError("bad_answer", f"the centre's answer to {path} is not an object")
        return answer

    def challenge(self, kiosk_id: str) -> Challenge:
        answer = self._call("POST", "/v1/challenges", {"kiosk_id": kiosk_id})
        return Challenge(str(answer.get("challenge_id", "")),
                         _unb64(answer.get("challenge"), "challenge"))

    def open_session(self, kiosk_id: str, challenge_id: str, signature: bytes,
                     certificate: bytes) -> CentreSession:
        answer = self._call("POST", "/v1/sessions", {
            "kiosk_id": kiosk_id, "challenge_id": challenge_id, "hash": "sha256",
            "signature": _b64(signature), "certificate": _b64(certificate)})
        eligibility = answer.get("eligibility")
        if not isinstance(eligibility, dict):
            raise CentreError("bad_answer", "the centre's session has no eligibility")
        reason = eligibility.get("reason")
        return CentreSession(str(answer["session_id"]),
                             Eligibility(bool(eligibility.get("eligible")),
                                         str(reason) if reason else None),
                             parse_offers(answer.get("documents")))

    def request_document(self, kiosk_id: str, session_id: str, transaction_id: str,
                         selection: Selection) -> IssuedDocument:
        answer = self._call("POST", "/v1/transactions", {
            "kiosk_id": kiosk_id, "session_id": session_id, "transaction_id": transaction_id,
            **selection.as_dict()})
        if answer.get("transaction_id") != transaction_id:
            raise CentreError("wrong_transaction",
                              "the centre answered with a document for another transaction; "
                              "it was discarded unprinted")
        pdf = _unb64(answer.get("pdf"), "document")
        if hashlib.sha256(pdf).hexdigest() != answer.get("sha256"):
            raise CentreError("bad_answer", "the document does not match its SHA-256; it was "
                                            "discarded unprinted")
        if not pdf.startswith(b"%PDF-"):
            raise CentreError("bad_answer", "the document is not a PDF; it was discarded")
        try:
            pages, fee = int(str(answer["pages"])), int(str(answer["fee"]))
        except (KeyError, ValueError):
            raise CentreError("bad_answer", "the centre's document answer is malformed") from None
        return IssuedDocument(transaction_id, pdf, str(answer.get("verification_code", "")),
                              pages, fee)

    def settle(self, kiosk_id: str, session_id: str, transaction_id: str, amount: int) -> None:
        self._call("POST", f"/v1/transactions/{transaction_id}/settle",
                   {"kiosk_id": kiosk_id, "session_id": session_id, "amount": amount})

    def cancel(self, kiosk_id: str, session_id: str, transaction_id: str, reason: str) -> None:
        self._call("POST", f"/v1/transactions/{transaction_id}/cancel",
                   {"kiosk_id": kiosk_id, "session_id": session_id, "reason": reason})

    def end_session(self, kiosk_id: str, session_id: str) -> None:
        self._call("DELETE", f"/v1/sessions/{session_id}", {"kiosk_id": kiosk_id})
