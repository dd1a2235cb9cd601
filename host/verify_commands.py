"""`mynacard card check | sign | verify`: the clerk check and document signatures.

host/commands.py calls `add_card_commands(card_subparsers)`; the card-choosing options, opening
the card, secrets (environment variable or no-echo prompt, never argv) and the one-sentence error
handling come from card_args.py, shared with the other `card` commands.

Building the parser must stay cheap (every `mynacard … --help` builds all of it), so the clerk
check, CMS signing, X.509 verification and revocation (cryptography, PIL, …) are imported by the
handlers that use them, not at the top.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mynacard.errors import UsageError
from mynacard.host.card_args import (
    SECRETS_HELP,
    card_options,
    open_card,
    read_secret,
)

if TYPE_CHECKING:
    from mynacard.host.clerk import ApplicationForm, ClerkSecrets
    from mynacard.host.revocation import RevocationConfig
    from mynacard.host.trust import Trust
    from mynacard.main import Subcommands

CHECK_EPILOG = """\
The application (申請書) comes from --application FILE.json (keys my_number, name, address,
birth or birth_date, sex) and/or the single options, which override the file.
Secrets: 照合番号B from MYNACARD_CODE_B (else asked, unless 照合番号A is used); 照合番号A from
MYNACARD_CODE_A or --with-code-a; the card-info PIN from MYNACARD_TEXT_PIN or --with-text-pin.
The My Number is masked in every output unless --show-my-number.
Exit status: 0 every check passed or was skipped, 1 a check failed, 2 usage error.

Trust: only the J-LIS roots, unless --trust-test-authority (or MYNACARD_TRUST_TEST_AUTHORITY=1)
also trusts the mynacard test authority, whose private keys are public: cards made by
`mynacard card new` and the emulator's demo card chain to it and fail without the option.

Example (the demo card, a test card):
  MYNACARD_CODE_B=60041220362468 MYNACARD_TEXT_PIN=1234 mynacard card check --card ./mycard \\
      --application ./mycard/application.json --photo face.png --trust-test-authority
"""

TRUST_TEST_HELP = ("also trust the mynacard TEST authority (JPKI-TEST (mynacard)), whose private keys "
                   "are public: for test cards only (also MYNACARD_TRUST_TEST_AUTHORITY=1)")


SIGN_EPILOG = """\
examples:
  mynacard card sign contract.txt                                   contract.txt.p7s (CMS)
  mynacard card sign contract.pdf --pades --out signed.pdf          PAdES B-B
  mynacard card sign contract.pdf --pades --timestamp-url http://tsa.example/tsr \\
      --visible 1,50,50,300,110 --reason 契約の締結 --out signed.pdf   PAdES B-T, visible
  mynacard card verify signed.pdf                                   its signatures, no card needed
