"""Caller screening, admission and PIN limits against a real Redis."""

from __future__ import annotations

import pytest
from redis import Redis

from queues import admission, blocklist, pin_guard, screening
from queues.defaults import (
    CALL_RATE_LIMIT,
    CHAIR_PHONE_PIN_FAILURE_LIMIT,
    HOLD_STALE_SECONDS,
    IVR_STALE_SECONDS,
    NUMBER_PIN_FAILURE_LIMIT,
    PRECINCT_PIN_FAILURE_LIMIT,
)
from queues.screening import CallerClass

CHAIRS = frozenset({"+15155550101"})


@pytest.mark.parametrize(
    ("raw", "number", "problem"),
    [
        ("+15155550123", "+15155550123", None),
        ("(515) 555-0123", "+15155550123", None),
        ("anonymous", "", CallerClass.ANONYMOUS),
        ("+266696687", "", CallerClass.ANONYMOUS),
        ("", "", CallerClass.ANONYMOUS),
        ("client:alice", "", CallerClass.INVALID),
        ("sip:robot@example.com", "", CallerClass.INVALID),
        ("12", "", CallerClass.INVALID),
        ("+1 555 555 0123", "", CallerClass.INVALID),
        ("not a number", "", CallerClass.INVALID),
    ],
)
def test_normalise(raw: str, number: str, problem: CallerClass | None) -> None:
    assert screening.normalise(raw) == (number, problem)


def test_classify_every_kind_of_caller(redis: Redis) -> None:
    redis.sadd(blocklist.REDIS_KEY, "+15155550666")
    screening.remember_authenticated(redis, "+15155550202")

    def kind(raw: str) -> CallerClass:
        return screening.classify(redis, raw, "", CHAIRS).caller_class

    assert kind("+1 515 555 0101") == CallerClass.CHAIR
    assert kind("+15155550202") == CallerClass.KNOWN
    assert kind("+15155550303") == CallerClass.UNKNOWN
    assert kind("anonymous") == CallerClass.ANONYMOUS
    assert kind("client:bot") == CallerClass.INVALID
    assert kind("+15155550666") == CallerClass.BLOCKLISTED


def test_callbacks_and_attested_numbers_go_first_in_the_hold_queue(redis: Redis) -> None:
    screening.remember_authenticated(redis, "+15155550202")
    assert screening.classify(redis, "+15155550202", "", CHAIRS).priority == 0
    assert screening.classify(redis, "+15155550303", "TN-Validation-Passed-A", CHAIRS).priority == 0
    assert screening.classify(redis, "+15155550303", "No-TN-Validation", CHAIRS).priority == 1


def test_a_number_calling_too_often_is_over_the_rate_but_a_chair_never_is(redis: Redis) -> None:
    dialer = screening.classify(redis, "+15155550303", "", CHAIRS)
    chair = screening.classify(redis, "+15155550101", "", CHAIRS)
    results = [
        screening.over_call_rate(redis, dialer, now=1000.0) for _ in range(CALL_RATE_LIMIT + 1)
    ]
    assert results == [False] * CALL_RATE_LIMIT + [True]
    assert not any(screening.over_call_rate(redis, chair, now=1000.0) for _ in range(20))


def test_admission_stops_at_capacity_and_a_released_slot_is_free_again(redis: Redis) -> None:
    assert admission.try_admit(redis, "CA1", capacity=2, now=100.0)
    assert admission.try_admit(redis, "CA2", capacity=2, now=100.0)
    assert not admission.try_admit(redis, "CA3", capacity=2, now=100.0)
    assert admission.try_admit(redis, "CA1", capacity=2, now=101.0), "a call keeps its own slot"
    admission.release(redis, "CA2")
    assert admission.try_admit(redis, "CA3", capacity=2, now=102.0)
    assert admission.occupancy(redis) == 2


def test_a_slot_whose_call_went_silent_is_reclaimed(redis: Redis) -> None:
    assert admission.try_admit(redis, "CA1", capacity=1, now=100.0)
    later = 100.0 + IVR_STALE_SECONDS - 1
    admission.touch(redis, "CA1", now=later)
    assert not admission.try_admit(redis, "CA2", capacity=1, now=later + 1)
    assert admission.try_admit(redis, "CA2", capacity=1, now=later + IVR_STALE_SECONDS + 1)


