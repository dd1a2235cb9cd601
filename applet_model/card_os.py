"""The card OS: one small interpreter for every AP table (CI §2–§4, §10, §11).

Layered as PersoSim's kernel is: decode the APDU (apdu.py), check the class byte (logical channel,
secure messaging), dispatch on INS, check the command's own parameters, then the security
condition of the file or key, then act. Every refusal is a `CommandRefused` carrying its status word;
`process` turns it into the response. Only `PowerLost` (a simulated torn write) escapes, because a
card that loses power answers nothing.

Choices where card-interface.md is silent are marked "(our choice)" and listed in
docs/card-model.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from mynacard.applet_model import rsa_sign
from mynacard.applet_model.access import Access
from mynacard.applet_model.apdu import CommandAPDU, MalformedAPDU
from mynacard.applet_model.aps import APPLICATIONS
from mynacard.applet_model.errors import CommandRefused, PowerLost
from mynacard.applet_model.files import (
    ApplicationDecl,
    KeyDecl,
    KeyUse,
    OpaqueEF,
    RecordEF,
    TransparentEF,
)
from mynacard.applet_model.image import CardImage
from mynacard.applet_model.secrets import CHANGE_KEY, CHANGE_REFERENCE_DATA, PinReference, SecretDecl
from mynacard.applet_model.secure_messaging import SmSession
from mynacard.applet_model.state import CardState, secret_key
from mynacard.applet_model.store import CardStore
from mynacard.applet_model.sw import SW

#: The GlobalPlatform ISD: selecting it restores the power-on (MF) state (CI §2, §5).
ISD_AID = bytes.fromhex("A0000001510000")
#: The MF's one selectable EF; READ on it answers 6981 (CI §4).
MF_INTERNAL_EF = OpaqueEF(0x001E, "MF internal EF")

CLA_ISO = 0x00
CLA_PROPRIETARY = 0x80

Selected: TypeAlias = TransparentEF | RecordEF | OpaqueEF | SecretDecl | KeyDecl


class CardOS:
    """Session state (selected DF/EF, verified secrets) over a card image and its stored state."""

    def __init__(self, image: CardImage, store: CardStore, state: CardState,
                 random_bytes: Callable[[int], bytes]) -> None:
        self.image = image
        self.profile = image.profile
        self.store = store
        self.state = state
        self._random = random_bytes
        #: APs in the order partial-name selection considers them (ascending AID).
        self._by_aid = sorted(APPLICATIONS.values(), key=lambda ap: ap.aid)
        self._contents = {name: {ef.fid: app.files.get(ef.fid, b"").ljust(ef.size, b"\xff")
                                 for ef in APPLICATIONS[name].files if isinstance(ef, TransparentEF)}
                          for name, app in image.applications.items()}
        self.current_app: ApplicationDecl | None = None
        self.current_ef: Selected | None = None
        self.verified: set[str] = set()
        #: The secure-messaging session of the current AP (CI §11): RAM, gone with the security status.
        self.sm: SmSession | None = None
        self._handlers: dict[int, tuple[int, Callable[[CommandAPDU], bytes]]] = {
            0xA4: (CLA_ISO, self._select),
            0xB0: (CLA_ISO, self._read_binary),
            0xB2: (CLA_ISO, self._read_record),
            0x20: (CLA_ISO, self._verify),
            0x24: (CLA_ISO, self._change_reference_data),
            0x84: (CLA_ISO, self._get_challenge),
            0x88: (CLA_ISO, self._internal_authenticate),
            0xCA: (CLA_ISO, self._get_data),
            0xC0: (CLA_ISO, self._get_response),
            0x2A: (CLA_PROPRIETARY, self._compute_signature),
            0x32: (CLA_PROPRIETARY, self._change_key),
            0xAE: (CLA_PROPRIETARY, self._set_session_key),
            0xA2: (CLA_PROPRIETARY, self._set_public_ic_key),
            0xFC: (CLA_PROPRIETARY, self._last_command),
        }

    # -- session -------------------------------------------------------------------------------

    def reset_session(self) -> None:
        """Power on, power off, warm reset, ISD select: back to the MF, nothing verified."""
        self.current_app = None
        self.current_ef = None
        self.verified.clear()
        self.sm = None

    def process(self, raw: bytes) -> bytes:
        """One C-APDU in, one R-APDU out; the card always answers."""
        try:
            command = CommandAPDU.parse(raw)
        except MalformedAPDU:
            return SW.WRONG_LENGTH.to_bytes(2, "big")
        try:
            data = self._dispatch(command)
        except CommandRefused as exc:
            return exc.sw.to_bytes(2, "big")
        except PowerLost:
            raise
        except Exception:  # noqa: BLE001 - a card never goes silent on a bug: 6F00
            return SW.NO_PRECISE_DIAGNOSIS.to_bytes(2, "big")
        return data + b"\x90\x00"

    def _dispatch(self, cmd: CommandAPDU) -> bytes:
        cla = cmd.cla
        if cla == 0xFF:  # a reader pseudo-APDU (FF CA …) that the reader did not intercept
            raise CommandRefused(SW.CLA_NOT_SUPPORTED)
        if cla & 0x40 or cla & 0x03:
            raise CommandRefused(SW.LOGICAL_CHANNEL_NOT_SUPPORTED)  # only channel 0, CI §1
        if cla & 0x0C:
            return self._secure(cmd)
        if cla & 0x10:
            raise CommandRefused(SW.CHAINING_NOT_SUPPORTED)
        entry = self._handlers.get(cmd.ins)
        if entry is None:
            raise CommandRefused(SW.INS_NOT_SUPPORTED)
        expected_cla, handler = entry
        if cla & 0xF0 != expected_cla:
            raise CommandRefused(SW.CLA_NOT_SUPPORTED)
        return handler(cmd)

    # -- SELECT (CI §2, §4, §5) ----------------------------------------------------------------

    def _select(self, cmd: CommandAPDU) -> bytes:
        if cmd.p1 == 0x04:
            if cmd.p2 not in (0x0C, 0x00):  # no FCI either way (CI §2); others (our choice) 6A86
                raise CommandRefused(SW.INCORRECT_P1_P2)
            if not 1 <= len(cmd.data) <= 16:
                raise CommandRefused(SW.WRONG_LENGTH)
            if cmd.data == ISD_AID:
                self.reset_session()
                return b""
            app = self._find_application(cmd.data)
            if app is not self.current_app or self.profile.reselect_same_ap == "clears":
                # A DF change always clears; a re-SELECT of the same AP per profile (CI §4, §12).
                self.verified.clear()
                self.sm = None  # the SM session goes with the security status (CI §11, MC sm.rs)
            self.current_app, self.current_ef = app, None
            return b""
        if cmd.p1 == 0x02:
            if cmd.p2 != 0x0C:
                raise CommandRefused(SW.INCORRECT_P1_P2)
            if len(cmd.data) != 2:
                raise CommandRefused(SW.WRONG_LENGTH)
            self.current_ef = self._lookup(int.from_bytes(cmd.data, "big"))
            return b""
        if cmd.p1 == 0x00:  # select MF: 6A86 after reset, 9000 without effect in an AP (CI §2)
            if self.current_app is None:
                raise CommandRefused(SW.INCORRECT_P1_P2)
            return b""
        raise CommandRefused(SW.INCORRECT_P1_P2)

    def _find_application(self, aid: bytes) -> ApplicationDecl:
        for app in self._by_aid:
            if app.aid == aid:
                return app
        for app in self._by_aid:  # partial name, first occurrence (JICSAP, CI §2)
            if app.aid.startswith(aid):
                return app
        raise CommandRefused(SW.FILE_NOT_FOUND)

    def _lookup(self, fid: int) -> Selected:
        if self.current_app is None:
            if fid == MF_INTERNAL_EF.fid:
                return MF_INTERNAL_EF
            raise CommandRefused(SW.FILE_NOT_FOUND)
        found = self.current_app.lookup(fid)
        if found is None:
            raise CommandRefused(SW.FILE_NOT_FOUND)
        return found

    def _by_short_id(self, sfi: int) -> Selected:
        if not 1 <= sfi <= 0x1E:
            raise CommandRefused(SW.INCORRECT_P1_P2)
        return self._lookup(sfi)

    # -- reading (CI §2, §4) -------------------------------------------------------------------

    def _read_binary(self, cmd: CommandAPDU) -> bytes:
        if cmd.data or cmd.ne is None:
            raise CommandRefused(SW.WRONG_LENGTH)
        if cmd.p1 & 0x80:
            if cmd.p1 & 0x60:
                raise CommandRefused(SW.INCORRECT_P1_P2)
            ef = self.current_ef = self._by_short_id(cmd.p1 & 0x1F)
            offset = cmd.p2
        else:
            ef = self._current_ef()
            offset = cmd.p1p2 & 0x7FFF
        if isinstance(ef, OpaqueEF) and ef is not MF_INTERNAL_EF:
            self._check(ef.read)
        if not isinstance(ef, TransparentEF):
            raise CommandRefused(SW.INCOMPATIBLE_FILE_STRUCTURE)
        self._check(ef.read)
        content = self._contents[self._app.name][ef.fid]
        if offset >= len(content):
            raise CommandRefused(SW.WRONG_OFFSET)
        return content[offset:offset + cmd.ne]

    def _read_record(self, cmd: CommandAPDU) -> bytes:
        if cmd.data or cmd.ne is None:
            raise CommandRefused(SW.WRONG_LENGTH)
        if cmd.p2 & 0x07 != 0x04:  # only "record number in P1"; multi-record reads: 6A81 (CI §3)
            raise CommandRefused(SW.FUNCTION_NOT_SUPPORTED)
        sfi = cmd.p2 >> 3
        if sfi == 0:
            ef = self._current_ef()
        else:
            ef = self.current_ef = self._by_short_id(sfi)
        if not isinstance(ef, RecordEF):
            raise CommandRefused(SW.INCOMPATIBLE_FILE_STRUCTURE)
        self._check(ef.read)
        records = self.image.applications[self._app.name].records[ef.fid]
        if not 1 <= cmd.p1 <= len(records):
            raise CommandRefused(SW.RECORD_NOT_FOUND)
        return records[cmd.p1 - 1][:cmd.ne]

    @property
    def _app(self) -> ApplicationDecl:
        """The selected AP, for commands that reach it only through one of its EFs or secrets."""
        if self.current_app is None:
            raise CommandRefused(SW.NO_PRECISE_DIAGNOSIS, "no AP is selected")
        return self.current_app

    def _current_ef(self) -> Selected:
        if self.current_ef is None:
            raise CommandRefused(SW.COMMAND_NOT_ALLOWED)
        return self.current_ef

    def _check(self, access: Access) -> None:
        if not access.allows(self.verified):
            raise CommandRefused(SW.SECURITY_STATUS_NOT_SATISFIED)

    # -- secrets (CI §2, §3, §6.1, §7.1, §8, §9) -------------------------------------------------

    def _secret(self, p2: int) -> SecretDecl:
        """The secret named by P2: 80 = the current EF, 80|SFI = by short identifier."""
        if p2 & 0x80 == 0 or p2 & 0x60:
            raise CommandRefused(SW.INCORRECT_P1_P2)
        target = self._current_ef() if p2 == 0x80 else self._by_short_id(p2 & 0x1F)
        if not isinstance(target, SecretDecl):
            raise CommandRefused(SW.REFERENCED_DATA_NOT_FOUND)
        return target

    def _reference(self, secret: SecretDecl) -> PinReference | None:
        key = secret_key(self._app.name, secret.name)
        changed = self.state.changed.get(key)
        if changed is not None:
            return changed
        return self.image.applications[self._app.name].pins.get(secret.name)

    def _save(self, state: CardState) -> None:
        """Write the state through the store, then adopt it (a torn write leaves the old one).

        Only called inside `store.transaction()`, with `self.state` just re-read under its lock:
        what is written is what is stored now plus this command's change, never an older copy.
        """
        self.store.save_state(state)
        self.state = state

    def _verify(self, cmd: CommandAPDU) -> bytes:
        if cmd.p1 != 0x00:
            raise CommandRefused(SW.INCORRECT_P1_P2)
        secret = self._secret(cmd.p2)
        key = secret_key(self._app.name, secret.name)
        if not cmd.data:  # the query: tries left, never consuming one (CI §2, §3)
            if secret.name in self.verified and self.profile.verify_query_after_success == "ok":
                return b""
            self.state = self.store.load_state()  # another process may have spent tries since
            raise CommandRefused(SW.tries_left(self.state.tries[key]))
        # One chip, one counter: the counter is re-read under the store's lock, and the try is
        # spent and stored before the value is even compared (DESIGN.md).
        with self.store.transaction() as current:
            self.state = current
            tries = current.tries[key]
            if tries == 0:
                raise CommandRefused(SW.AUTHENTICATION_METHOD_BLOCKED)
            spent = current.copy()
            spent.tries[key] = tries - 1
            self._save(spent)
            reference = self._reference(secret)
            if reference is not None and reference.matches(cmd.data):
                restored = spent.copy()
                restored.tries[key] = secret.max_tries
                self._save(restored)
                self.verified.add(secret.name)
                return b""
        self.verified.discard(secret.name)  # a wrong value also ends an earlier verification (our choice)
        raise CommandRefused(SW.tries_left(tries - 1))

    def _change(self, cmd: CommandAPDU, ins: int) -> bytes:
        secret = self._secret(cmd.p2)
        if secret.change_ins != ins:
            raise CommandRefused(SW.COMMAND_NOT_ALLOWED)  # not changeable this way (our choice)
        if secret.name not in self.verified:
            raise CommandRefused(SW.SECURITY_STATUS_NOT_SATISFIED)
        if not cmd.data:
            raise CommandRefused(SW.WRONG_LENGTH)
        if not secret.format.accepts(cmd.data):
            raise CommandRefused(SW.INCORRECT_DATA)  # (our choice) the new value breaks the format
        reference = PinReference.create(cmd.data)
        with self.store.transaction() as current:  # keeps counters another process spent
            changed = current.copy()
            changed.changed[secret_key(self._app.name, secret.name)] = reference
            self._save(changed)
        return b""

    def _change_reference_data(self, cmd: CommandAPDU) -> bytes:
        if cmd.p1 != 0x01:  # only "new value after a VERIFY" is used on this card (CI §2)
            raise CommandRefused(SW.INCORRECT_P1_P2)
        return self._change(cmd, CHANGE_REFERENCE_DATA)

    def _change_key(self, cmd: CommandAPDU) -> bytes:
        if cmd.p1 != 0x00:
            raise CommandRefused(SW.INCORRECT_P1_P2)
        return self._change(cmd, CHANGE_KEY)

    # -- keys (CI §6.2, §7.1, §8.1, §9) --------------------------------------------------------

    def _key(self, p2: int) -> KeyDecl:
        """The key named by P2: 00 = the AP's default key, 80 = the current EF, 80|SFI."""
        if p2 == 0x00:
            if self.current_app is None or self.current_app.default_key is None:
                raise CommandRefused(SW.REFERENCED_DATA_NOT_FOUND)
            return self.current_app.key(self.current_app.default_key)
        if p2 & 0x80 == 0 or p2 & 0x60:
            raise CommandRefused(SW.INCORRECT_P1_P2)
        target = self._current_ef() if p2 == 0x80 else self._by_short_id(p2 & 0x1F)
        if not isinstance(target, KeyDecl):
            raise CommandRefused(SW.REFERENCED_DATA_NOT_FOUND)
        return target

    def _private_key(self, key: KeyDecl):  # noqa: ANN202 - an RSAPrivateKey
        return self.image.applications[self._app.name].keys[key.name]

    def _compute_signature(self, cmd: CommandAPDU) -> bytes:
        if cmd.p1 not in rsa_sign.SCHEMES:
            raise CommandRefused(SW.INCORRECT_P1_P2)
        key = self._key(cmd.p2)
        if key.use is not KeyUse.SIGN:
            raise CommandRefused(SW.CONDITIONS_OF_USE_NOT_SATISFIED)
        self._check(key.access)
        if not cmd.data:
            raise CommandRefused(SW.WRONG_LENGTH)
        signature = rsa_sign.sign(self._private_key(key), cmd.p1, cmd.data)
        if cmd.ne is not None and cmd.ne < len(signature):
            raise CommandRefused(SW.WRONG_LENGTH)
        return signature

    def _internal_authenticate(self, cmd: CommandAPDU) -> bytes:
        if cmd.p1 != 0x00:
            raise CommandRefused(SW.INCORRECT_P1_P2)
        key = self._key(cmd.p2)
        if key.use is not KeyUse.INTERNAL_AUTHENTICATE:
            raise CommandRefused(SW.CONDITIONS_OF_USE_NOT_SATISFIED)  # e.g. the 券面 keys (CI §3)
        self._check(key.access)
        if not 1 <= len(cmd.data) <= 255:
            raise CommandRefused(SW.WRONG_LENGTH)
        return self._private_key(key).sign(cmd.data, padding.PKCS1v15(), hashes.SHA256())

    # -- the rest of CI §2 ---------------------------------------------------------------------

    def _get_challenge(self, cmd: CommandAPDU) -> bytes:
        if cmd.p1p2 != 0:
            raise CommandRefused(SW.INCORRECT_P1_P2)
        if cmd.data or cmd.ne is None:
            raise CommandRefused(SW.WRONG_LENGTH)
        if cmd.extended:
            raise CommandRefused(SW.CONDITIONS_OF_USE_NOT_SATISFIED)  # CI §1
        return self._random(cmd.ne)

    def _get_data(self, cmd: CommandAPDU) -> bytes:
        if cmd.data or cmd.ne is None:
            raise CommandRefused(SW.WRONG_LENGTH)
        tag = cmd.p1p2
        at_mf = self.current_app is None
        if tag == 0x5F51 and at_mf == (self.profile.atr_object_at == "mf"):
            value = self.profile.contact_atr[1:]  # stored without TS (CI §1)
        elif at_mf and tag in self.image.mf_objects and (tag != 0x7F21 or self.profile.mf_7f21):
            value = self.image.mf_objects[tag]
        else:
            raise CommandRefused(SW.REFERENCED_DATA_NOT_FOUND)
        if len(value) > cmd.ne:  # large objects need extended Le (CI §1)
            raise CommandRefused(SW.WRONG_LENGTH)
        return value

    def _get_response(self, cmd: CommandAPDU) -> bytes:
        raise CommandRefused(SW.CONDITIONS_OF_USE_NOT_SATISFIED)  # the card never answers 61xx (CI §2)

    # -- secure messaging (CI §11) ---------------------------------------------------------------

    def _set_session_key(self, cmd: CommandAPDU) -> bytes:
        app = self.current_app
        if app is None:
            raise CommandRefused(SW.SECURITY_STATUS_NOT_SATISFIED)
        decl = app.secure_messaging
        if decl is None:
            raise CommandRefused(app.set_session_key_sw)
        self._check(decl.opened_by)  # 6982 before the PIN, also after 照合番号A (MC sm.rs)
        if cmd.p1p2 != 0:
            raise CommandRefused(SW.INCORRECT_P1_P2)  # (our choice)
        # A refused delivery leaves an earlier session as it was (our choice).
        self.sm = SmSession.open(self._private_key(app.key(decl.key)), cmd.data)
        return b""

    def _secure(self, cmd: CommandAPDU) -> bytes:
        """An SM command (CLA 08/0C): unwrap, run the plain command, wrap its answer."""
        decl = self.current_app.secure_messaging if self.current_app is not None else None
        session = self.sm
        if decl is None or session is None:
            # No SM here (CI §11 "other APs"), or no session (never opened, or destroyed by 6988).
            if decl is None and cmd.ins == 0xA4:
                raise CommandRefused(SW.SM_NOT_SUPPORTED)
            raise CommandRefused(SW.SM_SESSION_INVALID)
        if cmd.cla & 0x0C == 0x0C:
            session.counter += 1
            raise CommandRefused(SW.SM_DATA_OBJECTS_MISSING)  # no MAC key: confidentiality only (CI §11)
        obj = decl.commands.get(cmd.ins)
        if obj is None or cmd.cla & 0xF0 != CLA_ISO:
            session.counter += 1
            raise CommandRefused(SW.SM_NOT_SUPPORTED)  # (our choice) a command the AP serves only in clear
        try:
            plain, counter = session.unwrap(cmd, obj)
        except ValueError as exc:  # wrong counter, padding or object: the session is destroyed
            self.sm = None
            raise CommandRefused(SW.SM_DATA_OBJECTS_INCORRECT) from exc
        data = self._handlers[plain.ins][1](plain)
        wrapped = session.wrap(counter, data)
        if (cmd.ne is None and wrapped) or (cmd.ne is not None and len(wrapped) > cmd.ne):
            raise CommandRefused(SW.WRONG_LENGTH)  # the answer does not fit the Le of the SM command
        return wrapped

    def _set_public_ic_key(self, cmd: CommandAPDU) -> bytes:
        raise CommandRefused(SW.INCORRECT_P1_P2)  # unusable without a terminal certificate (CI §2)

    def _last_command(self, cmd: CommandAPDU) -> bytes:
        raise CommandRefused(SW.WRONG_LENGTH)  # 80 FC: the iPhone token's command; cards 6700 (CI §2)
