"""PAdES signatures (ETSI EN 319 142-1 baseline B-B, and B-T with an RFC 3161 timestamp) made by
the card's signing key, and their verification — through pyHanko, the optional `pdf` extra
(`pip install 'mynacard[pdf]'`).

pyHanko builds the PDF signature dictionary, the byte range and the CMS (ETSI.CAdES.detached,
signed attributes with ESS signingCertificateV2, the signing certificate and its chain embedded);
the one raw signature it needs comes from the card: `CardSigner` hands it the SHA-256 DigestInfo
of the signed attributes for `80 2A 00 80` (CI §6.2), exactly as the CMS signer (signing.py) does.
With a timestamp server, pyHanko adds the signature timestamp as an unsigned attribute (B-T).

A visible signature field shows the signer's name from the signing certificate's SAN (the JPKI
name is Japanese, so the field is rendered with a Japanese TrueType font, embedded as a subset).
"""

from __future__ import annotations

import datetime
import io
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.general import SigningError
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from mynacard.codec.digest_info import of_message
from mynacard.host.signing import DigestInfoSigner, signer_personal_data
from mynacard.host.trust import TrustStore
from mynacard.host.verify import CertificateInvalid, VerifiedCertificate, verify_certificate

#: Japanese fonts Debian installs (fonts-ipafont-gothic), the first one found is used.
JAPANESE_FONTS = (
    Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"),
    Path("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf"),
    Path("/usr/share/fonts/opentype/ipafont-gothic/ipagp.ttf"),
)
#: The raw signature of an RSA-2048 key: what pyHanko reserves room for before the card signs.
RSA_2048_SIGNATURE_BYTES = 256


class PadesError(Exception):
    """The PDF cannot be signed as asked (not a PDF, no such page, timestamp server down, …)."""


@dataclass(frozen=True)
class VisibleField:
    """Where the visible signature goes: a page (1 = first) and a box in PDF points (x1 y1 x2 y2,
    origin at the bottom left)."""

    page: int
    box: tuple[int, int, int, int]

    @classmethod
    def parse(cls, text: str) -> VisibleField:
        """`PAGE,x1,y1,x2,y2`, e.g. `1,50,50,300,110`; ValueError says what is wrong."""
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 5 or not all(p.lstrip("-").isdigit() for p in parts):
            raise ValueError(f"{text!r} is not PAGE,x1,y1,x2,y2 (five whole numbers, e.g. 1,50,50,300,110)")
        page, x1, y1, x2, y2 = (int(p) for p in parts)
        if page < 1:
            raise ValueError(f"page {page} does not exist: pages count from 1")
        if x2 - x1 < 20 or y2 - y1 < 10:
            raise ValueError(f"the box {x1},{y1},{x2},{y2} is too small for a signature (x2 > x1 + 20, y2 > y1 + 10)")
        return cls(page, (x1, y1, x2, y2))


@dataclass(frozen=True)
class PadesOptions:
    #: An RFC 3161 timestamp server: PAdES B-T instead of B-B.
    timestamp_url: str | None = None
    visible: VisibleField | None = None
    #: The font of the visible field (default: the first of JAPANESE_FONTS that exists).
    font: Path | None = None
    reason: str | None = None
    location: str | None = None

    @property
    def level(self) -> str:
        return "B-T" if self.timestamp_url else "B-B"


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


class CardSigner(signers.Signer):
    """A pyHanko Signer whose raw signature is the card's `80 2A` over a SHA-256 DigestInfo."""

    def __init__(self, certificate: x509.Certificate, chain: Sequence[x509.Certificate], sign: DigestInfoSigner) -> None:
        from asn1crypto import algos

        self._sign = sign
        cert = _asn1(certificate)
        super().__init__(
            signing_cert=cert,
            cert_registry=SimpleCertificateStore.from_certs([cert, *(_asn1(c) for c in chain)]),
            signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}),
        )

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if digest_algorithm != "sha256":
            raise SigningError(f"the card signs SHA-256 DigestInfos here, not {digest_algorithm}")
        if dry_run:  # pyHanko sizes the signature container first
            return bytes(RSA_2048_SIGNATURE_BYTES)
        return self._sign(of_message("sha256", data))


def signer_name(certificate: x509.Certificate) -> str:
    """The name the signature shows: the JPKI SAN name, else the subject CN."""
    name = signer_personal_data(certificate).get("name")
    if name:
        return name
    common = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(common[0].value) if common else certificate.subject.rfc4514_string()


def japanese_font(chosen: Path | None = None) -> Path:
    if chosen is not None:
        if not chosen.is_file():
            raise PadesError(f"the font {chosen} does not exist")
        return chosen
    for font in JAPANESE_FONTS:
        if font.is_file():
            return font
    found = shutil.which("fc-match") and subprocess.run(
        ["fc-match", "-f", "%{file}", ":lang=ja"], capture_output=True, text=True, check=False).stdout.strip()
    if found and Path(found).suffix.lower() in (".ttf", ".otf"):
        return Path(found)
    raise PadesError("no Japanese TrueType font found for the visible signature; install fonts-ipafont-gothic "
                     "or give one with --font FILE")


def _reader(pdf: bytes) -> PdfFileReader:
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        _ = reader.root
    except (PdfError, ValueError, KeyError, IndexError) as exc:
        raise PadesError(f"the file is not a PDF that can be signed ({exc})") from None
    if reader.encrypted:
        raise PadesError("the PDF is encrypted; decrypt it first")
    return reader


