"""What a case can do: the verbs of the catalogue, and the run-wide session they share.

Cases are written against `CaseContext` only: `t.select(JPKI)`, `t.expect(apdu, label, sw)`,
`t.query(AUTH_PIN)`, `t.verify(AUTH_PIN)`. The context is where the safety rules live, so that no
case can break them by accident:

- a correct VERIFY in a read-only case is sent only when the counter is at its maximum (a correct
  VERIFY resets it, which would change the card);
- a supplied secret the card rejects has cost one try — a PIN cannot be checked without spending
  one — and is never sent again in the run: every later case needing it is SKIPPED with the
  reason, and the report names the wrong key of the secrets file and the tries left;
- a wrong VERIFY is refused in read-only cases, and the last try is never spent except by a case
  whose declared impact is BLOCKS.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import NoReturn

from mynacard.codec import tlv
from mynacard.conformance import apdus
from mynacard.conformance.card_map import Application, PinRef
from mynacard.conformance.model import ANSWER_OBSERVATION, OBSERVED_BEHAVIOURS, OTHER, Case, Impact, Observation, Profile, Secret
from mynacard.conformance.recorder import Recorder
from mynacard.conformance.robot import Robot
from mynacard.conformance.secrets import Secrets
from mynacard.host.apdu import Response
from mynacard.host.sw import describe, is_tries_left, tries_left
from mynacard.host.transport import Transport

SW_OK = 0x9000
#: The answer of VERIFY query on a secret verified in this session, where a card gives 9000 instead
#: of 63Cx (CI §3, §12); `query()` returns it in place of a count.
VERIFIED = -1


class CaseFailed(Exception):
    """The card did not do what the clause says. Carries the exchange for the report."""

    def __init__(self, message: str, *, command: str = "", expected: str = "", actual: str = "") -> None:
        super().__init__(message)
        self.command = command
        self.expected = expected
        self.actual = actual


class NotApplicable(Exception):
    """The clause does not apply to this card (e.g. a documented variant the card does not have)."""


class Skipped(Exception):
    """The case cannot run here: a secret or a robot is missing, or running it would change the card."""


@dataclass
class Session:
    """State shared by all cases of one run."""

    recorder: Recorder
    secrets: Secrets
    robot: Robot | None = None
    allow_destructive: bool = False
    profiles: set[Profile] = field(default_factory=set)
    #: Retry counters read at the start of the run, by PinRef.code (None: no 63Cx answer).
    counters_at_start: dict[str, int | None] = field(default_factory=dict)
    #: Secrets the card refused this run (never sent again), with the sentence the report shows.
    rejected: dict[Secret, str] = field(default_factory=dict)

    def max_tries(self, pin: PinRef) -> int | None:
        """Stated by a source, else by the secrets file, else assumed to be the count found at start."""
        if pin.max_tries is not None:
            return pin.max_tries
        if pin.secret is not None and pin.secret.value in self.secrets.max_tries:
            return self.secrets.max_tries[pin.secret.value]
        return self.counters_at_start.get(pin.code)

    def reject(self, pin: PinRef, sw: int) -> str:
        """Record that the card refused the supplied value for `pin`; returns the report's sentence."""
        assert pin.secret is not None
        secret = pin.secret
        if is_tries_left(sw):
            left = tries_left(sw)
            maximum = self.max_tries(pin)
            of = f" of {maximum}" if maximum is not None else ""
            state = f"which now has {left}{of} tries left" if left else "which is now BLOCKED (0 tries left)"
        else:
            state = "which is blocked" if sw == 0x6984 else "refusing it"
        sentence = (f"the secrets file's '{secret.value}' ({secret.label}) is wrong: the card answered "
                    f"{sw:04X} to it at {pin}, {state}; it was not sent again in this run")
        self.rejected.setdefault(secret, sentence)
        return sentence