def test_hold_queue_lets_callers_in_by_priority_then_arrival(redis: Redis) -> None:
    admission.admit(redis, "CA-in", now=100.0)
    assert admission.hold_poll(redis, "CA-early", 1, capacity=1, now=101.0) == 1
    assert admission.hold_poll(redis, "CA-late", 1, capacity=1, now=102.0) == 2
    assert admission.hold_poll(redis, "CA-callback", 0, capacity=1, now=103.0) == 1
    assert admission.hold_queue(redis, now=111.0) == (3, 10.0)
    admission.release(redis, "CA-in")
    assert admission.hold_poll(redis, "CA-early", 1, capacity=1, now=104.0) == 2
    assert admission.hold_poll(redis, "CA-callback", 0, capacity=1, now=104.0) == 0
    assert admission.occupancy(redis) == 1 and admission.hold_depth(redis) == 2


def test_a_held_caller_who_stops_polling_is_dropped_from_the_queue(redis: Redis) -> None:
    admission.admit(redis, "CA-in", now=100.0)
    admission.hold_poll(redis, "CA-gone", 1, capacity=1, now=100.0)
    assert admission.hold_poll(redis, "CA-waiting", 1, capacity=1, now=101.0) == 2
    later = 100.0 + HOLD_STALE_SECONDS + 1
    assert admission.hold_poll(redis, "CA-waiting", 1, capacity=1, now=later) == 1
    assert admission.hold_depth(redis) == 1


def test_a_guessing_number_is_blocked_after_the_limit(redis: Redis) -> None:
    guesser = "+15155550303"
    for attempt in range(NUMBER_PIN_FAILURE_LIMIT):
        assert pin_guard.pin_entry_refused(redis, f"9{attempt:05d}", guesser, False) == ""
        pin_guard.record_failure(redis, f"9{attempt:05d}", guesser, False)
    assert pin_guard.pin_entry_refused(redis, "948199", guesser, False) == "number_blocked"


def test_a_precinct_guessed_at_from_many_numbers_is_locked_except_from_its_chair(
    redis: Redis,
) -> None:
    for n in range(PRECINCT_PIN_FAILURE_LIMIT):
        pin_guard.record_failure(redis, "948199", f"+1515555{n:04d}", False)
    assert pin_guard.pin_entry_refused(redis, "948199", "+15155559999", False) == "precinct_locked"
    assert pin_guard.pin_entry_refused(redis, "948199", "+15155550101", True) == ""
    assert pin_guard.locked_precincts(redis) == ["948199"]


def test_the_chair_phone_gets_a_few_more_tries_but_not_unlimited(redis: Redis) -> None:
    for _ in range(CHAIR_PHONE_PIN_FAILURE_LIMIT - 1):
        pin_guard.record_failure(redis, "948199", "+15155550101", True)
    assert pin_guard.pin_entry_refused(redis, "948199", "+15155550101", True) == ""
    pin_guard.record_failure(redis, "948199", "+15155550101", True)
    assert pin_guard.pin_entry_refused(redis, "948199", "+15155550101", True) == "number_blocked"
    # A spoofer of the chair's number cannot use up the tries of the attested, real chair.
    assert pin_guard.pin_entry_refused(redis, "948199", "+15155550101", True, attested=True) == ""
    assert CHAIR_PHONE_PIN_FAILURE_LIMIT < 10, (
        "a spoofer of the chair's number is stopped before a tenth try"
    )


class FakeState:
    """The hotline's state as a screening decision sees it, recording what it was asked."""

    def __init__(self, *, over_rate: bool = False, room: bool = True, held: int = 0) -> None:
        self.over_rate, self.room, self.held = over_rate, room, held
        self.asked: list[str] = []

    def over_call_rate(self, caller: screening.Caller) -> bool:
        self.asked.append("rate")
        return self.over_rate

    def admit(self) -> None:
        self.asked.append("admit")

    def try_admit(self) -> bool:
        self.asked.append("try_admit")
        return self.room

    def hold_depth(self) -> int:
        self.asked.append("hold_depth")
        return self.held


