"""PINs, passwords and 照合番号: the same family of cases for every retry counter on the card
(CI §2 VERIFY / CHANGE, §3 63Cx 63C0 6984, §6.1, §7.1, §8, §9, §12).

Every key gets the same questions, each as its own case with its own ID (the table at the end):

  -01 the query answers 63Cx and never consumes a try (selected EF and SFI forms);
  -02 the supplied secret verifies, and the query after it answers 63Cx (9000 is a documented variant);
  -03 a wrong value costs exactly one try, the query shows it, a correct VERIFY restores the maximum;
  -04 CHANGE REFERENCE DATA / CHANGE KEY changes it, the old value stops working, and it is changed back;
  -05 a change without VERIFY is refused with 6982;
  -06 a spent try stays spent across removal from the field (robot);
  -07 wrong values until 63C0, then 6984 — also for the right value, also after a reset;
  -08 a blocked key stays blocked across removal from the field (robot).
"""

from __future__ import annotations

from mynacard.conformance import apdus
from mynacard.conformance.card_map import (
    AUTH_PIN,
    COMMON_PIN,
    JUKI_PIN,
    SIGN_PASSWORD,
    TEXT_BLOCKED,
    TEXT_CODE_A,
    TEXT_CODE_B,
    TEXT_PIN,
    VISUAL_BIRTH,
    VISUAL_CODE_A,
    VISUAL_CODE_B,
    PinRef,
)
from mynacard.conformance.catalogue.registry import case
from mynacard.conformance.context import VERIFIED, CaseContext, shifted
from mynacard.conformance.model import Impact, Profile

#: The clause that describes each key (CI §6.1, §7.1, §8, §9).
KEY_CLAUSE: dict[str, str] = {
    AUTH_PIN.code: "§6.1/0018",
    SIGN_PASSWORD.code: "§6.1/001B",
    TEXT_PIN.code: "§7.1/0011",
    TEXT_CODE_A.code: "§7.1/0014",
    TEXT_CODE_B.code: "§7.1/0015",
    VISUAL_BIRTH.code: "§8/0011",
    VISUAL_CODE_B.code: "§8/0012",
    VISUAL_CODE_A.code: "§8/0013",
    COMMON_PIN.code: "§9/common-001C",
    JUKI_PIN.code: "§9/juki-001C",
}

AFTER_SUCCESS_VARIANT = "the VERIFY query of a verified key answers 9000 on some cards (MC), 63Cx per OpenSC #959 (CI §12)"


def _expect_tries(t: CaseContext, response_sw: int, expected: int, label: str) -> None:
    if response_sw != 0x63C0 | expected:
        t.fail_sw(label, (0x63C0 | expected,), response_sw)


def _restore_by_verify(t: CaseContext, pin: PinRef) -> None:
    """A correct VERIFY after selecting the AP again: the counter goes back to its maximum."""
    t.select(pin.app)
    t.select_ef(pin.fid)
    t.verify_supplied(pin, f"VERIFY {pin} with the supplied value (restores the counter)")


def query_case(pin: PinRef, case_id: str) -> None:
    @case(case_id, f"{pin}: the VERIFY query answers 63Cx and never consumes a try",
          refs=["§2/VERIFY-query", "§2/VERIFY-SFI", "§3/63Cx", "§5/PINs", KEY_CLAUSE[pin.code]],
          profiles=[pin.app.profile],
          procedure=f"""
1. SELECT the {pin.app}, SELECT EF {pin.fid:04X}. VERIFY query `00 20 00 80` → 63Cx
   (x ≤ {pin.max_tries if pin.max_tries is not None else 15}).
2. VERIFY query twice more → the same 63Cx each time.
3. SELECT the {pin.app} again (no EF). VERIFY query by SFI `00 20 00 {pin.sfi_p2:02X}` → the same 63Cx.""")
    def run(t: CaseContext) -> None:
        first = t.query(pin)
        t.check(first != VERIFIED, f"the VERIFY query of {pin} right after SELECT answered 9000")
        if pin.max_tries is not None:
            t.check(first <= pin.max_tries, f"{pin} reports {first} tries left, more than its {pin.max_tries}")
        for again in (2, 3):
            tries = t.query(pin, select=False, label=f"VERIFY query {pin} (#{again})")
            t.check(tries == first, f"the VERIFY query #{again} of {pin} answered {tries}, the first {first}: the query consumed a try")
        tries = t.query(pin, by_sfi=True)
        t.check(tries == first, f"the VERIFY query of {pin} by SFI answered {tries}, by selected EF {first}")