class CaseContext:
    def __init__(self, session: Session, case: Case) -> None:
        self.session = session
        self.case = case
        self.notes: list[str] = []
        #: What an observation case saw (`observe`); the runner reports it instead of a verdict.
        self.observation: Observation | None = None

    # --- talking to the card ----------------------------------------------------------------

    def send(self, apdu: bytes, label: str) -> Response:
        """Send one APDU; the exchange is recorded (redacted) under `label`."""
        return self.session.recorder.exchange(apdu, label)

    def expect(
        self,
        apdu: bytes,
        label: str,
        sw: int | Collection[int] = SW_OK,
        *,
        variants: Mapping[int, str] | None = None,
    ) -> Response:
        """Send and require `sw` (or one of them). A documented variant passes with a note."""
        response = self.send(apdu, label)
        wanted = (sw,) if isinstance(sw, int) else tuple(sw)
        if response.sw in wanted:
            return response
        if variants and response.sw in variants:
            self.note(f"{label}: documented variant {describe(response.sw)} — {variants[response.sw]}")
            return response
        self.fail_sw(label, wanted, response.sw)

    def fail_sw(self, label: str, wanted: Collection[int], actual: int) -> NoReturn:
        """Fail on a status word: the report gets the (redacted) last command, expected and actual."""
        expected = " or ".join(describe(w) for w in wanted)
        command = self.session.recorder.log[-1].command if self.session.recorder.log else ""
        raise CaseFailed(f"{label}: expected {expected}, the card answered {describe(actual)}",
                         command=command, expected=expected, actual=f"{actual:04X}")

    def check(self, condition: bool, message: str) -> None:
        """Fail with `message` (a sentence saying what is wrong) unless `condition` holds."""
        if not condition:
            raise CaseFailed(message)

    def fail(self, message: str) -> NoReturn:
        raise CaseFailed(message)

    def note(self, text: str) -> None:
        """Something the report should show even when the case passes (a variant, a measurement)."""
        self.notes.append(text)

    def observe(self, value: str, detail: str) -> None:
        """Report the side of the case's CI §12 behaviour the card took (or OTHER), with the answer
        that shows it; an observation never passes or fails."""
        behaviour = self.case.observes
        if behaviour is None:
            raise RuntimeError(f"{self.case.id} is not an observation case")
        if value != OTHER and not behaviour.startswith(ANSWER_OBSERVATION) and \
                value not in OBSERVED_BEHAVIOURS[behaviour]:
            raise ValueError(f"{behaviour} has no side {value!r}")
        self.observation = Observation(behaviour, value, detail)

    def not_applicable(self, reason: str) -> NoReturn:
        raise NotApplicable(reason)

    def skip(self, reason: str) -> NoReturn:
        raise Skipped(reason)

    # --- navigation -------------------------------------------------------------------------

    def reset(self) -> None:
        """Warm reset: back to the power-on (MF) state with nothing verified."""
        self.session.recorder.reset()

    def power_cycle(self) -> None:
        """The card leaves the field and comes back (robot), then the transport reconnects."""
        robot = self.session.robot
        if robot is None:
            self.skip("needs a robot to remove and insert the card")
        started = time.perf_counter()
        robot.remove()
        robot.insert()
        _reconnect(self.session.recorder.transport)
        self.session.recorder.note_power_cycle(f"card removed and inserted by {robot.description}", started)

    def select(self, app: Application) -> None:
        self.expect(apdus.select_aid(app.aid), f"SELECT {app.name}")

    def select_ef(self, fid: int, sw: int | Collection[int] = SW_OK) -> Response:
        return self.expect(apdus.select_ef(fid), f"SELECT EF {fid:04X}", sw)

    def read_current(self, label: str, *, max_size: int = 0x8000) -> bytes:
        """The whole current EF in 256-byte chunks, until a short chunk or 6B00 at the end (CI §2)."""
        out = bytearray()
        while len(out) < max_size:
            response = self.send(apdus.read_binary(len(out), 256), f"{label}: READ BINARY at {len(out)}")
            if response.sw in (0x6B00, 0x6282) and out:
                break
            if response.sw != SW_OK:
                self.fail_sw(f"{label}: READ BINARY at {len(out)}", (SW_OK,), response.sw)
            out += response.data
            if len(response.data) < 256:
                break
        return bytes(out)

    def read_object(self, fid: int, label: str) -> bytes:
        """SELECT the EF, read its TLV header, then exactly the object (flow A, CI §13)."""
        self.select_ef(fid)
        head = self.expect(apdus.read_binary(0, 8), f"{label}: READ BINARY header").data
        try:
            size = tlv.total_size(head)
        except tlv.TlvError as exc:
            self.fail(f"{label}: the EF does not start with a TLV header ({exc})")
        out = bytearray(head[:size])
        while len(out) < size:
            chunk = min(256, size - len(out))
            data = self.expect(apdus.read_binary(len(out), chunk), f"{label}: READ BINARY at {len(out)}").data
            if not data:  # a card that answers 9000 with nothing would keep this loop going for ever
                self.fail(f"{label}: READ BINARY at {len(out)} answered 9000 without data")
            out += data
        if len(out) < size:
            self.fail(f"{label}: the object claims {size} bytes but the EF ended after {len(out)}")
        return bytes(out)

    # --- secrets ----------------------------------------------------------------------------

    def secret(self, secret: Secret) -> bytes:
        value = self.session.secrets.get(secret)
        if value is None:
            self.skip(f"needs the {secret.label} in the secrets file ('{secret.value}')")
        if secret in self.session.rejected:
            self.skip(f"the card rejected the secrets file's '{secret.value}' ({secret.label}) earlier in this "
                      "run; it is not sent again")
        return value

    def query(self, pin: PinRef, *, select: bool = True, by_sfi: bool = False, label: str = "") -> int:
        """VERIFY without data (CI §2): tries left, or VERIFIED where a card answers 9000 (CI §12).

        `by_sfi` names the EF in P2 (`00 20 00 80|SFI`) instead of using the current EF.
        """
        if select:
            self.select(pin.app)
            if not by_sfi:
                self.select_ef(pin.fid)
        p2 = pin.sfi_p2 if by_sfi else 0x80
        label = label or f"VERIFY query {pin}" + (f" (P2={p2:02X})" if by_sfi else "")
        response = self.send(apdus.verify(p2), label)
        if is_tries_left(response.sw):
            return tries_left(response.sw)
        if response.sw == SW_OK:
            return VERIFIED
        self.fail_sw(label, (0x63C0,), response.sw)

    def verify(self, pin: PinRef, *, select: bool = True, by_sfi: bool = False) -> None:
        """A correct VERIFY with the supplied secret, under the safety rules of this module."""
        assert pin.secret is not None, f"{pin} has no secret to verify"
        self.secret(pin.secret)  # SKIPPED before anything is sent if it is missing or was rejected
        tries = self.query(pin, select=select, by_sfi=by_sfi)
        if tries == 0:
            self.skip(f"{pin} is blocked on this card")
        maximum = self.session.max_tries(pin)
        if tries != VERIFIED and not self.session.allow_destructive and maximum is not None and tries < maximum:
            self.skip(f"{pin} has {tries} of {maximum} tries left and a correct VERIFY would reset the counter, "
                      "which a non-destructive run must not do; run with --allow-destructive")
        p2 = pin.sfi_p2 if by_sfi else 0x80
        self.verify_supplied(pin, f"VERIFY {pin} with the supplied value" + (f" (P2={p2:02X})" if by_sfi else ""),
                             p2=p2)

    def verify_supplied(self, pin: PinRef, label: str, *, p2: int = 0x80) -> Response:
        """VERIFY with the supplied value, the EF already selected. A rejection is recorded for
        the whole run (at most one try per wrong secret) and fails the case with the sentence."""
        assert pin.secret is not None, f"{pin} has no secret to verify"
        response = self.send(apdus.verify(p2, self.secret(pin.secret)), label)
        if response.sw == SW_OK:
            return response
        if is_tries_left(response.sw) or response.sw == 0x6984:
            raise CaseFailed(self.session.reject(pin, response.sw), command=self.session.recorder.log[-1].command,
                             expected="9000", actual=f"{response.sw:04X}")
        self.fail_sw(label, (SW_OK,), response.sw)

    def verify_wrong(self, pin: PinRef, label: str = "", *, select: bool = False) -> Response:
        """One VERIFY with a wrong value of the right format; spends a try (destructive cases only)."""
        if not self.case.impact.destructive:
            raise RuntimeError(f"{self.case.id} is read-only and must not send a wrong secret")
        tries = self.query(pin, select=select, label=f"VERIFY query {pin} (before a wrong value)")
        if tries == 1 and self.case.impact is not Impact.BLOCKS:
            self.skip(f"{pin} has one try left; spending it would block it, and {self.case.id} is not a blocking case")
        if tries == VERIFIED:
            # 9000 instead of a count (CI §12): the key is verified, so a correct VERIFY has just
            # restored its counter to the maximum — whether or not a re-SELECT would clear it.
            tries = self.session.max_tries(pin) or VERIFIED
        return self.send(apdus.verify(0x80, self.wrong_value(pin)), label or f"VERIFY {pin} with a wrong value")

    def wrong_value(self, pin: PinRef, shift: int = 1) -> bytes:
        """A value of the right format that differs from the supplied one in every position."""
        assert pin.secret is not None
        return shifted(self.secret(pin.secret), shift)


def _reconnect(transport: Transport, timeout: float = 10.0) -> None:
    """Reconnect after an insertion, until the card answers.

    A PC/SC stack sees a removal and an insertion only at its next poll (pcscd: 400 ms), so the
    first reconnect may still meet the old state ("removed", "protocol mismatch"). Reset and probe
    with `00 A4 00 00` (answered 6A86 at power-on, changes nothing) until both work.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            transport.reset()
            transport.transmit(apdus.select_mf())
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def shifted(value: bytes, shift: int) -> bytes:
    """Each digit +shift mod 10 and each letter +shift mod 26: same format, a different value.

    Keeping digits as digits and letters as letters keeps the signing password's rule (at least
    one letter and one digit, jpki-system.md §1.6), so the card judges the value, not its format.
    """
    out = bytearray()
    for b in value:
        if 0x30 <= b <= 0x39:
            out.append(0x30 + (b - 0x30 + shift) % 10)
        elif 0x41 <= b <= 0x5A:
            out.append(0x41 + (b - 0x41 + shift) % 26)
        else:
            out.append(b)
    return bytes(out)