"""


def add_card_commands(card: Subcommands, card_parent: argparse.ArgumentParser | None = None) -> None:
    """Add `check`, `sign` and `verify` to the `mynacard card` group; `card_parent` is the parent
    parser with the card-choosing options (`card_args.card_options()` when not given)."""
    card_parent = card_parent or card_options()
    trust_options = argparse.ArgumentParser(add_help=False)
    group = trust_options.add_argument_group("trust and revocation")
    group.add_argument("--ocsp", metavar="URL",
                       help="check revocation with this OCSP responder (fail closed); 'aia': the one the "
                       "certificate names, e.g. a `mynacard serve` CA service")
    group.add_argument("--crl", metavar="FILE|URL", help="check revocation against this CRL (fail closed)")
    group.add_argument("--trust-test-authority", action="store_true", help=TRUST_TEST_HELP)

    check = card.add_parser(
        "check", parents=[card_parent, trust_options], help="the clerk's card check (本人確認)",
        description=_wrap("Check that a My Number Card is genuine, present and the applicant's: "
                          "card face and J-LIS signatures, chip challenge, chip data against the "
                          "application, photo, auth certificate."),
        epilog=CHECK_EPILOG + "\n" + SECRETS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("--application", metavar="FILE.json", type=Path, help="the application as JSON")
    check.add_argument("--my-number", help="the application's My Number (visible in `ps`; prefer the file)")
    check.add_argument("--name", help="the application's name (氏名)")
    check.add_argument("--address", help="the application's address (住所)")
    check.add_argument("--birth", help="the application's birth date (1985-04-12, 昭和60年4月12日, …)")
    check.add_argument("--sex", help="the application's sex (1/2, 男/女, M/F)")
    check.add_argument("--with-code-a", action="store_true", help="also ask for 照合番号A (the My Number)")
    check.add_argument("--with-text-pin", action="store_true", help="also ask for the card-info PIN")
    check.add_argument("--photo", metavar="OUT.png", type=Path, help="save the face photo as PNG")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument("--show-my-number", action="store_true", help="show the My Number in full")
    check.set_defaults(func=_check)

    sign = card.add_parser(
        "sign", parents=[card_parent], help="sign a file with the signing key (detached CMS, or PAdES for a PDF)",
        description=_wrap("Make a detached CMS/PKCS#7 signature (SHA-256, signing certificate "
                          "included) of FILE with the card's signing key. Verify it with `mynacard "
                          "card verify` or `openssl cms -verify -binary -inform DER -in SIG -content "
                          "FILE -CAfile ROOT -purpose any`. With --pades, sign the PDF itself: PAdES "
                          "baseline B-B, or B-T with --timestamp-url (an RFC 3161 timestamp server), "
                          "the signing certificate and its chain embedded, optionally a visible field "
                          "with the signer's name; needs the pdf extra (pip install 'mynacard[pdf]')."),
        epilog=SIGN_EPILOG + "\n" + SECRETS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    sign.add_argument("file", type=Path, help="the file to sign")
    sign.add_argument("--out", type=Path, help="where to write the signature (default FILE.p7s) or, with "
                      "--pades, the signed PDF (default FILE-signed.pdf)")
    sign.add_argument("--trust-test-authority", action="store_true", help=TRUST_TEST_HELP)
    pades = sign.add_argument_group("PAdES (a signed PDF instead of a .p7s)")
    pades.add_argument("--pades", action="store_true", help="sign the PDF itself (PAdES B-B; B-T with a timestamp)")
    pades.add_argument("--timestamp-url", metavar="URL", help="RFC 3161 timestamp server: PAdES B-T")
    pades.add_argument("--visible", metavar="PAGE,x1,y1,x2,y2",
                       help="a visible signature field on PAGE (1 = first) in that box (PDF points from "
                            "the bottom left), showing the signer's name and the time")
    pades.add_argument("--font", type=Path, metavar="FILE.ttf",
                       help="TrueType/OpenType font for the visible field (default: IPA Gothic)")
    pades.add_argument("--reason", help="the reason recorded in the signature (e.g. 契約の締結)")
    pades.add_argument("--location", help="the place recorded in the signature")
    sign.set_defaults(func=_sign)

    verify = card.add_parser(
        "verify", parents=[trust_options], help="verify a detached CMS signature of a file, or a signed PDF",
        description=_wrap("Verify SIG, a detached CMS/PKCS#7 signature of FILE, against the pinned "
                          "signing roots (never the auth roots), with revocation when asked. Without "
                          "SIG, FILE is a PDF whose PAdES signatures are verified (pyHanko's validator "
                          "and the same roots; the pdf extra). No card needed."))
    verify.add_argument("file", type=Path, help="the signed file (a signed PDF when SIG is not given)")
    verify.add_argument("signature", type=Path, nargs="?", help="the signature (DER or PEM)")
    verify.add_argument("--tsa-root", type=Path, metavar="PEM",
                        help="for a PDF: trust this root for the signature timestamp (B-T)")
    verify.add_argument("--at", metavar="TIME", help="check validity at this ISO time instead of now")
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    verify.set_defaults(func=_verify)


# --- helpers -------------------------------------------------------------------------------------


def _wrap(text: str) -> str:
    """Descriptions are filled here, because the raw formatter keeps the epilog examples as written."""
    return textwrap.fill(text, width=88)


def _trust(args: argparse.Namespace) -> Trust:
    """J-LIS only, unless the option or the environment variable opts in to the test authority."""
    from mynacard.host.trust import TRUST_TEST_ENV, default_trust

    value = os.environ.get(TRUST_TEST_ENV, "").strip().lower()
    if value not in ("", "0", "1", "no", "yes", "false", "true"):
        raise UsageError(f"{TRUST_TEST_ENV} must be 1 (trust the test authority) or 0, not {value!r}")
    opted_in = args.trust_test_authority or value in ("1", "yes", "true")
    return default_trust(trust_test_authority=opted_in)


def _trust_warning(trust: Trust) -> str | None:
    """The sentence `sign`/`verify` print first when the test authority is trusted."""
    from mynacard.host.trust import TEST_AUTHORITY, TRUST_TEST_OPTION

    if not trust.test_authority_trusted:
        return None
    return (f"TEST AUTHORITY TRUSTED: {TEST_AUTHORITY} is trusted in this run ({TRUST_TEST_OPTION}); "
            "a signature it vouches for proves nothing about a real person.")


def _revocation(args: argparse.Namespace) -> RevocationConfig | None:
    from mynacard.host.revocation import RevocationConfig

    config = RevocationConfig(ocsp_url=args.ocsp, crl=args.crl)
    return config if config.enabled else None


def _at(args: argparse.Namespace) -> datetime.datetime | None:
    if not args.at:
        return None
    try:
        at = datetime.datetime.fromisoformat(args.at)
    except ValueError as exc:
        raise UsageError(f"--at {args.at} is not an ISO date/time (e.g. 2026-11-26T10:00+09:00)") from exc
    if at.tzinfo is None:
        raise UsageError("--at needs a time zone (e.g. +09:00 or Z)")
    return at


def _verify_pdf(args: argparse.Namespace, at: datetime.datetime | None, trust: Trust,
                head: dict[str, object]) -> int:
    """`mynacard card verify signed.pdf`: every PAdES signature of the PDF."""
    from cryptography import x509

    try:
        from mynacard.host.pades import PadesError, PdfSignatureInvalid, verify_pdf
    except ImportError as exc:
        raise UsageError(f"verifying a PDF needs pyHanko: pip install 'mynacard[pdf]' ({exc}); "
                         "for a detached signature give FILE and SIG") from None
    data = _read_file(args.file, "signed PDF")
    tsa_roots = []
    if args.tsa_root:
        try:
            tsa_roots = x509.load_pem_x509_certificates(_read_file(args.tsa_root, "TSA root"))
        except ValueError:
            raise UsageError(f"--tsa-root {args.tsa_root} holds no PEM certificate") from None
    try:
        results = verify_pdf(data, trust.signing, tsa_roots=tsa_roots, at=at)
    except (PadesError, PdfSignatureInvalid) as exc:
        if args.json:
            print(json.dumps({**head, "valid": False, "reason": str(exc)}, ensure_ascii=False, indent=2))
        else:
            print(f"INVALID: {exc}")
        return 1
    summaries = [{
        "field": r.field, "signer": r.name, "serial": f"{r.signer.certificate.serial_number:X}",
        "root": r.signer.root.label, "root_origin": r.signer.root.origin, "coverage": r.coverage,
        "signing_time": r.signing_time.isoformat() if r.signing_time else None,
        "timestamp": r.timestamp.isoformat() if r.timestamp else None,
        "timestamp_trusted": r.timestamp_trusted,
        "level": "B-T" if r.timestamp else "B-B",
    } for r in results]
    if args.json:
        print(json.dumps({**head, "valid": True, "signatures": summaries}, ensure_ascii=False, indent=2))
        return 0
    for s in summaries:
        print(f"VALID: {s['field']} signed by {s['signer']} (PAdES {s['level']}, covers the {s['coverage']}), "
              f"certificate serial {s['serial']}, root {s['root']}"
              + (" (mynacard TEST authority, not J-LIS)" if s["root_origin"] == "test" else ""))
        if s["timestamp"]:
            print(f"  timestamp: {s['timestamp']} " + ("(TSA trusted)" if s["timestamp_trusted"]
                                                     else "(TSA not verified: give --tsa-root PEM)"))
        elif s["signing_time"]:
            print(f"  signing time (claimed by the signer): {s['signing_time']}")
    return 0


def _read_file(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the {what} {path} ({exc.strerror})") from exc


def _application(args: argparse.Namespace) -> ApplicationForm:
    from mynacard.host.clerk import ApplicationForm, ApplicationFormError

    try:
        base = ApplicationForm.from_file(args.application) if args.application else ApplicationForm()
    except ApplicationFormError as exc:
        raise UsageError(str(exc)) from exc
    overrides = {f: getattr(args, f) for f in ("my_number", "name", "address", "birth", "sex")
                 if getattr(args, f) is not None}
    return ApplicationForm(**{**base.given(), **overrides})


def _secrets(args: argparse.Namespace) -> ClerkSecrets:
    """Environment first; prompts only for 照合番号B (unless A replaces it) and what was asked."""
    from mynacard.host.clerk import ClerkSecrets
    from mynacard.host.pins import TEXT_CODE_A, TEXT_PIN, VISUAL_CODE_B

    code_a = read_secret(TEXT_CODE_A) if (args.with_code_a or os.environ.get(TEXT_CODE_A.env)) else None
    text_pin = read_secret(TEXT_PIN) if (args.with_text_pin or os.environ.get(TEXT_PIN.env)) else None
    code_b = None
    if os.environ.get(VISUAL_CODE_B.env) or code_a is None:
        code_b = read_secret(VISUAL_CODE_B)
    return ClerkSecrets(code_b=code_b, code_a=code_a, text_pin=text_pin)


# --- commands ------------------------------------------------------------------------------------


def _check(args: argparse.Namespace) -> int:
    from mynacard.host.clerk import run_clerk_check

    application = _application(args)
    if not application.given():
        raise UsageError("give the application: --application FILE.json or --my-number/--name/"
                         "--address/--birth/--sex")
    secrets = _secrets(args)
    trust, revocation = _trust(args), _revocation(args)
    with open_card(args) as card:
        report = run_clerk_check(card, application, secrets, trust=trust, revocation=revocation)
    photo_path = None
    if args.photo is not None and report.photo_png is not None:
        from mynacard.files import write_atomically

        try:  # the holder's face: 0600 from creation, renamed into place
            write_atomically(args.photo, report.photo_png, 0o600)
        except OSError as exc:
            raise UsageError(f"cannot write the photo to {args.photo} ({exc.strerror})") from exc
        photo_path = str(args.photo)
    if args.json:
        print(json.dumps(report.as_dict(show_my_number=args.show_my_number, photo_path=photo_path),
                         ensure_ascii=False, indent=2))
    else:
        print(report.render(show_my_number=args.show_my_number, photo_path=photo_path))
    return 0 if report.passed else 1


def _pades_options(args: argparse.Namespace):  # noqa: ANN202 - PadesOptions (pyHanko is imported late)
    """The PAdES options, checked before the card is touched; None for CMS."""
    pades_only = [flag for flag, value in (("--timestamp-url", args.timestamp_url), ("--visible", args.visible),
                                           ("--font", args.font), ("--reason", args.reason),
                                           ("--location", args.location)) if value is not None]
    if not args.pades:
        if pades_only:
            raise UsageError(f"{', '.join(pades_only)} go(es) with --pades")
        return None
    try:
        from mynacard.host.pades import PadesOptions, VisibleField
    except ImportError as exc:
        raise UsageError(f"--pades needs pyHanko: pip install 'mynacard[pdf]' ({exc})") from None
    if args.timestamp_url and not args.timestamp_url.startswith(("http://", "https://")):
        raise UsageError(f"--timestamp-url {args.timestamp_url} is not an http(s) URL")
    try:
        visible = VisibleField.parse(args.visible) if args.visible else None
    except ValueError as exc:
        raise UsageError(f"--visible: {exc}") from None
    return PadesOptions(timestamp_url=args.timestamp_url, visible=visible, font=args.font,
                        reason=args.reason, location=args.location)


def _sign(args: argparse.Namespace) -> int:
    from cryptography import x509

    from mynacard.host.jpki import Key
    from mynacard.host.pins import SIGN_PASSWORD
    from mynacard.host.verify import CertificateInvalid, verify_certificate

    pades = _pades_options(args)
    data = _read_file(args.file, "file to sign")
    if pades is not None:
        from mynacard.host.pades import PadesError, check_signable

        out = args.out or args.file.with_name(args.file.stem + "-signed.pdf")
        try:
            check_signable(data, pades)  # a bad PDF, page or font costs no password try
        except PadesError as exc:
            raise UsageError(f"{args.file}: {exc}") from None
    else:
        out = args.out or args.file.with_name(args.file.name + ".p7s")
    trust = _trust(args)
    warning = _trust_warning(trust)
    if warning:
        print(warning, file=sys.stderr)
    password = read_secret(SIGN_PASSWORD)
    with open_card(args) as card:
        card.jpki.verify_signing_password(password)
        der = card.jpki.signing_certificate()
        try:
            certificate = x509.load_der_x509_certificate(der)
        except ValueError:
            print("mynacard: the signing certificate on the card is not a DER certificate; not signing",
                  file=sys.stderr)
            return 1
        try:
            verified = verify_certificate(certificate, trust.signing)
        except CertificateInvalid as exc:
            print(f"mynacard: not signing: the card's signing certificate does not verify: {exc}",
                  file=sys.stderr)
            return 1

        def card_signs(digest_info: bytes) -> bytes:
            return card.jpki.compute_signature(digest_info, key=Key.SIGN)

        if pades is None:
            from mynacard.host.signing import sign_detached

            result = sign_detached(data, certificate, card_signs)
        else:
            from mynacard.host.pades import PadesError, sign_pdf

            if pades.timestamp_url:
                print(f"asking {pades.timestamp_url} for the signature timestamp (PAdES B-T)", flush=True)
            try:
                result = sign_pdf(data, certificate, [verified.issuer], card_signs, pades)
            except PadesError as exc:
                print(f"mynacard: not signed: {exc}", file=sys.stderr)
                return 1
    _write_atomically(out, result, "the signed PDF" if pades else "the signature")
    what = f"PAdES {pades.level}" if pades else "CMS"
    print(f"signed {args.file} -> {out} ({what}, certificate serial {certificate.serial_number:X}, "
          f"root {verified.root.label})")
    return 0


def _write_atomically(path: Path, data: bytes, what: str) -> None:
    """Write, then rename: a crash leaves the old file or none, never half a signature."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"cannot write {what} to {path} ({exc.strerror})") from exc