def verify_case(pin: PinRef, case_id: str) -> None:
    @case(case_id, f"{pin}: the supplied value verifies; the query afterwards answers 63Cx (9000 tolerated)",
          refs=["§2/VERIFY", "§3/9000", "§12/verify-after-success", KEY_CLAUSE[pin.code]],
          profiles=[pin.app.profile], needs=[pin.secret],  # type: ignore[list-item]
          procedure=f"""
1. SELECT the {pin.app}, SELECT EF {pin.fid:04X}, VERIFY query → 63Cx (at its maximum, else SKIPPED
   in a non-destructive run). VERIFY `00 20 00 80 Lc <{pin.secret.label if pin.secret else ''}>` → 9000.
2. VERIFY query → 63C{pin.max_tries if pin.max_tries is not None else 'x'} (OpenSC #959) — or 9000, a
   documented variant (CI §12), noted in the report.""")
    def run(t: CaseContext) -> None:
        t.verify(pin)
        after = t.send(apdus.verify(0x80), f"VERIFY query {pin} after a correct VERIFY")
        if after.sw == 0x9000:
            t.note(f"VERIFY query after success: 9000 — {AFTER_SUCCESS_VARIANT}")
            return
        maximum = t.session.max_tries(pin)
        if maximum is not None:
            _expect_tries(t, after.sw, maximum, f"VERIFY query {pin} after a correct VERIFY")
        elif after.sw & 0xFFF0 != 0x63C0:
            t.fail_sw(f"VERIFY query {pin} after a correct VERIFY", (0x63C0, 0x9000), after.sw)


def wrong_case(pin: PinRef, case_id: str) -> None:
    @case(case_id, f"{pin}: a wrong value costs one try (63Cx−1) and a correct VERIFY restores the maximum",
          refs=["§3/63Cx", "§2/VERIFY-query", "§3/counter-reset", "§2/VERIFY", KEY_CLAUSE[pin.code]],
          profiles=[pin.app.profile], needs=[pin.secret], impact=Impact.SPENDS_TRY, touches=[pin],  # type: ignore[list-item]
          procedure=f"""
1. SELECT the {pin.app}, SELECT EF {pin.fid:04X}, VERIFY query → 63Cn (n ≥ 2, else SKIPPED).
2. VERIFY with a wrong value of the right format → 63C(n−1).
3. VERIFY query → 63C(n−1), twice (the query still consumes nothing).
4. VERIFY with the supplied value → 9000. Warm reset, SELECT the AP, SELECT EF, query →
   63C{pin.max_tries if pin.max_tries is not None else 'max'}: success resets the counter (CI §3).""")
    def run(t: CaseContext) -> None:
        n = t.query(pin)
        if n < 2:
            t.skip(f"{pin} has {n} tries left; this case needs at least 2")
        wrong = t.verify_wrong(pin)
        _expect_tries(t, wrong.sw, n - 1, f"VERIFY {pin} with a wrong value")
        for again in (1, 2):
            tries = t.query(pin, select=False, label=f"VERIFY query {pin} after the wrong value (#{again})")
            t.check(tries == n - 1, f"after one wrong value the query of {pin} answered {tries}, expected {n - 1}")
        _restore_by_verify(t, pin)
        t.reset()  # a re-SELECT may keep the key verified, and its query then answers 9000 (CI §12)
        after = t.query(pin)
        maximum = t.session.max_tries(pin)
        expected = maximum if maximum is not None else n
        t.check(after == expected, f"after a correct VERIFY {pin} has {after} tries, expected its maximum {expected}")


