"""Observations: the behaviours public sources disagree on (CI §12). These cases never pass or
fail: each reports which side the card took (`OBSERVED reselect=keeps`), in the words of the
emulator's `--behaviour KEY=VALUE`, so one run on a real card settles the question and tells which
option makes the emulator behave like that card. `mynacard conformance diff` highlights an
observation that differs between two runs.

Each is read-only: a secret is verified only with the supplied value, and only at its maximum
count (as every case of this catalogue does), and nothing is changed.
"""

from __future__ import annotations

from mynacard.codec.digest_info import of_message
from mynacard.conformance import apdus
from mynacard.conformance.card_map import AUTH_PIN, EF_AUTH_CERT, EF_AUTH_KEY, JPKI, TEXT, TEXT_PIN
from mynacard.conformance.catalogue.registry import case
from mynacard.conformance.checks import DataError, certificate, rsa_public_key, verifies_pkcs1_sha256
from mynacard.conformance.context import CaseContext
from mynacard.conformance.model import OTHER, Profile, Secret
from mynacard.host.sw import is_tries_left

MESSAGE = b"mynacard conformance: signed after a re-SELECT of the JPKI AP"
#: EF 0002 of the text AP: the 基本4情報 (CI §7.2).
EF_TEXT_FOUR_FACTS = 0x0002


def _side(sw: int, *, kept: int = 0x9000) -> str:
    """`reselect` from the status word of the command that needs the verified PIN."""
    if sw == kept:
        return "keeps"
    if sw == 0x6982:
        return "clears"
    return OTHER


@case("OBS-RESELECT-001", "Re-SELECT of the JPKI AP between VERIFY and COMPUTE DIGITAL SIGNATURE",
      refs=["§12/reselect", "§4/status-cleared-select", "§13/B", "§3/6982"], profiles=[Profile.JPKI],
      needs=[Secret.AUTH_PIN], observes="reselect")
def reselect_jpki(t: CaseContext) -> None:
    """
    1. SELECT JPKI, read the auth certificate (EF 000A) for its key.
    2. SELECT EF 0018, VERIFY the auth PIN → 9000.
    3. SELECT JPKI again (the AP already selected), SELECT EF 0017, `80 2A 00 80` with a SHA-256
       DigestInfo.
    4. Observed: 9000 with a signature that verifies under the certificate's key → `keeps` (PYJ's
       flow works); 6982 → `clears` (OpenSC's logout works); anything else → `other`.
    """
    t.select(JPKI)
    try:
        key = rsa_public_key(certificate(t.read_object(EF_AUTH_CERT, "auth certificate (EF 000A)"), "EF 000A"), "EF 000A")
    except DataError as exc:
        t.fail(str(exc))
    t.select_ef(AUTH_PIN.fid)
    t.verify(AUTH_PIN, select=False)
    t.select(JPKI)
    t.select_ef(EF_AUTH_KEY)
    response = t.send(apdus.compute_signature(of_message("sha256", MESSAGE)), "sign after re-SELECTing JPKI")
    side = _side(response.sw)
    if side == "keeps" and not verifies_pkcs1_sha256(key, response.data, MESSAGE):
        t.observe(OTHER, "9000, but the signature does not verify under the auth certificate's key")
        return
    t.observe(side, f"COMPUTE DIGITAL SIGNATURE after re-SELECT answered {response.sw:04X}"
              + (" with a signature that verifies" if side == "keeps" else ""))


@case("OBS-RESELECT-002", "Re-SELECT of the 券面事項入力補助AP between VERIFY and READ BINARY",
      refs=["§12/reselect", "§4/status-cleared-select", "§13/D", "§3/6982"], profiles=[Profile.TEXT],
      needs=[Secret.TEXT_PIN], observes="reselect")
def reselect_text(t: CaseContext) -> None:
    """
    1. SELECT the 券面事項入力補助AP, SELECT EF 0011, VERIFY the PIN → 9000.
    2. SELECT the 券面事項入力補助AP again, SELECT EF 0002, READ BINARY `00 B0 00 00 07` (the
       header of the 基本4情報; the data is personal and kept out of the report).
    3. Observed: 9000 → `keeps`; 6982 → `clears`; anything else → `other`.
    """
    t.verify(TEXT_PIN)
    t.select(TEXT)
    t.select_ef(EF_TEXT_FOUR_FACTS)
    response = t.send(apdus.read_binary(0, 7), "READ BINARY EF 0002 after re-SELECTing the AP")
    t.observe(_side(response.sw), f"READ BINARY of EF 0002 after re-SELECT answered {response.sw:04X}")


@case("OBS-VERIFYQ-001", "The VERIFY query of a verified PIN: 63Cx or 9000",
      refs=["§12/verify-after-success", "§2/VERIFY-query", "§3/63Cx"], profiles=[Profile.JPKI],
      needs=[Secret.AUTH_PIN], observes="verify-query")
def verify_query(t: CaseContext) -> None:
    """
    1. SELECT JPKI, SELECT EF 0018, VERIFY the auth PIN → 9000.
    2. VERIFY query `00 20 00 80` (no data).
    3. Observed: 63Cx → `retries` (OpenSC #959); 9000 → `ok` (MC); anything else → `other`.
    """
    t.verify(AUTH_PIN)
    sw = t.send(apdus.verify(0x80), "VERIFY query after a correct VERIFY").sw
    side = "retries" if is_tries_left(sw) else "ok" if sw == 0x9000 else OTHER
    t.observe(side, f"the VERIFY query of the verified auth PIN answered {sw:04X}")


@case("OBS-ATR-001", "Where GET DATA 5F51 (the contact ATR) answers: at the MF or with an AP selected",
      refs=["§12/atr-object", "§10/5F51", "§1/T=1"], profiles=[Profile.MF, Profile.JPKI], observes="atr-object")
def atr_object(t: CaseContext) -> None:
    """
    1. Reset. GET DATA `00 CA 5F 51 00` at the MF.
    2. SELECT JPKI. GET DATA `00 CA 5F 51 00`.
    3. Observed: 9000 only at the MF → `mf`; only with JPKI selected → `ap`; both or neither →
       `other` (the detail says which).
    """
    at_mf = t.send(apdus.get_data(0x5F51), "GET DATA 5F51 at the MF").sw
    t.select(JPKI)
    in_ap = t.send(apdus.get_data(0x5F51), "GET DATA 5F51 with JPKI selected").sw
    side = {(True, False): "mf", (False, True): "ap"}.get((at_mf == 0x9000, in_ap == 0x9000), OTHER)
    t.observe(side, f"GET DATA 5F51 answered {at_mf:04X} at the MF and {in_ap:04X} with JPKI selected")


@case("OBS-7F21-001", "Whether the MF holds the CV-certificate object 7F21",
      refs=["§12/mf-7f21", "§10/7F21", "§3/6A88"], profiles=[Profile.MF], observes="mf-7f21")
def mf_7f21(t: CaseContext) -> None:
    """
    1. Reset. GET DATA `00 CA 7F 21 00` at the MF (short Le).
    2. Observed: 9000, or 6700 (the object exists but needs extended Le, CI §1) → `present`;
       6A88 → `absent`; anything else → `other`.
    """
    sw = t.send(apdus.get_data(0x7F21), "GET DATA 7F21 at the MF, short Le").sw
    side = "present" if sw in (0x9000, 0x6700) else "absent" if sw == 0x6A88 else OTHER
    t.observe(side, f"GET DATA 7F21 at the MF answered {sw:04X}")
