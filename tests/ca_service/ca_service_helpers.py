"""Helpers of the CA service tests: issue a certificate with demo facts, write PEM files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.ca.client import CaClient


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def issue_sign(client: CaClient, key: rsa.RSAPrivateKey, **extra: str) -> dict[str, object]:
    return client.issue_sign(
        public_key_pem=public_pem(key),
        person={"name": "見本\u3000花子", "sex": "2", "birth_date": "1985-04-12", "address": "東京都清瀬市中里1-2-3"},
        locality={"prefecture": "Tokyo", "city": "Kiyose-shi"},
        municipality_code="13221",
        card_expiry=date(2034, 4, 12),
        **extra,  # type: ignore[arg-type]
    )


def issue_auth(client: CaClient, key: rsa.RSAPrivateKey) -> dict[str, object]:
    return client.issue_auth(
        public_key_pem=public_pem(key), birth_date=date(1985, 4, 12),
        locality={"prefecture": "Tokyo", "city": "Kiyose-shi"}, municipality_code="13221",
        card_expiry=date(2034, 4, 12),
    )


def write_pem(path: Path, pem: str) -> Path:
    path.write_text(pem)
    return path