def change_case(pin: PinRef, case_id: str) -> None:
    ins = pin.change_ins
    name = "CHANGE REFERENCE DATA `00 24 01 80`" if ins == apdus.INS_CHANGE_REFERENCE_DATA else "CHANGE KEY `80 32 00 80`"
    ref = "§2/CHANGE-REFERENCE-DATA" if ins == apdus.INS_CHANGE_REFERENCE_DATA else "§2/CHANGE-KEY"

    @case(case_id, f"{pin}: {name.split(' `')[0]} sets a new value, the old one stops working, and it is changed back",
          refs=[ref, "§2/VERIFY", "§3/63Cx", KEY_CLAUSE[pin.code]],
          profiles=[pin.app.profile], needs=[pin.secret], impact=Impact.CHANGES_SECRET, touches=[pin],  # type: ignore[list-item]
          procedure=f"""
1. SELECT the {pin.app}, SELECT EF {pin.fid:04X}, VERIFY with the supplied value → 9000.
2. {name} with a new value of the same format → 9000.
3. SELECT the AP again, SELECT EF, VERIFY with the new value → 9000.
4. SELECT the AP again, SELECT EF, VERIFY with the old value → 63Cx (one try spent).
5. VERIFY with the new value → 9000 (counter back to its maximum); {name.split(' `')[0]} back to the
   supplied value → 9000.
6. SELECT the AP again, SELECT EF, VERIFY with the supplied value → 9000.
If a step fails after step 2, the case changes the value back before it reports.""")
    def run(t: CaseContext) -> None:
        assert pin.secret is not None and ins is not None
        original = t.secret(pin.secret)
        new = shifted(original, 3)
        t.verify(pin)
        t.expect(apdus.change_secret(ins, new), f"{name.split(' `')[0]} of {pin} to a new value")
        changed = True
        try:
            t.select(pin.app)
            t.select_ef(pin.fid)
            t.expect(apdus.verify(0x80, new), f"VERIFY {pin} with the new value")
            t.select(pin.app)
            t.select_ef(pin.fid)
            old = t.send(apdus.verify(0x80, original), f"VERIFY {pin} with the old value")
            t.check(old.sw & 0xFFF0 == 0x63C0 and old.sw != 0x63C0,
                    f"VERIFY {pin} with the old value after the change answered {old.sw:04X}, expected 63Cx")
            t.expect(apdus.verify(0x80, new), f"VERIFY {pin} with the new value (restores the counter)")
            t.expect(apdus.change_secret(ins, original), f"{name.split(' `')[0]} of {pin} back to the supplied value")
            changed = False
            t.select(pin.app)
            t.select_ef(pin.fid)
            t.expect(apdus.verify(0x80, original), f"VERIFY {pin} with the supplied value again")
        finally:
            if changed:
                _change_back(t, pin, new, original)


def _change_back(t: CaseContext, pin: PinRef, current: bytes, original: bytes) -> None:
    """Best effort after a failure: VERIFY the value we set and change it back (never more than one try)."""
    assert pin.change_ins is not None
    t.select(pin.app)
    t.select_ef(pin.fid)
    if t.send(apdus.verify(0x80, current), f"clean-up: VERIFY {pin} with the value this case set").sw == 0x9000:
        t.send(apdus.change_secret(pin.change_ins, original), f"clean-up: change {pin} back")
        t.note(f"clean-up: {pin} was changed back to the supplied value")
    else:
        t.note(f"clean-up: could not verify {pin} with the value this case set; check it by hand")


def change_without_verify_case(pin: PinRef, case_id: str) -> None:
    ins = pin.change_ins
    name = "CHANGE REFERENCE DATA" if ins == apdus.INS_CHANGE_REFERENCE_DATA else "CHANGE KEY"
    ref = "§2/CHANGE-REFERENCE-DATA" if ins == apdus.INS_CHANGE_REFERENCE_DATA else "§2/CHANGE-KEY"

    @case(case_id, f"{pin}: {name} without a VERIFY first is refused with 6982",
          refs=[ref, "§3/6982", KEY_CLAUSE[pin.code]],
          profiles=[pin.app.profile], needs=[pin.secret], impact=Impact.CHANGES_SECRET,  # type: ignore[list-item]
          procedure=f"""
1. SELECT the {pin.app}, SELECT EF {pin.fid:04X} (nothing verified).
2. {name} with a new value → 6982.
3. (Only if the card wrongly answered 9000: VERIFY the new value and change it back to the supplied
   one, so the card is left as found.) Marked destructive because a faulty card would change its PIN.""")
    def run(t: CaseContext) -> None:
        assert pin.secret is not None and ins is not None
        original = t.secret(pin.secret)
        new = shifted(original, 3)
        t.select(pin.app)
        t.select_ef(pin.fid)
        response = t.send(apdus.change_secret(ins, new), f"{name} of {pin} without VERIFY")
        if response.sw == 0x9000:
            _change_back(t, pin, new, original)
        if response.sw != 0x6982:
            t.fail_sw(f"{name} of {pin} without VERIFY", (0x6982,), response.sw)


