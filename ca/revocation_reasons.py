"""RFC 5280 §5.3.1 CRLReason names and codes, as the API, the CRL and OCSP use them.

`certificateHold` is the JPKI 一時停止 (temporary suspension, jpki-system.md §2.1): the only reason
that can be undone (`release`). Code 7 is unused in RFC 5280; `removeFromCRL` (8) belongs to delta
CRLs and is never a reason a caller gives.
"""

from __future__ import annotations

REASON_CODES: dict[str, int] = {
    "unspecified": 0,
    "keyCompromise": 1,
    "cACompromise": 2,
    "affiliationChanged": 3,
    "superseded": 4,
    "cessationOfOperation": 5,
    "certificateHold": 6,
    "privilegeWithdrawn": 9,
    "aACompromise": 10,
}
HOLD = "certificateHold"
#: Reasons a revocation request may name (hold has its own call; cA/aA compromise are not end-entity reasons).
REVOCATION_REASONS = tuple(r for r in REASON_CODES if r not in (HOLD, "cACompromise", "aACompromise"))
