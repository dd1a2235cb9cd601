"""PAdES signing with the card's signing key (`mynacard card sign --pades`), checked by two
independent validators: pyHanko's and poppler's `pdfsig` (with the test signing root in an NSS
database of its own). B-B in-process (`--card DIR`), B-T through pcscd (`--reader`) with a real
RFC 3161 server on loopback (tsa_server.py). The PDFs are written by hand (pdf_files.py)."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("pyhanko", reason="the pdf extra (pip install 'mynacard[pdf]'; tools/setup.sh installs it)")

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from mynacard.host.pades import PadesError, VisibleField, sign_pdf
from mynacard.host.trust import roots_directory
from mynacard.main import main
from pdf_files import minimal_pdf
from tsa_server import running_tsa

SIGN_ROOT = roots_directory() / "sign-test-mynacard.pem"
NAME = "見本　花子"  # the demo card's signer, from the signing certificate's SAN
SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300D060960864801650304020105000420")
#: The signing flows run against each side of the CI §12 behaviours the host touches (conftest);
#: the error and unit tests do not depend on them.
CARD_BEHAVIOURS = ()
ALL_SIDES = pytest.mark.card_behaviours("reselect", "verify-query")
needs_poppler = pytest.mark.skipif(not (shutil.which("pdfsig") and shutil.which("certutil")),
                                   reason="poppler-utils and libnss3-tools (tools/setup.sh installs them)")


TEST = "--trust-test-authority"  # the demo card chains to the test authority (fail closed without)


@pytest.fixture
def env(monkeypatch, demo):
    monkeypatch.delenv("MYNACARD_TRUST_TEST_AUTHORITY", raising=False)
    monkeypatch.setenv("MYNACARD_SIGN_PASSWORD", demo.sign_password)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    return monkeypatch


@pytest.fixture(scope="session")
def nss_db(tmp_path_factory) -> Path:
    """An NSS database trusting the mynacard test signing root for signatures: pdfsig's trust."""
    if not shutil.which("certutil"):
        pytest.skip("certutil (libnss3-tools) is not installed")
    path = tmp_path_factory.mktemp("nss")
    subprocess.run(["certutil", "-N", "-d", f"sql:{path}", "--empty-password"], check=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{path}", "-n", "mynacard test signing root", "-t", "C,C,C",
                    "-a", "-i", str(SIGN_ROOT)], check=True)
    return path


def pdfsig(path: Path, nss: Path) -> str:
    return subprocess.run(["pdfsig", "-nssdir", f"sql:{nss}", str(path)], capture_output=True, text=True).stdout


def pyhanko_status(pdf: bytes, tsa_root: x509.Certificate | None = None):
    """pyHanko's own validator, trusting only the test signing root (and the TSA root for B-T)."""
    def asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))

    root = x509.load_pem_x509_certificate(SIGN_ROOT.read_bytes())
    (signature,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    context = ValidationContext(trust_roots=[asn1(root)], allow_fetching=False)
    ts_context = ValidationContext(trust_roots=[asn1(tsa_root)], allow_fetching=False) if tsa_root else None
    return validate_pdf_signature(signature, signer_validation_context=context, ts_validation_context=ts_context)


def signed_contract(tmp_path: Path, pages: int, *options: str) -> tuple[Path, bytes]:
    """`mynacard card sign contract.pdf --pades OPTIONS` (the card chosen in OPTIONS): the signed
    PDF's path and bytes."""
    contract, signed = tmp_path / "contract.pdf", tmp_path / "signed.pdf"
    contract.write_bytes(minimal_pdf(pages))
    assert main(["card", "sign", str(contract), "--pades", TEST, *options, "--out", str(signed)]) == 0
    pdf = signed.read_bytes()
    assert pdf.startswith(contract.read_bytes())  # an incremental update: the original bytes stay
    return signed, pdf


def changed_byte(pdf: bytes) -> bytes:
    """One byte of the signed content changed: the page's text, inside the signed byte range."""
    at = pdf.index(b"Contract for signing") + 1
    return pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1:]