def persists_case(pin: PinRef, case_id: str) -> None:
    @case(case_id, f"{pin}: a spent try stays spent when the card leaves the field",
          refs=["§3/63Cx", "§4/status-cleared-field", KEY_CLAUSE[pin.code]],
          profiles=[pin.app.profile], needs=[pin.secret], impact=Impact.SPENDS_TRY, robot=True,  # type: ignore[list-item]
          touches=[pin],
          procedure=f"""
1. SELECT the {pin.app}, SELECT EF {pin.fid:04X}, VERIFY query → 63Cn (n ≥ 2). VERIFY a wrong value → 63C(n−1).
2. Robot: remove the card and insert it again.
3. SELECT the {pin.app}, SELECT EF, VERIFY query → 63C(n−1): the counter is stored, not in RAM.
4. VERIFY with the supplied value → 9000 (restores the counter).""")
    def run(t: CaseContext) -> None:
        n = t.query(pin)
        if n < 2:
            t.skip(f"{pin} has {n} tries left; this case needs at least 2")
        _expect_tries(t, t.verify_wrong(pin).sw, n - 1, f"VERIFY {pin} with a wrong value")
        t.power_cycle()
        after = t.query(pin)
        t.check(after == n - 1, f"after removal {pin} shows {after} tries, expected {n - 1}: a try was given back")
        _restore_by_verify(t, pin)


def block_case(pin: PinRef, case_id: str) -> None:
    @case(case_id, f"{pin}: wrong values until 63C0, then 6984 — for the right value too, also after a reset",
          refs=["§3/63C0", "§3/6984", "§3/63Cx", "§3/no-6983", KEY_CLAUSE[pin.code]],
          profiles=[pin.app.profile], needs=[pin.secret], impact=Impact.BLOCKS, blocks=[pin],  # type: ignore[list-item]
          procedure=f"""
BLOCKS {pin} FOR GOOD (on a real card only the municipal office can unblock it).
1. SELECT the {pin.app}, SELECT EF {pin.fid:04X}, VERIFY query → 63Cn.
2. VERIFY a wrong value n times → 63C(n−1), …, 63C1, then 63C0 on the exhausting try.
3. VERIFY query → 63C0. VERIFY a wrong value → 6984; VERIFY the supplied value → 6984 (not 6983).
4. Warm reset. SELECT the AP, SELECT EF, VERIFY query → 63C0, VERIFY the supplied value → 6984.""")
    def run(t: CaseContext) -> None:
        assert pin.secret is not None
        n = t.query(pin)
        if n == VERIFIED:
            t.fail(f"the VERIFY query of {pin} right after SELECT answered 9000")
        for left in range(n - 1, -1, -1):
            wrong = t.send(apdus.verify(0x80, t.wrong_value(pin)), f"VERIFY {pin} with a wrong value ({left} left after)")
            _expect_tries(t, wrong.sw, left, f"VERIFY {pin} with a wrong value")
        _check_blocked(t, pin, select=False)
        t.expect(apdus.verify(0x80, t.wrong_value(pin)), f"VERIFY {pin} with a wrong value once blocked", 0x6984)
        t.reset()
        _check_blocked(t, pin, select=True)


def _check_blocked(t: CaseContext, pin: PinRef, *, select: bool) -> None:
    assert pin.secret is not None
    if select:
        t.select(pin.app)
        t.select_ef(pin.fid)
    t.expect(apdus.verify(0x80), f"VERIFY query {pin} (blocked)", 0x63C0)
    t.expect(apdus.verify(0x80, t.secret(pin.secret)), f"VERIFY {pin} with the supplied value (blocked)", 0x6984)


