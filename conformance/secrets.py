"""The vendor's test secrets: read from a JSON or TOML file, checked, and never shown.

File format (docs/conformance.md): one key per secret, values as strings (a PIN written as a TOML
or JSON number would lose its leading zeros, so numbers are refused), and an optional table
`max-tries` for retry limits no public source states (照合番号A, the birth-date key)::

    auth-pin = "1234"
    sign-password = "ABC123"
    text-pin = "1234"
    code-a = "123456789018"      # 照合番号A = the My Number
    code-b = "55021720352285"    # 照合番号B
    birth-key = "550217"
    common-pin = "1234"
    juki-pin = "1234"

    [max-tries]
    code-a = 10

Every key is optional: a case whose secret is missing is SKIPPED with the reason. A value of the
wrong format is refused when the file is read, before any APDU could spend a try with it; the
error names the key, never the value.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from mynacard.conformance.model import Secret
from mynacard.errors import UserError

_FORMATS: dict[Secret, re.Pattern[str]] = {
    Secret.AUTH_PIN: re.compile(r"[0-9]{4}"),
    Secret.SIGN_PASSWORD: re.compile(r"[A-Z0-9]{6,16}"),
    Secret.TEXT_PIN: re.compile(r"[0-9]{4}"),
    Secret.CODE_A: re.compile(r"[0-9]{12}"),
    Secret.CODE_B: re.compile(r"[0-9]{14}"),
    Secret.BIRTH_KEY: re.compile(r"[0-9]{6}"),
    Secret.COMMON_PIN: re.compile(r"[0-9]{4}"),
    Secret.JUKI_PIN: re.compile(r"[0-9]{4}"),
}

MAX_TRIES_KEY = "max-tries"


class SecretsError(UserError, ValueError):
    """The secrets file cannot be used; the message names the file and key, never a value."""


class Secrets:
    """Secret values by `Secret`; repr and str never show them."""

    def __init__(self, values: dict[Secret, bytes] | None = None, max_tries: dict[str, int] | None = None) -> None:
        self._values = dict(values or {})
        self.max_tries = dict(max_tries or {})

    def get(self, secret: Secret) -> bytes | None:
        return self._values.get(secret)

    def has(self, secret: Secret) -> bool:
        return secret in self._values

    def names(self) -> list[str]:
        """Which secrets were supplied (for reports: names only)."""
        return [s.value for s in Secret if s in self._values]

    def __repr__(self) -> str:
        return f"Secrets(supplied={self.names()})"

    __str__ = __repr__

    @classmethod
    def from_mapping(cls, raw: object, source: str = "the secrets") -> Secrets:
        if not isinstance(raw, dict):
            raise SecretsError(f"{source} must be a table of secret names to values")
        known = {s.value: s for s in Secret}
        values: dict[Secret, bytes] = {}
        max_tries: dict[str, int] = {}
        for key, value in raw.items():
            if key == MAX_TRIES_KEY:
                max_tries = _max_tries(value, source, known)
                continue
            secret = known.get(key)
            if secret is None:
                raise SecretsError(
                    f"{source}: unknown key '{key}'; known keys are {', '.join(known)} and [{MAX_TRIES_KEY}]")
            if not isinstance(value, str):
                raise SecretsError(f"{source}: '{key}' must be a string in quotes (a number loses leading zeros)")
            if not _FORMATS[secret].fullmatch(value):
                raise SecretsError(f"{source}: '{key}' is not {secret.value_format}; fix the file before any try is spent")
            values[secret] = value.encode("ascii")
        return cls(values, max_tries)

    @classmethod
    def load(cls, path: Path | str) -> Secrets:
        """Read a `.toml` or `.json` file (by suffix; other suffixes are tried as TOML, then JSON)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SecretsError(f"cannot read the secrets file {path}: {exc.strerror}") from None
        source = f"secrets file {path}"
        suffix = path.suffix.lower()
        parsers = [_parse_json] if suffix == ".json" else [_parse_toml] if suffix == ".toml" else [_parse_toml, _parse_json]
        for parser in parsers:
            raw = parser(text)
            if raw is not None:
                return cls.from_mapping(raw, source)
        # The parser's own message may quote a line of the file, i.e. a secret: say only where to look.
        raise SecretsError(f"{source} is not valid {'/'.join(p.__name__[7:].upper() for p in parsers)}")


def _max_tries(value: object, source: str, known: dict[str, Secret]) -> dict[str, int]:
    if not isinstance(value, dict):
        raise SecretsError(f"{source}: [{MAX_TRIES_KEY}] must be a table of secret names to numbers")
    out: dict[str, int] = {}
    for key, tries in value.items():
        if key not in known:
            raise SecretsError(f"{source}: [{MAX_TRIES_KEY}] has unknown key '{key}'")
        if not isinstance(tries, int) or isinstance(tries, bool) or not 1 <= tries <= 15:
            raise SecretsError(f"{source}: [{MAX_TRIES_KEY}] {key} must be a number from 1 to 15")
        out[key] = tries
    return out


def _parse_toml(text: str) -> object | None:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None


def _parse_json(text: str) -> object | None:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None
