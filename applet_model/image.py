"""The card image: everything personalisation puts on a card, as a versioned, human-readable
directory (docs/card-image.md).

```
card.json        manifest: format + version, profile, MF objects, per AP: EF contents (inline hex
                 or a file with its size and SHA-256), key files, secret reference data
files/*.bin|der  EF contents too large to read inline
keys/*.pem       the card's private keys (PKCS#8)
state.json       retry counters and changed secrets (`state.py`), written on every change
```

This module only converts between `CardImage` and a mapping of file names to bytes; the store
(`store.py`) does the I/O. Loading checks everything the card will rely on — every EF the AP tables
require, sizes, sizes and hashes of external files, key and reference formats — so a damaged image
is refused with a sentence naming the file and the problem instead of giving a half-working card.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.applet_model.aps import APPLICATIONS
from mynacard.applet_model.errors import ImageError
from mynacard.applet_model.files import ApplicationDecl, RecordEF, TransparentEF
from mynacard.applet_model.key_pairs import (
    CERTIFICATES,
    CV_CERTIFICATES,
    check_certificate,
    check_cv_certificate,
)
from mynacard.applet_model.profiles import BEHAVIOURS, PROFILES, Profile
from mynacard.applet_model.secrets import PinReference

FORMAT = "mynacard-card-image"
VERSION = 1
MANIFEST = "card.json"

#: MF data objects the card may hold (CI §10); 5F51 is derived from the profile's contact ATR.
MF_OBJECT_TAGS = frozenset({0x0042, 0x0045, 0x0066, 0x00F0, 0x00F2, 0x00F7, 0x00F8, 0x7F21})

#: Contents up to this size are written inline in card.json as hex, larger ones as files.
INLINE_LIMIT = 64


@dataclass
class ApplicationImage:
    """What personalisation wrote into one AP (names per docs/architecture.md)."""

    files: dict[int, bytes] = field(default_factory=dict)
    records: dict[int, list[bytes]] = field(default_factory=dict)
    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    pins: dict[str, PinReference] = field(default_factory=dict)


@dataclass
class CardImage:
    profile: Profile
    applications: dict[str, ApplicationImage]
    mf_objects: dict[int, bytes] = field(default_factory=dict)
    #: Free text for people (who made the card, when, for whom); never secrets.
    metadata: dict[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        """Raise ImageError unless every AP table finds what it needs, and nothing else is there."""
        unknown = set(self.applications) - set(APPLICATIONS)
        if unknown:
            raise ImageError(f"unknown application(s) {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(APPLICATIONS)}")
        for name, decl in APPLICATIONS.items():
            app = self.applications.get(name)
            if app is None:
                raise ImageError(f"the image has no {decl.title}; every My Number Card has all five APs")
            _validate_application(decl, app)
        for tag in self.mf_objects:
            if tag not in MF_OBJECT_TAGS:
                raise ImageError(f"MF data object {tag:04X} is not one the card holds (CI §10)")
        if not 2 <= len(self.profile.atr) <= 33:
            raise ImageError(f"profile {self.profile.name}: an ATR of {len(self.profile.atr)} bytes is impossible")
        self._validate_key_pairs()

    def _validate_key_pairs(self) -> None:
        """Every private key belongs to the certificate the image holds for it (key_pairs.py)."""
        for (app, key_name), (cert_app, fid) in CERTIFICATES.items():
            check_certificate(self.applications[app].keys[key_name],
                              self.applications[cert_app].files.get(fid, b""),
                              f"the private key {_key_file(app, key_name)}", _ef_file(cert_app, fid))
        for (app, key_name), tag in CV_CERTIFICATES.items():
            check_cv_certificate(self.applications[app].keys[key_name], self.mf_objects.get(tag, b""),
                                 f"the private key {_key_file(app, key_name)}", _ef_file("mf", tag))

    # -- serialisation -------------------------------------------------------------------------

    def to_files(self) -> dict[str, bytes]:
        """The image as file name → content, `card.json` included."""
        self.validate()
        out: dict[str, bytes] = {}

        def content(path: str, data: bytes) -> dict[str, object]:
            if len(data) <= INLINE_LIMIT:
                return {"hex": data.hex().upper()}
            out[path] = data
            return {"file": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}

        apps: dict[str, object] = {}
        for name, app in self.applications.items():
            decl = APPLICATIONS[name]
            keys = {}
            for key_name, key in sorted(app.keys.items()):
                pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
                path = _key_file(name, key_name)
                out[path] = pem
                keys[key_name] = {"file": path, "sha256": hashlib.sha256(pem).hexdigest()}
            apps[name] = {
                "aid": decl.aid.hex().upper(),
                "title": decl.title,
                "files": {f"{fid:04X}": content(_ef_file(name, fid), data)
                          for fid, data in sorted(app.files.items())},
                "records": {f"{fid:04X}": [content(f"files/{name}-{fid:04X}-{i + 1}.bin", r)
                                           for i, r in enumerate(recs)]
                            for fid, recs in sorted(app.records.items())},
                "keys": keys,
                "secrets": {n: ref.to_text() for n, ref in sorted(app.pins.items())},
            }
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "profile": _profile_to_json(self.profile),
            "metadata": dict(self.metadata),
            "mf": {f"{tag:04X}": content(_ef_file("mf", tag), data)
                   for tag, data in sorted(self.mf_objects.items())},
            "applications": apps,
        }
        out[MANIFEST] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        return out

    @classmethod
    def from_files(cls, read: Callable[[str], bytes]) -> CardImage:
        """Load an image through `read(name)`, which raises FileNotFoundError for absent files."""
        manifest = _load_manifest(read)
        loader = _Loader(read)
        try:
            profile = _profile_from_json(manifest.get("profile"))
            metadata = manifest.get("metadata", {})
            if not isinstance(metadata, dict):
                raise ImageError("card.json: 'metadata' must be an object")
            mf = {_fid(tag, "MF object"): loader.content(v, f"MF object {tag}")
                  for tag, v in _obj(manifest, "mf", "card.json").items()}
            apps: dict[str, ApplicationImage] = {}
            for name, entry in _obj(manifest, "applications", "card.json").items():
                where = f"card.json: application {name!r}"
                if not isinstance(entry, dict):
                    raise ImageError(f"{where} must be an object")
                app = ApplicationImage()
                for fid, v in _obj(entry, "files", where).items():
                    app.files[_fid(fid, f"{name} EF")] = loader.content(v, f"{name} EF {fid}")
                for fid, recs in _obj(entry, "records", where).items():
                    if not isinstance(recs, list):
                        raise ImageError(f"{where}: records of EF {fid} must be a list")
                    app.records[_fid(fid, f"{name} EF")] = [
                        loader.content(r, f"{name} EF {fid} record {i + 1}") for i, r in enumerate(recs)]
                for key_name, v in _obj(entry, "keys", where).items():
                    app.keys[key_name] = loader.key(v, f"{name} key {key_name!r}")
                for secret, text in _obj(entry, "secrets", where).items():
                    try:
                        app.pins[secret] = PinReference.from_text(text)
                    except (ValueError, TypeError) as exc:
                        raise ImageError(f"{where}: reference data of {secret!r} is unreadable ({exc})") from None
                apps[name] = app
        except ImageError:
            raise
        except (TypeError, AttributeError, KeyError) as exc:
            raise ImageError(f"card.json does not have the structure of a {FORMAT} v{VERSION} "
                             f"({type(exc).__name__}: {exc})") from None
        image = cls(profile, apps, mf, {str(k): str(v) for k, v in metadata.items()})
        image.validate()
        return image


def _key_file(app: str, key: str) -> str:
    """How the image names a key file (to_files), so a message points at the file to look at."""
    return f"keys/{app}-{key}.pem"


def _ef_file(app: str, fid: int) -> str:
    """How the image names an EF's content (`files/jpki-000A.bin`), inline or not."""
    return f"files/{app}-{fid:04X}.bin"


