"""Deliberately wrong My Number Cards, to show that the conformance suite can fail.

Each wraps the real applet_model `Card` (tests may import applet_model; conformance/ may not) and
changes exactly one behaviour, in a way card-interface.md leaves no doubt about. The suite must
answer each with the case IDs listed in `EXPECTED_FAILURES` — and nothing else may fail.

The wrappers follow SELECT by AID/FID themselves (only exact AIDs and plain SELECT EF, which is
what the cases that exercise them send).
"""

from __future__ import annotations

from pathlib import Path

from mynacard.applet_model.card import Card
from mynacard.applet_model.store import DirectoryStore
from mynacard.emulator.inprocess import InProcessTransport

JPKI_AID = bytes.fromhex("D392F000260100000001")

#: The documented demo card's secrets (README; register_stub DEMO_PINS / DEMO_PERSON).
DEMO_SECRETS = {
    "auth-pin": "1234",
    "sign-password": "ABC123",
    "text-pin": "1234",
    "code-a": "123456789018",
    "code-b": "60041220362468",
    "birth-key": "600412",
    "common-pin": "1234",
    "juki-pin": "1234",
}

#: (AID, FID) of each demo key → its entry in DEMO_SECRETS.
DEMO_KEYS = {
    (JPKI_AID, 0x0018): "auth-pin",
    (JPKI_AID, 0x001B): "sign-password",
    (bytes.fromhex("D3921000310001010408"), 0x0011): "text-pin",
    (bytes.fromhex("D3921000310001010100"), 0x001C): "common-pin",
    (bytes.fromhex("D3921000310001010401"), 0x001C): "juki-pin",
}

#: A value no key of the demo card has (5 bytes of FF: not even a valid format).
NOBODYS_PIN = b"\xff" * 5


def _sw(response: bytes) -> int:
    return int.from_bytes(response[-2:], "big")


class WrappedCard:
    """A real card behind a wrapper that tracks the selection; subclasses override `deviate`."""

    def __init__(self, inner: Card) -> None:
        self.inner = inner
        self.aid: bytes | None = None
        self.fid: int | None = None

    @property
    def atr(self) -> bytes:
        return self.inner.atr

    def forget(self) -> None:
        """Power-up and reset: nothing selected (subclasses forget their own state too)."""
        self.aid = self.fid = None

    def power_up(self) -> None:
        self.forget()
        self.inner.power_up()

    def power_down(self) -> None:
        self.inner.power_down()

    def reset(self) -> None:
        self.forget()
        self.inner.reset()

    def execute(self, apdu: bytes) -> bytes:
        response = self.deviate(apdu)
        if len(apdu) >= 7 and apdu[:2] == b"\x00\xa4" and _sw(response) == 0x9000:
            data = apdu[5 : 5 + apdu[4]]
            if apdu[2] == 0x04:
                self.aid, self.fid = data, None
            elif apdu[2] == 0x02:
                self.fid = int.from_bytes(data, "big")
        return response

    def deviate(self, apdu: bytes) -> bytes:
        return self.inner.execute(apdu)

    # vsmartcard's SmartcardOS names, so that the emulator's vpcd slot can serve a deviant card
    def getATR(self) -> bytes:  # noqa: N802
        return self.atr

    powerUp = power_up  # noqa: N815
    powerDown = power_down  # noqa: N815


class QueryConsumesTry(WrappedCard):
    """The VERIFY query (no data) spends a try before it reports the count."""

    def deviate(self, apdu: bytes) -> bytes:
        if apdu[:2] == b"\x00\x20" and len(apdu) == 4:
            self.inner.execute(apdu + bytes((len(NOBODYS_PIN),)) + NOBODYS_PIN)
        return self.inner.execute(apdu)


class GivesTryBack(WrappedCard):
    """A wrong VERIFY costs nothing: the card puts the try back at once (here: the wrapper verifies
    the right demo value behind the client's back and selects the DF and EF again, which clears the
    security status it granted)."""

    def deviate(self, apdu: bytes) -> bytes:
        response = self.inner.execute(apdu)
        key = DEMO_KEYS.get((self.aid or b"", self.fid or 0))
        if apdu[:4] == bytes.fromhex("00200080") and len(apdu) > 5 and key and _sw(response) & 0xFFF0 == 0x63C0:
            value = DEMO_SECRETS[key].encode()
            self.inner.execute(bytes.fromhex("00200080") + bytes((len(value),)) + value)
            self.inner.execute(bytes.fromhex("00A4040C") + bytes((len(self.aid),)) + self.aid)  # type: ignore[arg-type]
            self.inner.execute(bytes.fromhex("00A4020C02") + (self.fid or 0).to_bytes(2, "big"))
            return self.inner.execute(apdu[:4])[-2:]
        return response