def _verify(args: argparse.Namespace) -> int:
    from mynacard.host.revocation import CertificateRevoked, RevocationUnknown
    from mynacard.host.signing import SignatureInvalid, signer_personal_data, verify_detached
    from mynacard.host.verify import CertificateInvalid

    at = _at(args)
    trust = _trust(args)
    warning = _trust_warning(trust)
    if warning and not args.json:
        print(warning)
    head: dict[str, object] = {"notice": warning, "test_authority_trusted": trust.test_authority_trusted}
    if args.signature is None:
        return _verify_pdf(args, at, trust, head)
    data = _read_file(args.file, "signed file")
    signature = _read_file(args.signature, "signature")
    try:
        results = verify_detached(data, signature, trust.signing, at=at, revocation=_revocation(args))
    except (SignatureInvalid, CertificateInvalid, CertificateRevoked, RevocationUnknown) as exc:
        if args.json:
            print(json.dumps({**head, "valid": False, "reason": str(exc)}, ensure_ascii=False, indent=2))
        else:
            print(f"INVALID: {exc}")
        return 1
    summaries: list[dict[str, Any]] = []  # JSON
    for result in results:
        cert = result.signer.certificate
        summaries.append({
            "signer": signer_personal_data(cert),
            "serial": f"{cert.serial_number:X}",
            "root": result.signer.root.label,
            "root_origin": result.signer.root.origin,
            "digest": result.digest_algorithm,
            "signing_time": result.signing_time.isoformat() if result.signing_time else None,
            "revocation": [f"{r.method} {r.source}" for r in result.revocation] or None,
        })
    if args.json:
        print(json.dumps({**head, "valid": True, "signers": summaries}, ensure_ascii=False, indent=2))
        return 0
    for s in summaries:
        signer = s["signer"]
        who = signer.get("name", "(no name in the certificate)") if isinstance(signer, dict) else None
        print(f"VALID: signed by {who}, certificate serial {s['serial']}, root {s['root']}"
              + (" (mynacard TEST authority, not J-LIS)" if s["root_origin"] == "test" else ""))
        if s["signing_time"]:
            print(f"  signing time (claimed by the signer): {s['signing_time']}")
        print("  revocation: " + ("good per " + ", ".join(s["revocation"]) if s["revocation"]
                                  else "not checked (give --ocsp URL or --crl FILE)"))
    return 0
