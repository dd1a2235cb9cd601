"""Steps that cases of several APs share, written once."""

from __future__ import annotations

from mynacard.codec.cv import key_id_shape_ok
from mynacard.conformance.card_map import Application
from mynacard.conformance.checks import DataError, cv_certificate
from mynacard.conformance.context import CaseContext


def check_cv_certificate_ef(t: CaseContext, ap: Application) -> None:
    """EF 0004 of a 券面 AP is a `7F21` card-verifiable certificate of the CI §7.3 shape.

    Only the shape: the CA keys that would verify its signature are not on the card.
    """
    t.select(ap)
    data = t.read_object(0x0004, "EF 0004 (CV certificate)")
    try:
        cert = cv_certificate(data, "EF 0004")
    except DataError as exc:
        t.fail(str(exc))
    t.check(data[:5] == bytes.fromhex("7F21820233"), "EF 0004 does not start with 7F 21 82 02 33")
    t.check(key_id_shape_ok(cert.issuer_key_id) and key_id_shape_ok(cert.subject_key_id),
            "a key ID in EF 0004 does not have the 7 digits + 2 bytes + 3 digits + 4 bytes shape")