def caller(kind: CallerClass, attested: bool = False) -> screening.Caller:
    return screening.Caller("+15155550303", "+15155550303", kind, attested)


def test_the_screening_decision_follows_the_policy() -> None:
    Action = screening.Action
    decide = screening.decide
    blocked = FakeState()
    assert decide(caller(CallerClass.BLOCKLISTED), blocked, 10).action is Action.REJECT
    assert blocked.asked == [], "a blocklisted number costs nothing, not even a rate count"
    assert decide(caller(CallerClass.UNKNOWN), FakeState(over_rate=True), 10) == (
        screening.Decision(Action.BUSY, "call_rate")
    )
    full = FakeState(room=False, held=99)
    assert decide(caller(CallerClass.CHAIR), full, 10) == screening.Decision(Action.ADMIT, "chair")
    assert full.asked == ["rate", "admit"], "a chair is let in whatever the occupancy"
    assert decide(caller(CallerClass.UNKNOWN), FakeState(), 10).action is Action.ADMIT
    assert decide(caller(CallerClass.UNKNOWN), FakeState(room=False, held=9), 10) == (
        screening.Decision(Action.HOLD, "unknown")
    )
    assert decide(caller(CallerClass.UNKNOWN), FakeState(room=False, held=10), 10) == (
        screening.Decision(Action.BUSY, "hold_full")
    )
    # Callbacks and attested callers still queue when the hold queue is full.
    assert decide(caller(CallerClass.KNOWN), FakeState(room=False, held=10), 10).action is (
        Action.HOLD
    )
    attested = caller(CallerClass.UNKNOWN, attested=True)
    assert decide(attested, FakeState(room=False, held=10), 10).action is Action.HOLD


def test_a_blocked_unassigned_number_is_rejected_before_it_is_set_aside_as_invalid(
    redis: Redis,
) -> None:
    # Staff may block any possible number (ivr.staff.ops): spoofers use unassigned ones.
    redis.sadd(blocklist.REDIS_KEY, "+15555550123")
    assert screening.classify(redis, "+1 555 555 0123", "", CHAIRS).caller_class == (
        CallerClass.BLOCKLISTED
    )
    assert screening.classify(redis, "+1 555 555 0124", "", CHAIRS).caller_class == (
        CallerClass.INVALID
    )


def test_a_possible_but_unassigned_number_is_rate_limited_too(redis: Redis) -> None:
    caller = screening.classify(redis, "+12225550123", "", CHAIRS)
    assert caller.caller_class == CallerClass.INVALID and caller.number == ""
    verdicts = [screening.over_call_rate(redis, caller, now=1000.0) for _ in range(8)]
    assert verdicts == [False] * CALL_RATE_LIMIT + [True, True]
    # The same number spelled another way is the same number.
    again = screening.classify(redis, "(222) 555-0123", "", CHAIRS)
    assert screening.over_call_rate(redis, again, now=1000.0)


def test_withheld_and_non_numbers_stay_out_of_the_per_number_rate(redis: Redis) -> None:
    for raw in ("anonymous", "client:robot", "+266696687"):
        caller = screening.classify(redis, raw, "", CHAIRS)
        assert not any(screening.over_call_rate(redis, caller, now=1000.0) for _ in range(10))
    assert redis.keys("hotline:screening:rate:*") == []


def test_staff_lift_a_precinct_lock_and_its_count(redis: Redis) -> None:
    for n in range(PRECINCT_PIN_FAILURE_LIMIT):
        pin_guard.record_failure(redis, "948199", f"+1515555{n:04d}", False)
    assert pin_guard.pin_entry_refused(redis, "948199", "+15155559999", False) == "precinct_locked"
    assert pin_guard.lift_precinct_lock(redis, "948199") is True
    assert pin_guard.pin_entry_refused(redis, "948199", "+15155559999", False) == ""
    assert pin_guard.locked_precincts(redis) == []
    assert pin_guard.lift_precinct_lock(redis, "948199") is False, "nothing left to lift"