@needs_poppler
@ALL_SIDES
def test_pades_b_b_in_process_accepted_by_pyhanko_and_pdfsig(env, card_dir, tmp_path, nss_db, capsys):
    signed, pdf = signed_contract(tmp_path, 2, "--card", str(card_dir), "--visible", "1,50,50,300,110",
                                  "--reason", "契約の締結")
    assert "(PAdES B-B, certificate serial" in capsys.readouterr().out

    status = pyhanko_status(pdf)
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.coverage.name == "ENTIRE_FILE"
    assert status.timestamp_validity is None  # B-B
    # The chain is embedded: the signer's certificate and the root it chains to.
    (embedded,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    subjects = {c.subject.human_friendly for c in embedded.other_embedded_certs} | {embedded.signer_cert.subject.human_friendly}
    assert any("mynacard test authority" in s for s in subjects)
    assert embedded.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"

    report = pdfsig(signed, nss_db)
    assert "Signature is Valid." in report and "Certificate is Trusted." in report, report
    assert "Signature Type: ETSI.CAdES.detached" in report and "Total document signed" in report
    # The visible field shows the signer's name, with the Japanese font embedded (poppler reads both).
    text = subprocess.run(["pdftotext", str(signed), "-"], capture_output=True, text=True, check=True).stdout
    assert f"署名者: {NAME}" in text
    fonts = subprocess.run(["pdffonts", str(signed)], capture_output=True, text=True, check=True).stdout
    assert "IPAGothic" in fonts

    assert main(["card", "verify", TEST, str(signed)]) == 0
    assert f"VALID: Signature1 signed by {NAME} (PAdES B-B, covers the entire file)" in capsys.readouterr().out
    assert main(["card", "verify", str(signed)]) == 1  # J-LIS roots only: a test card's signature fails closed
    assert "INVALID: signature Signature1: the signer's certificate does not chain" in capsys.readouterr().out

    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(changed_byte(pdf))
    assert not pyhanko_status(tampered.read_bytes()).intact
    report = pdfsig(tampered, nss_db)
    assert "Signature is Valid." not in report and ("Digest Mismatch" in report or "Invalid" in report), report
    assert main(["card", "verify", TEST, str(tampered)]) == 1
    assert "INVALID: signature Signature1: the PDF was changed after signing" in capsys.readouterr().out


@needs_poppler
@ALL_SIDES
def test_pades_b_t_through_pcscd_with_a_real_timestamp_server(env, reader_name, tmp_path, nss_db, capsys):
    with running_tsa() as tsa:
        signed, pdf = signed_contract(tmp_path, 1, "--reader", reader_name, "--timestamp-url", tsa.url,
                                      "--visible", "1,300,700,560,760")
        assert tsa.served  # pyHanko may ask once more first, to size the token
    assert "(PAdES B-T, certificate serial" in capsys.readouterr().out
    status = pyhanko_status(pdf, tsa.root)
    assert status.bottom_line and status.coverage.name == "ENTIRE_FILE"
    ts = status.timestamp_validity
    assert ts is not None and ts.intact and ts.valid and ts.trusted
    report = pdfsig(signed, nss_db)
    assert "Signature is Valid." in report and "Certificate is Trusted." in report, report

    (tmp_path / "tsa.pem").write_bytes(tsa.root.public_bytes(Encoding.PEM))
    assert main(["card", "verify", TEST, str(signed), "--tsa-root", str(tmp_path / "tsa.pem")]) == 0
    out = capsys.readouterr().out
    assert f"signed by {NAME} (PAdES B-T" in out and "(TSA trusted)" in out

    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(changed_byte(pdf))
    assert not pyhanko_status(tampered.read_bytes(), tsa.root).intact
    assert "Signature is Valid." not in pdfsig(tampered, nss_db)


def test_the_card_signs_one_sha256_digest_info(card_dir, demo):
    """The pyHanko Signer's raw signing is the card's `80 2A 00 80` over a SHA-256 DigestInfo."""
    from mynacard.host.card import MyNumberCard
    from mynacard.host.jpki import Key
    from mynacard.host.trace import TracingTransport
    from mynacard.host.transport import open_transport

    traced = TracingTransport(open_transport(f"emulator:{card_dir}"))
    with MyNumberCard(traced) as card:
        card.detect()
        card.jpki.verify_signing_password(demo.sign_password)
        certificate = x509.load_der_x509_certificate(card.jpki.signing_certificate())
        traced.entries.clear()
        pdf = sign_pdf(minimal_pdf(), certificate, [], lambda di: card.jpki.compute_signature(di, key=Key.SIGN))
    (sign,) = traced.sent(0x2A)
    assert sign.command[:5] == bytes.fromhex("802A008033")
    assert sign.command[5:24] == SHA256_DIGEST_INFO_PREFIX
    assert pyhanko_status(pdf).intact


def test_a_second_signature_keeps_the_first_valid(env, card_dir, tmp_path):
    contract = tmp_path / "contract.pdf"
    contract.write_bytes(minimal_pdf())
    once, twice = tmp_path / "once.pdf", tmp_path / "twice.pdf"
    assert main(["card", "sign", str(contract), "--card", str(card_dir), "--pades", TEST, "--out", str(once)]) == 0
    assert main(["card", "sign", str(once), "--card", str(card_dir), "--pades", TEST, "--out", str(twice)]) == 0
    signatures = PdfFileReader(io.BytesIO(twice.read_bytes())).embedded_signatures
    assert [s.field_name for s in signatures] == ["Signature1", "Signature2"]
    assert main(["card", "verify", TEST, str(twice)]) == 0


@pytest.mark.parametrize("args, message", [
    (["--visible", "3,50,50,300,110"], "page 3 does not exist: the PDF has 1 page(s)"),
    (["--visible", "1,50,50"], "--visible: '1,50,50' is not PAGE,x1,y1,x2,y2"),
    (["--font", "/nonexistent.ttf", "--visible", "1,50,50,300,110"], "the font /nonexistent.ttf does not exist"),
    (["--timestamp-url", "ftp://tsa"], "is not an http(s) URL"),
])
def test_bad_options_are_refused_before_the_card_is_asked(env, card_dir, tmp_path, capsys, args, message):
    contract = tmp_path / "contract.pdf"
    contract.write_bytes(minimal_pdf())
    state = (card_dir / "state.json").stat().st_mtime_ns
    assert main(["card", "sign", str(contract), "--card", str(card_dir), "--pades", *args]) == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.glob("*-signed.pdf"))
    # No VERIFY reached the card: every VERIFY with data writes its counter (twice when right).
    assert (card_dir / "state.json").stat().st_mtime_ns == state