def blocked_power_case(pin: PinRef, case_id: str) -> None:
    @case(case_id, f"{pin}: a blocked key stays blocked when the card leaves the field",
          refs=["§3/63C0", "§3/6984", KEY_CLAUSE[pin.code]],
          profiles=[pin.app.profile], needs=[pin.secret], impact=Impact.BLOCKS, robot=True, blocks=[pin],  # type: ignore[list-item]
          procedure=f"""
BLOCKS {pin} FOR GOOD if it is not blocked yet.
1. SELECT the {pin.app}, SELECT EF {pin.fid:04X}, VERIFY query; if not 63C0, VERIFY wrong values until 63C0.
2. Robot: remove the card and insert it again.
3. SELECT the AP, SELECT EF, VERIFY query → 63C0; VERIFY the supplied value → 6984.""")
    def run(t: CaseContext) -> None:
        n = t.query(pin)
        for left in range(n - 1, -1, -1):
            wrong = t.send(apdus.verify(0x80, t.wrong_value(pin)), f"VERIFY {pin} with a wrong value ({left} left after)")
            _expect_tries(t, wrong.sw, left, f"VERIFY {pin} with a wrong value")
        t.power_cycle()
        _check_blocked(t, pin, select=True)


@case("TEXT-PIN-031", "券面事項入力補助AP key 0012 is blocked from issue: query 63C0, VERIFY 6984",
      refs=["§7.1/0012", "§3/63C0", "§3/6984"], profiles=[Profile.TEXT])
def text_0012_blocked(t: CaseContext) -> None:
    """
    1. SELECT the 券面事項入力補助AP, SELECT EF 0012 → 9000. VERIFY query → 63C0 (CI §7.1: blocked
       on every card examined).
    2. Only after 63C0 (nothing left to spend): VERIFY `00 20 00 80 04 30 30 30 30` → 6984.
    3. VERIFY query → 63C0 again.
    """
    tries = t.query(TEXT_BLOCKED)
    if tries != 0:
        t.fail(f"key 0012 of the 券面事項入力補助AP answers the query with {tries} tries left, expected 63C0 (blocked)")
    t.expect(apdus.verify(0x80, b"0000"), "VERIFY key 0012 (blocked)", 0x6984)
    t.expect(apdus.verify(0x80), "VERIFY query key 0012 again", 0x63C0)


#: The family for each key: (PinRef, ID prefix, first number). IDs are fixed: prefix-NNN where
#: NNN = first + member (01 query … 08 blocked after removal).
FAMILIES: tuple[tuple[PinRef, str, int], ...] = (
    (AUTH_PIN, "JPKI-PIN", 0),
    (SIGN_PASSWORD, "JPKI-PIN", 10),
    (TEXT_PIN, "TEXT-PIN", 0),
    (TEXT_CODE_A, "TEXT-PIN", 10),
    (TEXT_CODE_B, "TEXT-PIN", 20),
    (VISUAL_BIRTH, "VIS-PIN", 0),
    (VISUAL_CODE_B, "VIS-PIN", 10),
    (VISUAL_CODE_A, "VIS-PIN", 20),
    (COMMON_PIN, "COM-PIN", 0),
    (JUKI_PIN, "JUKI-PIN", 0),
)

#: Robot cases only for the JPKI auth PIN: one key is enough to show the counter lives in storage.
ROBOT_KEYS = {AUTH_PIN.code}

for _pin, _prefix, _first in FAMILIES:
    def _id(member: int, prefix: str = _prefix, first: int = _first) -> str:
        return f"{prefix}-{first + member:03d}"

    query_case(_pin, _id(1))
    verify_case(_pin, _id(2))
    wrong_case(_pin, _id(3))
    if _pin.change_ins is not None:
        change_case(_pin, _id(4))
        change_without_verify_case(_pin, _id(5))
    if _pin.code in ROBOT_KEYS:
        persists_case(_pin, _id(6))
    block_case(_pin, _id(7))
    if _pin.code in ROBOT_KEYS:
        blocked_power_case(_pin, _id(8))