def _validate_application(decl: ApplicationDecl, app: ApplicationImage) -> None:
    where = decl.title
    for fid, data in app.files.items():
        ef = decl.lookup(fid)
        if not isinstance(ef, TransparentEF):
            raise ImageError(f"{where}: the image has content for EF {fid:04X}, which is not a "
                             "transparent EF of this AP")
        if len(data) > ef.size:
            raise ImageError(f"{where} EF {fid:04X} ({ef.name}): {len(data)} bytes do not fit the "
                             f"{ef.size}-byte EF")
    for fid in app.records:
        if not isinstance(decl.lookup(fid), RecordEF):
            raise ImageError(f"{where}: the image has records for EF {fid:04X}, which is not a record EF")
    for ef in decl.files:
        if isinstance(ef, TransparentEF) and ef.required and ef.fid not in app.files:
            raise ImageError(f"{where} EF {ef.fid:04X} ({ef.name}) has no content in the image")
        if isinstance(ef, RecordEF) and not app.records.get(ef.fid):
            raise ImageError(f"{where} EF {ef.fid:04X} ({ef.name}) has no records in the image")
    declared_keys = {k.name for k in decl.keys}
    if set(app.keys) != declared_keys:
        raise ImageError(f"{where}: keys in the image ({', '.join(sorted(app.keys)) or 'none'}) are not "
                         f"the AP's keys ({', '.join(sorted(declared_keys)) or 'none'})")
    for name, key in app.keys.items():
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size != 2048:
            raise ImageError(f"{where}: key {name!r} must be an RSA-2048 private key")
    needed = {s.name for s in decl.secrets if not s.blocked_from_issue}
    if set(app.pins) != needed:
        raise ImageError(f"{where}: reference data in the image ({', '.join(sorted(app.pins)) or 'none'}) "
                         f"is not for the AP's secrets ({', '.join(sorted(needed))})")


