"""ca: the test authority the card needs (jpki-system.md §1, card-interface.md §7.3).

- `jpki_ca`: the JPKI signing and user-authentication CAs and their end-entity profiles.
- `cv`: card-verifiable (`7F21`) certificates and the keys that sign the 券面 APs' records.
- `authority`: the project's one test authority, committed as package data under
  `test_authority/` (INSECURE TEST KEYS) so every card made anywhere chains to the same roots.
- `issuer`: who certifies a new card's keys (the test authority in process, or a CA service).

The CA service (`mynacard serve` at `/ca`, docs/ca-service.md): `identity` (which keys sign,
OCSP signers), `store`/`store_schema`/`migrations` (every certificate and change), `service`
(issuance, status changes), `crl`, `ocsp_responder`, `status_http`, `http` (the API), `client`
(`CaClient`), `backup`, `commands` (`mynacard ca …`), `runtime` (one process's wiring).

Everything here is clearly not J-LIS: names say `JPKI-TEST (mynacard)`, CV key IDs start with 9.
"""
