"""The declarations an AP table is made of: EFs, keys, and the AP itself.

An AP is data (DESIGN.md, "The card model"): its AID, its EFs with their sizes and access
conditions, its secrets and its keys. `card_os` interprets any such table; `aps/` holds the five
tables of the real card.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from mynacard.applet_model.access import FREE, NEVER, Access
from mynacard.applet_model.secrets import SecretDecl
from mynacard.applet_model.secure_messaging import SecureMessagingDecl


@dataclass(frozen=True, slots=True)
class TransparentEF:
    """A fixed-size binary EF; content shorter than `size` is padded with `FF` (CI §4)."""

    fid: int
    name: str
    size: int
    read: Access = FREE
    #: False for EFs whose content no source knows: they are filled with FF when the image is silent.
    required: bool = True


@dataclass(frozen=True, slots=True)
class RecordEF:
    """A linear record EF read with READ RECORD (共通AP, 住基AP; CI §9)."""

    fid: int
    name: str
    read: Access = FREE


@dataclass(frozen=True, slots=True)
class OpaqueEF:
    """An EF that exists (SELECT answers 9000, JSA-DUMP's enumeration, CI §4) but whose content and
    purpose no public source knows; reading it is refused as a protected EF would be."""

    fid: int
    name: str = "unidentified"
    read: Access = NEVER


class KeyUse(Enum):
    SIGN = "COMPUTE DIGITAL SIGNATURE (80 2A)"
    INTERNAL_AUTHENTICATE = "INTERNAL AUTHENTICATE (00 88)"
    #: Decrypts the session key of SET SESSION KEY (80 AE), CI §11.
    KEY_TRANSPORT = "SET SESSION KEY (80 AE)"


@dataclass(frozen=True, slots=True)
class KeyDecl:
    """An RSA private key of the AP. `fid` None: reachable only as the AP's default key (P2 = 00)."""

    name: str
    label: str
    fid: int | None
    use: KeyUse
    access: Access = FREE


EF = TransparentEF | RecordEF | OpaqueEF


@dataclass(frozen=True)
class ApplicationDecl:
    """One AP (a DF selected by AID) as the card declares it."""

    name: str
    title: str
    aid: bytes
    files: tuple[EF, ...]
    secrets: tuple[SecretDecl, ...] = ()
    keys: tuple[KeyDecl, ...] = ()
    #: Key used by COMPUTE DIGITAL SIGNATURE with P2 = 00 (券面 APs, CI §7.1, §8.1).
    default_key: str | None = None
    #: Answer to SET SESSION KEY (80 AE) when nothing is configured for secure messaging (CI §11):
    #: 66F1 or 6982 by AP, so every AP states its own (no default to fall back on silently).
    set_session_key_sw: int = field(kw_only=True)
    #: The AP's secure messaging (CI §11); None: SM CLA answers 6882 on SELECT, 69FC otherwise.
    secure_messaging: SecureMessagingDecl | None = None
    _by_fid: dict[int, EF | SecretDecl | KeyDecl] = field(default_factory=dict, init=False, repr=False,
                                                          compare=False)

    def __post_init__(self) -> None:
        selectable: tuple[EF | SecretDecl | KeyDecl, ...] = (*self.files, *self.secrets, *self.keys)
        for obj in selectable:
            fid = obj.fid
            if fid is None:  # a key reachable only as the default key
                continue
            if fid in self._by_fid:
                raise ValueError(f"{self.name}: FID {fid:04X} declared twice")
            self._by_fid[fid] = obj

    def lookup(self, fid: int) -> EF | SecretDecl | KeyDecl | None:
        """The EF, secret or key with this FID (all are selectable, CI §4)."""
        return self._by_fid.get(fid)

    def key(self, name: str) -> KeyDecl:
        return next(k for k in self.keys if k.name == name)