def test_not_a_pdf_and_a_dead_timestamp_server(env, card_dir, tmp_path, capsys):
    text = tmp_path / "note.txt"
    text.write_text("not a PDF")
    assert main(["card", "sign", str(text), "--card", str(card_dir), "--pades"]) == 2
    assert "the file is not a PDF that can be signed" in capsys.readouterr().err
    contract = tmp_path / "contract.pdf"
    contract.write_bytes(minimal_pdf())
    with running_tsa() as tsa:
        dead = tsa.url  # the server is gone once the block ends
    assert main(["card", "sign", str(contract), "--card", str(card_dir), "--pades", TEST, "--timestamp-url", dead]) == 1
    assert "did not give a timestamp" in capsys.readouterr().err
    assert not (tmp_path / "contract-signed.pdf").exists()
    assert main(["card", "sign", str(contract), "--card", str(card_dir), "--timestamp-url", dead]) == 2
    assert "--timestamp-url go(es) with --pades" in capsys.readouterr().err


def test_visible_field_parsing():
    assert VisibleField.parse("2, 10, 20, 200, 80") == VisibleField(2, (10, 20, 200, 80))
    for bad in ("0,1,1,100,100", "1,a,1,100,100", "1,0,0,5,5"):
        with pytest.raises(ValueError):
            VisibleField.parse(bad)
    with pytest.raises(PadesError):
        sign_pdf(b"%PDF-1.7 nothing else", None, [], lambda di: b"")  # type: ignore[arg-type]
