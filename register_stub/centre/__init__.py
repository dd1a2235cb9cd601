"""The 証明書交付センター (issuance centre) the kiosks talk to (jpki-system.md §6.1, docs/kiosk.md
"Centre API"; `mynacard serve` mounts it at `/centre`).

- `sessions`: single-use challenges and kiosk sessions (in memory: minutes long, lost on a
  restart, after which the kiosk simply starts again).
- `verify`: the card's auth-key signature over the challenge, the certificate's chain to the
  pinned auth root and its status by OCSP at the CA service (the register's portal checks).
- `eligibility`: the refusals of §6.2 from the register's record and the centre's restrictions.
- `offers`: the documents each municipality offers, with fees.
- `pdf`: the certificate as a PDF (Japanese layout, seal, けん制文字 background, QR).
- `ledger`: transactions bound to (transaction id, session, resident), and what was issued,
  which `GET /v1/verify/{code}` checks.
"""