class NeverBlocks(WrappedCard):
    """The last try is never spent: a wrong value with one try left answers 63C1 and changes nothing."""

    def deviate(self, apdu: bytes) -> bytes:
        if apdu[:2] == b"\x00\x20" and len(apdu) > 5:
            query = self.inner.execute(apdu[:4])
            if _sw(query) == 0x63C1:
                trial = self.inner.execute(apdu)
                return trial if _sw(trial) == 0x9000 else query[-2:]
        return self.inner.execute(apdu)


class SigningCertificateFree(WrappedCard):
    """The signing certificate (JPKI EF 0001) reads without the signing password."""

    def deviate(self, apdu: bytes) -> bytes:
        response = self.inner.execute(apdu)
        reading_sign_cert = apdu[:2] == b"\x00\xb0" and self.aid == JPKI_AID and (
            apdu[2] == 0x81 or (not apdu[2] & 0x80 and self.fid == 0x0001))
        if reading_sign_cert and _sw(response) == 0x6982:
            password = DEMO_SECRETS["sign-password"].encode()
            self.inner.execute(bytes.fromhex("00A4020C02001B"))
            self.inner.execute(bytes.fromhex("0020008006") + password)
            self.inner.execute(bytes.fromhex("00A4020C020001"))
            response = self.inner.execute(apdu)
        return response


class SelectAlwaysOk(WrappedCard):
    """Every SELECT answers 9000, whether the AP or EF exists or not."""

    def deviate(self, apdu: bytes) -> bytes:
        response = self.inner.execute(apdu)
        if apdu[1:2] == b"\xa4" and _sw(response) != 0x9000:
            return b"\x90\x00"
        return response


class UnknownInsIsFileNotFound(WrappedCard):
    """An unknown INS answers 6A82 instead of 6D00."""

    def deviate(self, apdu: bytes) -> bytes:
        response = self.inner.execute(apdu)
        return b"\x6a\x82" if _sw(response) == 0x6D00 else response


class KeepsPinAcrossSelect(WrappedCard):
    """A verified auth PIN survives selecting another DF (the wrapper verifies it again silently)."""

    auth_verified = False

    def deviate(self, apdu: bytes) -> bytes:
        response = self.inner.execute(apdu)
        if apdu[:4] == bytes.fromhex("00200080") and len(apdu) > 5 and self.aid == JPKI_AID and self.fid == 0x0018:
            self.auth_verified = _sw(response) == 0x9000
        if apdu[:4] == bytes.fromhex("00A4040C") and apdu[5:15] == JPKI_AID and self.auth_verified:
            self.inner.execute(bytes.fromhex("00A4020C020018"))
            self.inner.execute(bytes.fromhex("0020008004") + DEMO_SECRETS["auth-pin"].encode())
        return response

    def forget(self) -> None:
        super().forget()
        self.auth_verified = False


class AcceptsReplayedCounter(WrappedCard):
    """Secure messaging (CI §11) that takes a replay: an SM command repeated byte for byte — the
    counter it carries already used — is accepted (the wrapper puts the card's counter back)."""

    last_sm: bytes | None = None

    def deviate(self, apdu: bytes) -> bytes:
        session = self.inner._os.sm
        if apdu[0] & 0x0C and session is not None and apdu == self.last_sm:
            session.counter -= 1
        if apdu[0] & 0x0C:
            self.last_sm = apdu
        return self.inner.execute(apdu)


class ReadBinaryIgnoresLe(WrappedCard):
    """READ BINARY answers up to 256 bytes whatever short Le the client sent (ISO 7816-4 §5.1: at
    most Ne bytes)."""

    def deviate(self, apdu: bytes) -> bytes:
        if apdu[:2] == b"\x00\xb0" and len(apdu) == 5:
            return self.inner.execute(apdu[:4] + b"\x00")
        return self.inner.execute(apdu)


class AcceptsAnySigningPassword(WrappedCard):
    """CHANGE REFERENCE DATA of the signing password answers 9000 to a 17-character value, outside
    the CI §6.1 format (the wrapper answers it without passing it on: nothing changes)."""

    def deviate(self, apdu: bytes) -> bytes:
        if apdu[:4] == bytes.fromhex("00240180") and self.fid == 0x001B and len(apdu) == 5 + 17:
            return b"\x90\x00"
        return self.inner.execute(apdu)


