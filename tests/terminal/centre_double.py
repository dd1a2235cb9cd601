"""A TEST STAND-IN for the issuance centre (証明書交付センター), until register_stub's lands.

It implements the JSON API of docs/kiosk.md ("Centre API") over real HTTP on loopback, so the
kiosk's `HttpCentre` is exercised exactly as it will be against the real centre:
- a kiosk token on every request;
- single-use challenges; the auth certificate's signature over the challenge verified with its
  public key, and the certificate checked against the auth CA that issued it;
- residents found by the auth certificate's serial number (the auth certificate carries no
  name), with the refusals of jpki-system.md §6.2 as data;
- documents bound to (transaction id, resident): a transaction id is used once, settle and
  cancel must name the session that requested it, and the PDF names the transaction, the
  resident and a verification code.

It keeps a ledger of what it issued, settled and cancelled, which the load test compares with
the paper and the cash. The PDF is a one-page hand-written PDF with ASCII text (the real
centre draws the Japanese layout, seal and copy-deterrent pattern).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

TOKEN = "kiosk-test-token"

DOCUMENTS = [
    {"code": "juminhyo", "title_ja": "住民票の写し", "title_en": "Certificate of residence",
     "fee": 200,
     "scopes": [{"code": "self", "title_ja": "本人のみ", "title_en": "Myself only"},
                {"code": "household", "title_ja": "世帯全員", "title_en": "Whole household"}],
     "options": [{"code": "head_relation", "title_ja": "世帯主・続柄",
                  "title_en": "Head of household and relationship"},
                 {"code": "honseki", "title_ja": "本籍・筆頭者",
                  "title_en": "Registered domicile"},
                 {"code": "my_number", "title_ja": "個人番号", "title_en": "My Number"}]},
    {"code": "inkan", "title_ja": "印鑑登録証明書", "title_en": "Seal registration certificate",
     "fee": 200, "scopes": [{"code": "self", "title_ja": "本人", "title_en": "Myself"}],
     "options": []},
    {"code": "kazei", "title_ja": "所得・課税証明書", "title_en": "Income and tax certificate",
     "fee": 300, "scopes": [{"code": "self", "title_ja": "本人", "title_en": "Myself"}],
     "options": []},
]


@dataclass(frozen=True)
class Resident:
    name: str
    name_roman: str
    address: str
    my_number: str
    #: A refusal of §6.2 (moved_out, support_measure, deceased, …) or None.
    refusal: str | None = None
    seal_registered: bool = True


@dataclass
class Transaction:
    transaction_id: str
    kiosk_id: str
    session_id: str
    resident_serial: int
    document: str
    copies: int
    fee: int
    sha256: str
    verification_code: str
    status: str = "issued"  # issued → settled, or cancelled
    cancel_reason: str | None = None


@dataclass
class Ledger:
    transactions: dict[str, Transaction] = field(default_factory=dict)
    sessions: dict[str, int] = field(default_factory=dict)
    challenges: dict[str, bytes] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def make_pdf(lines: list[str]) -> bytes:
    """A one-page A4 PDF with the given ASCII lines in Helvetica."""
    text = "BT /F1 12 Tf 56 780 Td 16 TL " + " ".join(
        "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '"
        for line in lines) + " ET"
    stream = text.encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
            .encode())
    return bytes(out)


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # 20 kiosks connect at once; the default backlog of 5 drops some


class CentreDouble:
    """The stand-in centre on 127.0.0.1 (port chosen by the OS). `residents` maps the auth
    certificate serial to the resident; `auth_ca` is the certificate that must have issued
    every auth certificate presented."""

    def __init__(self, residents: dict[int, Resident], auth_ca: x509.Certificate) -> None:
        self.residents = residents
        self.auth_ca = auth_ca
        self.ledger = Ledger()
        #: Fault injection: refuse the next document request with this error code.
        self.fail_next_request: str | None = None
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> CentreDouble:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- the API --------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        centre = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _reply(self, status: int, body: dict[str, object]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _dispatch(self, method: str) -> None:
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._reply(401, {"error": "unknown_kiosk", "detail": "kiosk not known"})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._reply(400, {"error": "bad_request", "detail": "not JSON"})
                    return
                status, answer = centre.route(method, self.path, body)
                self._reply(status, answer)

            def do_POST(self) -> None:
                self._dispatch("POST")

            def do_DELETE(self) -> None:
                self._dispatch("DELETE")

        return Handler

    def route(self, method: str, path: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["v1", "challenges"]:
            challenge_id, challenge = secrets.token_hex(8), secrets.token_bytes(32)
            with self.ledger.lock:
                self.ledger.challenges[challenge_id] = challenge
            return 200, {"challenge_id": challenge_id,
                         "challenge": base64.b64encode(challenge).decode()}
        if method == "POST" and parts == ["v1", "sessions"]:
            return self._open_session(body)
        if method == "DELETE" and parts[:2] == ["v1", "sessions"] and len(parts) == 3:
            with self.ledger.lock:
                self.ledger.sessions.pop(parts[2], None)
            return 200, {"status": "ended"}
        if method == "POST" and parts == ["v1", "transactions"]:
            return self._request_document(body)
        if method == "POST" and parts[:2] == ["v1", "transactions"] and len(parts) == 4:
            return self._settle_or_cancel(parts[2], parts[3], body)
        return 404, {"error": "not_found", "detail": f"no {method} {path}"}

    def _open_session(self, body: dict[str, object]) -> tuple[int, dict[str, object]]:
        with self.ledger.lock:
            challenge = self.ledger.challenges.pop(str(body.get("challenge_id")), None)
        if challenge is None:
            return 401, {"error": "challenge_unknown", "detail": "challenge unknown or used"}
        try:
            certificate = x509.load_der_x509_certificate(
                base64.b64decode(str(body.get("certificate"))))
            certificate.verify_directly_issued_by(self.auth_ca)
            key = certificate.public_key()
            assert isinstance(key, rsa.RSAPublicKey)
            key.verify(base64.b64decode(str(body.get("signature"))), challenge,
                       padding.PKCS1v15(), hashes.SHA256())
        except (ValueError, TypeError, InvalidSignature, AssertionError):
            return 401, {"error": "signature_invalid",
                         "detail": "the challenge signature or the certificate is not valid"}
        resident = self.residents.get(certificate.serial_number)
        if resident is None:
            return 403, {"error": "unknown_certificate", "detail": "no resident has this card"}
        session_id = secrets.token_hex(12)
        with self.ledger.lock:
            self.ledger.sessions[session_id] = certificate.serial_number
        documents = []
        for offer in DOCUMENTS:
            entry = dict(offer)
            if offer["code"] == "inkan" and not resident.seal_registered:
                entry.update(available=False, refusal="seal_not_registered")
            documents.append(entry)
        return 200, {"session_id": session_id,
                     "eligibility": {"eligible": resident.refusal is None,
                                     "reason": resident.refusal},
                     "documents": documents}

    def _request_document(self, body: dict[str, object]) -> tuple[int, dict[str, object]]:
        txn = str(body.get("transaction_id", ""))
        with self.ledger.lock:
            serial = self.ledger.sessions.get(str(body.get("session_id")))
            if serial is None:
                return 401, {"error": "session_unknown", "detail": "no such session"}
            if txn in self.ledger.transactions or len(txn) < 16:
                return 409, {"error": "transaction_reused",
                             "detail": "a transaction id is used for one document only"}
            if self.fail_next_request:
                code, self.fail_next_request = self.fail_next_request, None
                return 503, {"error": code, "detail": "injected failure"}
        resident = self.residents[serial]
        if resident.refusal:
            return 403, {"error": resident.refusal, "detail": "go to the municipal window"}
        offer = next((d for d in DOCUMENTS if d["code"] == body.get("document")), None)
        copies = body.get("copies")
        if offer is None or not isinstance(copies, int) or copies < 1:
            return 400, {"error": "bad_request", "detail": "unknown document or copies"}
        code = secrets.token_hex(8).upper()
        raw_options = body.get("options")
        options = [str(o) for o in raw_options] if isinstance(raw_options, list) else []
        pdf = make_pdf([
            f"{offer['title_en']} - TEST CENTRE STAND-IN, NOT AN OFFICIAL DOCUMENT",
            f"Transaction: {txn}",
            f"Resident: {resident.name_roman}",
            f"Scope: {body.get('scope')}  Options: {','.join(options)}",
            f"Copies: {copies}",
            f"Verification code: {code}",
        ])
        fee = int(str(offer["fee"])) * copies
        sha = hashlib.sha256(pdf).hexdigest()
        with self.ledger.lock:
            self.ledger.transactions[txn] = Transaction(
                txn, str(body.get("kiosk_id")), str(body.get("session_id")), serial,
                str(offer["code"]), copies, fee, sha, code)
        return 200, {"transaction_id": txn, "pdf": base64.b64encode(pdf).decode(), "sha256": sha,
                     "verification_code": code, "pages": 1, "fee": fee}

    def _settle_or_cancel(self, txn: str, action: str, body: dict[str, object]
                          ) -> tuple[int, dict[str, object]]:
        with self.ledger.lock:
            record = self.ledger.transactions.get(txn)
            if record is None:
                return 404, {"error": "transaction_unknown", "detail": "no such transaction"}
            if record.session_id != body.get("session_id"):
                return 403, {"error": "wrong_session",
                             "detail": "the transaction belongs to another session"}
            if action == "settle":
                if record.status != "issued" or body.get("amount") != record.fee:
                    return 409, {"error": "cannot_settle", "detail": "not settleable"}
                record.status = "settled"
                return 200, {"status": "settled"}
            if action == "cancel":
                record.status, record.cancel_reason = "cancelled", str(body.get("reason"))
                return 200, {"status": "cancelled"}
        return 404, {"error": "not_found", "detail": f"no action {action}"}