def _free_field_name(reader: PdfFileReader) -> str:
    taken = {name for name, _, _ in fields.enumerate_sig_fields(reader)}
    return next(f"Signature{n}" for n in range(1, len(taken) + 2) if f"Signature{n}" not in taken)


def check_signable(pdf: bytes, options: PadesOptions) -> PdfFileReader:
    """Everything that can be wrong before the card is asked: the PDF, the page, the font."""
    reader = _reader(pdf)
    if options.visible is not None:
        pages = int(reader.root["/Pages"]["/Count"])
        if options.visible.page > pages:
            raise PadesError(f"page {options.visible.page} does not exist: the PDF has {pages} page(s)")
        japanese_font(options.font)
    return reader


def sign_pdf(pdf: bytes, certificate: x509.Certificate, chain: Sequence[x509.Certificate], sign: DigestInfoSigner,
             options: PadesOptions = PadesOptions()) -> bytes:
    """`pdf` with a PAdES signature added as an incremental update (earlier signatures stay valid)."""
    reader = check_signable(pdf, options)
    field_name = _free_field_name(reader)
    spec = None
    stamp = None
    params = None
    if options.visible is not None:
        spec = fields.SigFieldSpec(field_name, on_page=options.visible.page - 1, box=options.visible.box)
        font = GlyphAccumulatorFactory(str(japanese_font(options.font)), font_size=10)
        stamp = TextStampStyle(stamp_text="署名者: %(signer)s\n日時: %(ts)s",
                               text_box_style=TextBoxStyle(font=font),
                               timestamp_format="%Y-%m-%d %H:%M:%S %Z")
        params = {"signer": signer_name(certificate)}
    meta = signers.PdfSignatureMetadata(
        field_name=field_name, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        reason=options.reason, location=options.location, name=signer_name(certificate))
    timestamper = timestamps.HTTPTimeStamper(options.timestamp_url, timeout=30) if options.timestamp_url else None
    pdf_signer = signers.PdfSigner(meta, signer=CardSigner(certificate, chain, sign), timestamper=timestamper,
                                   stamp_style=stamp, new_field_spec=spec)
    out = io.BytesIO()
    try:
        pdf_signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False), output=out,
                            appearance_text_params=params)
    except timestamps.TimestampRequestError as exc:
        raise PadesError(f"the timestamp server {options.timestamp_url} did not give a timestamp ({exc}); "
                         "nothing was written") from None
    except (PdfError, SigningError) as exc:
        raise PadesError(f"pyHanko could not sign the PDF ({exc})") from None
    return out.getvalue()


@dataclass(frozen=True)
class PdfSignatureStatus:
    field: str
    signer: VerifiedCertificate
    name: str
    #: The signature covers the whole file (no change after it) or only a revision of it.
    coverage: str
    signing_time: datetime.datetime | None
    #: The RFC 3161 signature timestamp (B-T), if any, and whether its TSA was trusted.
    timestamp: datetime.datetime | None
    timestamp_trusted: bool


class PdfSignatureInvalid(Exception):
    """A signature in the PDF does not verify (changed bytes, untrusted signer, none at all)."""


def verify_pdf(pdf: bytes, store: TrustStore, *, tsa_roots: Sequence[x509.Certificate] = (),
               at: datetime.datetime | None = None) -> list[PdfSignatureStatus]:
    """Every signature of `pdf`, checked by pyHanko's validator (integrity, CMS, chain to the
    pinned *signing* roots only) and by mynacard's own certificate policy; raises
    PdfSignatureInvalid for the first that fails."""
    reader = _reader(pdf)
    embedded = list(reader.embedded_signatures)
    if not embedded:
        raise PdfSignatureInvalid("the PDF holds no signature")
    roots = [_asn1(root.certificate) for root in store.roots]
    context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail",
                                moment=at)
    ts_context = ValidationContext(trust_roots=[_asn1(c) for c in tsa_roots] or roots, allow_fetching=False,
                                   revocation_mode="soft-fail")
    out = []
    for signature in embedded:
        status = validate_pdf_signature(signature, signer_validation_context=context, ts_validation_context=ts_context)
        if not (status.intact and status.valid):
            raise PdfSignatureInvalid(f"signature {signature.field_name}: the PDF was changed after signing or the "
                                      "signature value does not verify")
        certificate = x509.load_der_x509_certificate(status.signing_cert.dump())
        if not status.trusted:
            raise PdfSignatureInvalid(f"signature {signature.field_name}: the signer's certificate does not chain to "
                                      "a pinned signing root")
        try:
            verified = verify_certificate(certificate, store, at=at)
        except CertificateInvalid as exc:
            raise PdfSignatureInvalid(f"signature {signature.field_name}: {exc}") from None
        ts = status.timestamp_validity
        out.append(PdfSignatureStatus(
            field=str(signature.field_name), signer=verified, name=signer_name(certificate),
            coverage=status.coverage.name.lower().replace("_", " ") if status.coverage else "unknown",
            signing_time=status.signer_reported_dt,
            timestamp=ts.timestamp if ts is not None else None,
            timestamp_trusted=bool(ts is not None and ts.intact and ts.valid and ts.trusted)))
    return out