class SignsOnlyShortInput(WrappedCard):
    """COMPUTE DIGITAL SIGNATURE refuses 245 bytes, the longest input PKCS#1 v1.5 allows in RSA-2048."""

    def deviate(self, apdu: bytes) -> bytes:
        if apdu[:2] == b"\x80\x2a" and len(apdu) > 5 and apdu[4] == 245:
            return b"\x67\x00"
        return self.inner.execute(apdu)


class GetDataWantsOneMore(WrappedCard):
    """GET DATA answers 6700 when Le is exactly the object's length (an off-by-one in the Le check)."""

    def deviate(self, apdu: bytes) -> bytes:
        response = self.inner.execute(apdu)
        if apdu[:2] == b"\x00\xca" and len(apdu) == 5 and apdu[4] and len(response) - 2 == apdu[4]:
            return b"\x67\x00"
        return response


class SmCounterStallsOnRefusal(WrappedCard):
    """Secure messaging whose counter does not advance on a CLA 0C command it refuses (CI §11: N
    advances on every SM command, refused ones too)."""

    def deviate(self, apdu: bytes) -> bytes:
        response = self.inner.execute(apdu)
        session = self.inner._os.sm
        if apdu[0] & 0x0C == 0x0C and session is not None and response[-2:] == b"\x69\x87":
            session.counter -= 1
        return response


#: Each deviant card, the cases it must fail, and the cases to run (a subset keeps the test fast;
#: it always includes cases the card must still pass, to show the failure is specific).
EXPECTED_FAILURES: dict[type[WrappedCard], tuple[set[str], list[str]]] = {
    QueryConsumesTry: ({"JPKI-PIN-001", "TEXT-PIN-001", "FLOW-F-001"},
                       ["JPKI-PIN-001", "TEXT-PIN-001", "FLOW-F-001", "JPKI-CERT-001"]),
    GivesTryBack: ({"JPKI-PIN-003", "COM-PIN-003"}, ["JPKI-PIN-003", "COM-PIN-003", "JPKI-PIN-001"]),
    NeverBlocks: ({"JPKI-PIN-007", "TEXT-PIN-007"}, ["JPKI-PIN-007", "TEXT-PIN-007", "JPKI-PIN-003"]),
    SigningCertificateFree: ({"JPKI-CERT-003"}, ["JPKI-CERT-003", "JPKI-CERT-004", "JPKI-CERT-001"]),
    SelectAlwaysOk: ({"CORE-SEL-002", "CORE-SEL-004", "JPKI-EF-001", "CORE-MF-001", "MF-FS-001"},
                     ["CORE-SEL-002", "CORE-SEL-004", "JPKI-EF-001", "CORE-MF-001", "MF-FS-001", "CORE-SEL-001"]),
    UnknownInsIsFileNotFound: ({"CORE-INS-001"}, ["CORE-INS-001", "CORE-SEL-002"]),
    KeepsPinAcrossSelect: ({"JPKI-STATE-001"}, ["JPKI-STATE-001", "JPKI-STATE-002"]),
    AcceptsReplayedCounter: ({"SM-SESS-004"}, ["SM-SESS-004", "SM-SESS-001", "SM-SESS-006"]),
    ReadBinaryIgnoresLe: ({"NEG-LEN-001", "JPKI-READ-001"}, ["NEG-LEN-001", "JPKI-READ-001", "JPKI-READ-002"]),
    AcceptsAnySigningPassword: ({"NEG-CHG-002"}, ["NEG-CHG-002", "JPKI-SIG-012"]),
    SignsOnlyShortInput: ({"NEG-SIG-001"}, ["NEG-SIG-001", "JPKI-SIG-001", "JPKI-SIG-009"]),
    GetDataWantsOneMore: ({"NEG-LEN-004"}, ["NEG-LEN-004", "MF-DATA-004", "MF-DATA-006"]),
    SmCounterStallsOnRefusal: ({"NEG-SM-001"}, ["NEG-SM-001", "SM-SESS-002", "SM-SESS-006"]),
}


def deviant_transport(kind: type[WrappedCard], card_dir: Path) -> InProcessTransport:
    card = kind(Card.open(DirectoryStore(card_dir)))
    return InProcessTransport(card, name=f"emulator:{kind.__name__}")