def _load_manifest(read: Callable[[str], bytes]) -> dict[str, Any]:
    try:
        raw = read(MANIFEST)
    except FileNotFoundError:
        raise ImageError("card.json is missing: this is not a card image directory "
                         "(create one with `mynacard card new DIR`)") from None
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ImageError("card.json is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ImageError(f"card.json is not valid JSON ({exc.msg} at line {exc.lineno} "
                         f"column {exc.colno}); it may be truncated") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ImageError(f"card.json is not a {FORMAT} manifest")
    version = manifest.get("version")
    if version != VERSION:
        raise ImageError(f"card.json has format version {version!r}; this mynacard reads version {VERSION}")
    return manifest


class _Loader:
    """Reads external files named by the manifest and checks them against their size and hash."""

    def __init__(self, read: Callable[[str], bytes]) -> None:
        self._read = read

    def _file(self, entry: Mapping[str, Any], what: str, *, sized: bool = True) -> bytes:
        """The file `entry` names, checked against its SHA-256 and (for EF contents) its size.

        Both are required: without them an edited or replaced file would load silently. Key
        entries carry only the hash (never written with a size; the hash fixes it anyway).
        """
        path = entry.get("file")
        if not isinstance(path, str) or "/" not in path or ".." in path.split("/") or path.startswith("/"):
            raise ImageError(f"{what}: {path!r} is not a file inside the image directory")
        size = entry.get("size")
        if sized and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            raise ImageError(f"card.json gives no valid size for {path} ({what}); every file's size and "
                             "SHA-256 are required so that an edited file cannot load unnoticed")
        digest = entry.get("sha256")
        if not isinstance(digest, str) or len(digest) != 64 or digest.strip("0123456789abcdef"):
            raise ImageError(f"card.json gives no valid SHA-256 for {path} ({what}); every file's "
                             "SHA-256 is required so that an edited file cannot load unnoticed")
        try:
            data = self._read(path)
        except FileNotFoundError:
            raise ImageError(f"{path} ({what}) is missing from the image") from None
        if sized and size != len(data):
            raise ImageError(f"{path} ({what}) has {len(data)} bytes where card.json says {size}: "
                             "the file is truncated or was replaced")
        if hashlib.sha256(data).hexdigest() != digest:
            raise ImageError(f"{path} ({what}) does not match its SHA-256 in card.json: the file is "
                             "corrupt or was edited without re-writing the image")
        return data

    def content(self, entry: object, what: str) -> bytes:
        if not isinstance(entry, dict):
            raise ImageError(f"card.json: {what} must be an object with 'hex' or 'file'")
        if "hex" in entry:
            try:
                return bytes.fromhex(entry["hex"])
            except (ValueError, TypeError):
                raise ImageError(f"card.json: {what} is not valid hex") from None
        return self._file(entry, what)

    def key(self, entry: object, what: str) -> rsa.RSAPrivateKey:
        if not isinstance(entry, dict):
            raise ImageError(f"card.json: {what} must be an object with 'file'")
        pem = self._file(entry, what, sized=False)
        try:
            # The key was checked when the image was written and its SHA-256 was just compared, so
            # the slow RSA consistency check (~50 ms a key) would only delay every insertion.
            key = serialization.load_pem_private_key(pem, password=None, unsafe_skip_rsa_key_validation=True)
        except (ValueError, TypeError):
            raise ImageError(f"{entry.get('file')} ({what}) is not an unencrypted PEM private key") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ImageError(f"{entry.get('file')} ({what}) is not an RSA key")
        return key


def _obj(parent: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = parent.get(key, {})
    if not isinstance(value, dict):
        raise ImageError(f"{where}: {key!r} must be an object")
    return value


def _fid(text: object, what: str) -> int:
    if not isinstance(text, str) or len(text) != 4:
        raise ImageError(f"card.json: {what} identifier {text!r} is not 4 hex digits")
    try:
        return int(text, 16)
    except ValueError:
        raise ImageError(f"card.json: {what} identifier {text!r} is not 4 hex digits") from None


def _profile_to_json(profile: Profile) -> dict[str, object]:
    return {
        "name": profile.name,
        "interface": profile.interface,
        "atr": profile.atr.hex().upper(),
        "contact_atr": profile.contact_atr.hex().upper(),
        **{b.field: getattr(profile, b.field) for b in BEHAVIOURS.values()},
    }


def _profile_from_json(entry: object) -> Profile:
    if not isinstance(entry, dict):
        raise ImageError("card.json: 'profile' must be an object")
    base = PROFILES.get(entry.get("name", ""))
    try:
        atr = bytes.fromhex(entry["atr"]) if "atr" in entry else None
        contact_atr = bytes.fromhex(entry["contact_atr"]) if "contact_atr" in entry else None
    except (ValueError, TypeError):
        raise ImageError("card.json: the profile's ATR is not valid hex") from None
    if base is None and atr is None:
        raise ImageError(f"card.json: unknown profile {entry.get('name')!r} and no ATR given; "
                         f"known profiles: {', '.join(PROFILES)}")
    profile = base or Profile(str(entry.get("name", "custom")), atr, str(entry.get("interface", "contact")))  # type: ignore[arg-type]
    options: dict[str, object] = {}
    if atr is not None:
        options["atr"] = atr
    if contact_atr is not None:
        options["contact_atr"] = contact_atr
    for behaviour in BEHAVIOURS.values():  # absent keys (older images) keep the default
        if behaviour.field in entry:
            allowed = behaviour.settings()
            if entry[behaviour.field] not in allowed or isinstance(entry[behaviour.field], bool) != isinstance(allowed[0], bool):
                raise ImageError(f"card.json: profile option {behaviour.field} must be one of "
                                 f"{', '.join(json.dumps(a) for a in allowed)}")
            options[behaviour.field] = entry[behaviour.field]
    if "interface" in entry:
        if entry["interface"] not in ("contact", "contactless"):
            raise ImageError("card.json: profile interface must be 'contact' or 'contactless'")
        options["interface"] = entry["interface"]
    return profile.with_options(**options)
