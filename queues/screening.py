"""Caller screening at /voice: who is calling, and may they in?

A caller is classified from the `From` number as one of the CallerClass values; the
decision then follows the policy in the README ("Screening"): blocklisted numbers are
rejected unanswered, numbers calling too often hear busy, chairs always get in, everyone
else gets in while the IVR has room and waits in the hold queue when it does not.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from redis import Redis

from queues import blocklist
from queues.defaults import CALL_RATE_LIMIT, CALL_RATE_WINDOW_SECONDS

KNOWN_KEY = "hotline:screening:known"
WITHHELD = frozenset(
    {"", "anonymous", "restricted", "unknown", "private", "unavailable", "+266696687", "266696687"}
)
# Twilio shows a withheld caller ID as "anonymous" or "+266696687" (ANONYMOUS on a keypad).
ATTESTED = frozenset({"TN-Validation-Passed-A", "TN-Validation-Passed-B"})
ATTESTED_A = "TN-Validation-Passed-A"
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
    ADMIT = "admit"
    HOLD = "hold"
    BUSY = "busy"
    REJECT = "reject"


@dataclass(frozen=True)
class Caller:
    """A caller as screening sees them."""

    raw: str
    number: str
    """E.164 when the caller ID is a valid phone number, else ""."""
    caller_class: CallerClass
    attested: bool

    @property
    def priority(self) -> int:
        """0 for callers who go first in the hold queue (callbacks, attested numbers), else 1."""
        return 0 if self.caller_class == CallerClass.KNOWN or self.attested else 1


def normalise(raw: str) -> tuple[str, CallerClass | None]:
    """E.164 for a valid number; otherwise "" and why it is not one."""
    text = raw.strip()
    if text.lower() in WITHHELD:
        return "", CallerClass.ANONYMOUS
    if ":" in text:
        return "", CallerClass.INVALID
    try:
        parsed = phonenumbers.parse(text, "US")
    except phonenumbers.NumberParseException:
        return "", CallerClass.INVALID
    if not phonenumbers.is_valid_number(parsed):
        return "", CallerClass.INVALID
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), None


def classify(redis: Redis, raw: str, stir_verstat: str, chair_phones: frozenset[str]) -> Caller:
    number, problem = normalise(raw)
    attested = stir_verstat in ATTESTED
    if problem is not None:
        return Caller(raw, number, problem, attested)
    if blocklist.is_blocked(redis, number):
        return Caller(raw, number, CallerClass.BLOCKLISTED, attested)
    if number in chair_phones:
        return Caller(raw, number, CallerClass.CHAIR, attested)
    if redis.sismember(KNOWN_KEY, number):
        return Caller(raw, number, CallerClass.KNOWN, attested)
    return Caller(raw, number, CallerClass.UNKNOWN, attested)


def remember_authenticated(redis: Redis, number: str) -> None:
    """A number that keyed a right PIN is a chair's callback from now on."""
    if number:
        redis.sadd(KNOWN_KEY, number)


def over_call_rate(redis: Redis, caller: Caller, now: float | None = None) -> bool:
    """Count this call; True when the number has called more often than the limit allows."""
    if caller.caller_class == CallerClass.CHAIR or not caller.number:
        return False
    window = int((time.time() if now is None else now) // CALL_RATE_WINDOW_SECONDS)
    key = f"hotline:screening:rate:{caller.number}:{window}"
    with redis.pipeline() as pipe:
        pipe.incr(key)
        pipe.expire(key, CALL_RATE_WINDOW_SECONDS * 2)
        calls, _ = pipe.execute()
    return int(calls) > CALL_RATE_LIMIT
