"""Caller screening at /voice: who is calling, and may they in?

A caller is classified from the `From` number as one of the CallerClass values; `decide`
then applies the policy in the README ("Screening") to the caller and the hotline's
state: blocklisted numbers are rejected unanswered, numbers calling too often hear busy,
chairs always get in, everyone else gets in while the IVR has room and waits in the hold
queue when it does not (or hears busy when that is full too). The webhook only applies
the decision it gets back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from redis import Redis

from callflows.phones import NumberKind, Phone, read_number
from callflows.trust import FULL_ATTESTATION
from queues import admission, blocklist, keys
from queues.defaults import CALL_RATE_LIMIT, CALL_RATE_WINDOW_SECONDS

ATTESTED = frozenset({"TN-Validation-Passed-A", "TN-Validation-Passed-B"})
ATTESTED_A = FULL_ATTESTATION
"""Full attestation: the carrier knows the caller and that they may use this number."""


class CallerClass(StrEnum):
    CHAIR = "chair"
    """The registered phone of some precinct's chair."""
    KNOWN = "known"
    """A number that has authenticated with a PIN before (a chair calling back)."""
    UNKNOWN = "unknown"
    ANONYMOUS = "anonymous"
    """Caller ID withheld."""
    INVALID = "invalid"
    """Not a phone number: `client:` or `sip:` callers, unparseable or impossible numbers."""
    BLOCKLISTED = "blocklisted"


class Action(StrEnum):
    """What screening does with a new call (the value is the outcome staff see counted)."""

    ADMIT = "admitted"
    HOLD = "held"
    BUSY = "busy"
    REJECT = "rejected"


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    """Why: the caller's class when let in or held, else what refused them."""


@dataclass(frozen=True)
class Caller:
    """A caller as screening sees them."""

    raw: str
    number: str
    """E.164 when the caller ID is a valid phone number, else ""."""
    caller_class: CallerClass
    attested: bool
    possible_number: str = ""
    """E.164 of any possible number, assigned or not (what the call rate counts by)."""

    @property
    def priority(self) -> int:
        """0 for callers who go first in the hold queue (callbacks, attested numbers), else 1."""
        return 0 if self.caller_class == CallerClass.KNOWN or self.attested else 1


class HotlineState(Protocol):
    """What a screening decision needs to know of the hotline, asked only as needed."""

    def over_call_rate(self, caller: Caller) -> bool:
        """Count this call; whether its number has now called too often."""
        ...

    def admit(self) -> None:
        """Take an IVR slot whatever the occupancy."""
        ...

    def try_admit(self) -> bool:
        """Take an IVR slot if one is free."""
        ...

    def hold_depth(self) -> int: ...


def decide(caller: Caller, state: HotlineState, hold_max: int) -> Decision:
    """The screening policy: reject, busy, hold or admit this caller now."""
    if caller.caller_class == CallerClass.BLOCKLISTED:
        return Decision(Action.REJECT, "blocklisted")
    if state.over_call_rate(caller):
        return Decision(Action.BUSY, "call_rate")
    if caller.caller_class == CallerClass.CHAIR:
        state.admit()  # registered chairs are never held
        return Decision(Action.ADMIT, caller.caller_class.value)
    if state.try_admit():
        return Decision(Action.ADMIT, caller.caller_class.value)
    if caller.priority > 0 and state.hold_depth() >= hold_max:
        return Decision(Action.BUSY, "hold_full")
    return Decision(Action.HOLD, caller.caller_class.value)


@dataclass
class LiveState:
    """The hotline's state in Redis, for one new call. Reads and the slot check go to
    `redis`; the unconditional writes go on `writes` (a webhook's transaction)."""

    redis: Redis
    writes: Redis
    call_sid: str
    capacity: int

    def over_call_rate(self, caller: Caller) -> bool:
        return over_call_rate(self.redis, caller)

    def admit(self) -> None:
        admission.admit(self.writes, self.call_sid)

    def try_admit(self) -> bool:
        return admission.try_admit(self.redis, self.call_sid, self.capacity)

    def hold_depth(self) -> int:
        return admission.hold_depth(self.redis)


def normalise(raw: str) -> tuple[str, CallerClass | None]:
    """A caller ID as screening reads it: E.164 for a valid number; otherwise "" and why
    it is not one (withheld, or no usable number)."""
    return _screened(read_number(raw))


def _screened(phone: Phone) -> tuple[str, CallerClass | None]:
    if phone.kind is NumberKind.VALID:
        return phone.e164, None
    if phone.kind is NumberKind.WITHHELD:
        return "", CallerClass.ANONYMOUS
    return "", CallerClass.INVALID


def classify(redis: Redis, raw: str, stir_verstat: str, chair_phones: frozenset[str]) -> Caller:
    # Read once: reading a number costs about 0.2 ms, and /voice is the flood's hot path.
    phone = read_number(raw)
    number, problem = _screened(phone)
    attested = stir_verstat in ATTESTED

    def caller(caller_class: CallerClass) -> Caller:
        return Caller(raw, number, caller_class, attested, possible_number=phone.e164)

    if not phone.e164:
        return caller(problem or CallerClass.INVALID)
    # Both looked up in one round trip: /voice is the flood's hot path.
    with redis.pipeline(transaction=False) as pipe:
        blocklist.queue_is_blocked(pipe, phone.e164)
        pipe.sismember(keys.KNOWN_CALLERS, number or phone.e164)
        blocked, known = pipe.execute()
    # Checked before an invalid number is set aside: staff block unassigned numbers too.
    if blocked:
        return caller(CallerClass.BLOCKLISTED)
    if problem is not None:
        return caller(problem)
    if number in chair_phones:
        return caller(CallerClass.CHAIR)
    if known:
        return caller(CallerClass.KNOWN)
    return caller(CallerClass.UNKNOWN)


def remember_authenticated(redis: Redis, number: str) -> None:
    """A number that keyed a right PIN is a chair's callback from now on."""
    if number:
        redis.sadd(keys.KNOWN_CALLERS, number)


def over_call_rate(redis: Redis, caller: Caller, now: float | None = None) -> bool:
    """Count this call; True when the number has called more often than the limit allows.

    Every possible number is counted, valid or not (a spoofer's unassigned numbers too);
    withheld numbers and `client:`/`sip:` callers have no number to count by."""
    if caller.caller_class == CallerClass.CHAIR:
        return False
    number = caller.number or caller.possible_number
    if not number:
        return False
    window = int((time.time() if now is None else now) // CALL_RATE_WINDOW_SECONDS)
    key = keys.call_rate(number, window)
    calls: Any = redis.eval(_COUNT_CALL, 1, key, CALL_RATE_WINDOW_SECONDS * 2)
    return int(calls) > CALL_RATE_LIMIT


# Count a call and keep the count's expiry, atomically, with one reply (a MULTI/EXEC of the
# two commands costs the client four).
_COUNT_CALL = """
local calls = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return calls
"""
