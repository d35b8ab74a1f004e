"""Limits on PIN guessing: per call (in the flow), per number, and per precinct.

A number that keys NUMBER_PIN_FAILURE_LIMIT wrong PINs is blocked from PIN entry for the
night; a precinct that gets PRECINCT_PIN_FAILURE_LIMIT wrong PINs from numbers other than
its chair's registered phone is locked for the night, except from that phone; that phone
itself is blocked from its precinct after CHAIR_PHONE_PIN_FAILURE_LIMIT wrong PINs (caller
ID can be spoofed). Calls from the chair's phone that carrier attestation (SHAKEN/STIR
level A) vouches for count apart from the rest, so a spoofer of the chair's number cannot
use up the real chair's tries. Callers with a withheld number share one count (with four
times the limit), since they cannot be told apart. The drill line (`drill=True`) has the
same limits, counted in keys of its own (`keys.DRILL_PIN`): a drill lockout never locks
the night, and the night's counters never move for a drill. Its counts last the whole drill
season (DRILL_PIN_FAILURE_WINDOW_SECONDS) rather than a night, since the line is open for
weeks: otherwise every 12 hours of drilling would give an attacker a fresh set of guesses.
The README states the resulting odds.

How the limits hold under concurrency. The PIN itself is compared in Python (an HMAC, in
ivr.pins), so "may I try?" and "that was wrong" cannot be one Redis step. Instead each try
*reserves* its failure first: `reserve` is one Lua script that checks the blocks and the
counts against their limits and, if the try is allowed, increments every counter it would
count against, atomically. However many web workers guess at once, the counters never pass
their limits, so at most PRECINCT_PIN_FAILURE_LIMIT tries are ever evaluated for a precinct
(and NUMBER_PIN_FAILURE_LIMIT for a number). Then:

- a wrong PIN keeps the reservation and `count_failure` adds the rest (the block or lock
  when a counter reached its limit, the staff totals) on the request's `Writes`;
- a right PIN gives the reservation back (`refund`), also on the request's `Writes`;
- a request that fails after reserving gives it back too (`refund` as a cleanup of its
  abandoned `Writes`): its caller heard no answer, so the try taught them nothing, and the
  retry (which never carries a PIN) asks for it again. So a failed request counts nothing,
  and a retried one counts once.

The counters' expiry is set by the script when it creates them (INCR then EXPIRE on a new
key), which every Redis from 6.2 on runs (EXPIRE ... NX would need Redis 7).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis import Redis

from queues import counters, keys
from queues.defaults import (
    CHAIR_PHONE_PIN_FAILURE_LIMIT,
    DRILL_PIN_FAILURE_WINDOW_SECONDS,
    NUMBER_PIN_FAILURE_LIMIT,
    PIN_FAILURE_WINDOW_SECONDS,
    PRECINCT_PIN_FAILURE_LIMIT,
)

WITHHELD_BUCKET = "withheld"
WITHHELD_LIMIT = 4 * NUMBER_PIN_FAILURE_LIMIT

# KEYS: n counters, then their n block keys. ARGV: the n limits, then the counters' TTL.
# Refused (a block is set, or a counter is at its limit): {0, index of the limit}.
# Allowed: {1, each counter's new value}, every counter incremented.
_RESERVE = """
local n = #KEYS / 2
for i = 1, n do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  if redis.call('EXISTS', KEYS[n + i]) == 1 or count >= tonumber(ARGV[i]) then
    return {0, i}
  end
end
local counts = {1}
for i = 1, n do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then
    redis.call('EXPIRE', KEYS[i], ARGV[n + 1])
  end
  counts[i + 1] = count
end
return counts
"""

# Give a reservation back, unless its counter expired (or was lifted) meanwhile: a DECR
# would otherwise make a counter of -1 that never expires.
_REFUND = """
for i = 1, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then
    redis.call('DECR', KEYS[i])
  end
end
return 0
"""


@dataclass(frozen=True)
class _Limit:
    counter: str
    block: str
    limit: int
    refusal: str
    event: str


@dataclass(frozen=True)
class Attempt:
    """One PIN try, reserved against the limits (or refused)."""

    refused: str
    """Why the caller may not try a PIN now ("number_blocked", "precinct_locked"), or ""."""
    counters: tuple[str, ...] = ()
    """The failure counters this try was counted against."""
    reached: tuple[tuple[str, str], ...] = ()
    """(block key, staff total) of each limit this try reached: set if it is wrong."""
    drill: bool = False
    """A try on the drill line (counted for staff apart from the night's)."""


def _window(drill: bool) -> int:
    """How long a line's failures count, and its blocks and locks last."""
    return DRILL_PIN_FAILURE_WINDOW_SECONDS if drill else PIN_FAILURE_WINDOW_SECONDS


def _number_key(number: str) -> str:
    return number or WITHHELD_BUCKET


def _chair_bucket(precinct_id: str, attested: bool) -> str:
    return f"{precinct_id}:{'attested' if attested else 'unattested'}"


def _limits(
    precinct_id: str, number: str, from_chair_phone: bool, attested: bool, drill: bool = False
) -> list[_Limit]:
    line = keys.DRILL_PIN if drill else keys.PIN
    # The drill line's staff totals are its own too: a drill lockout is no night's alarm.
    event = "drill_" if drill else ""
    if from_chair_phone:
        bucket = _chair_bucket(precinct_id, attested)
        return [
            _Limit(
                keys.pin_failures("chair-phone", bucket, line),
                keys.chair_phone_blocked(bucket, line),
                CHAIR_PHONE_PIN_FAILURE_LIMIT,
                "number_blocked",
                f"{event}numbers_blocked",
            )
        ]
    who = _number_key(number)
    return [
        _Limit(
            keys.pin_failures("number", who, line),
            keys.number_blocked(who, line),
            WITHHELD_LIMIT if not number else NUMBER_PIN_FAILURE_LIMIT,
            "number_blocked",
            f"{event}numbers_blocked",
        ),
        _Limit(
            keys.pin_failures("precinct", precinct_id, line),
            keys.precinct_locked(precinct_id, line),
            PRECINCT_PIN_FAILURE_LIMIT,
            "precinct_locked",
            f"{event}precinct_locks",
        ),
    ]


def reserve(
    redis: Redis,
    precinct_id: str,
    number: str,
    from_chair_phone: bool,
    attested: bool = False,
    *,
    drill: bool = False,
) -> Attempt:
    """May this caller try a PIN for this precinct (on the drill line with `drill`)? If so,
    the try is counted as a failure until `refund` gives it back (one atomic step: see the
    module's docstring)."""
    limits = _limits(precinct_id, number, from_chair_phone, attested, drill)
    script_keys = [limit.counter for limit in limits] + [limit.block for limit in limits]
    args = [limit.limit for limit in limits] + [_window(drill)]
    reply: Any = redis.eval(_RESERVE, len(script_keys), *script_keys, *args)
    if int(reply[0]) == 0:
        return Attempt(limits[int(reply[1]) - 1].refusal)
    counts = [int(count) for count in reply[1:]]
    reached = tuple(
        (limit.block, limit.event)
        for limit, count in zip(limits, counts, strict=True)
        if count >= limit.limit
    )
    return Attempt("", tuple(limit.counter for limit in limits), reached, drill)


def refund(client: Redis, attempt: Attempt) -> None:
    """Give back a reserved try (a right PIN, or a request that failed) on `client`."""
    if attempt.counters:
        client.eval(_REFUND, len(attempt.counters), *attempt.counters)


def count_failure(client: Redis, attempt: Attempt) -> None:
    """The reserved try was a wrong PIN: block the number or lock the precinct if it
    reached a limit, and count it for staff (on `client`, e.g. the request's `Writes`)."""
    counters.add_event(client, "drill_pin_failures" if attempt.drill else "pin_failures")
    for block, event in attempt.reached:
        client.set(block, 1, ex=_window(attempt.drill))
        counters.add_event(client, event)


def record_failure(
    redis: Redis,
    precinct_id: str,
    number: str,
    from_chair_phone: bool,
    attested: bool = False,
    *,
    drill: bool = False,
) -> None:
    """Count a wrong PIN at once (a try reserved and counted in one go), if still allowed."""
    attempt = reserve(redis, precinct_id, number, from_chair_phone, attested, drill=drill)
    if not attempt.refused:
        count_failure(redis, attempt)


def precinct_locked(redis: Redis, precinct_id: str) -> bool:
    return bool(redis.exists(keys.precinct_locked(precinct_id)))


def pin_entry_refused(
    redis: Redis,
    precinct_id: str,
    number: str,
    from_chair_phone: bool,
    attested: bool = False,
    *,
    drill: bool = False,
) -> str:
    """Why this caller may not try a PIN for this precinct now ("" if they may); a read
    only, for staff and tests (a call reserves its try with `reserve`)."""
    for limit in _limits(precinct_id, number, from_chair_phone, attested, drill):
        count = int(redis.get(limit.counter) or 0)
        if redis.exists(limit.block) or count >= limit.limit:
            return limit.refusal
    return ""


def lift_precinct_lock(redis: Redis, precinct_id: str) -> bool:
    """Unlock a precinct (staff), on the results line and the drill line: delete its locks
    and its counts of wrong PINs, and on the drill line its chair phone's too (they count
    over the whole drill season, so a chair who mistypes in drill after drill could
    otherwise not practise again for weeks). Whether anything was locked."""
    locks = [keys.precinct_locked(precinct_id, line) for line in (keys.PIN, keys.DRILL_PIN)]
    counts = [
        keys.pin_failures("precinct", precinct_id, line) for line in (keys.PIN, keys.DRILL_PIN)
    ]
    for attested in (True, False):
        bucket = _chair_bucket(precinct_id, attested)
        locks.append(keys.chair_phone_blocked(bucket, keys.DRILL_PIN))
        counts.append(keys.pin_failures("chair-phone", bucket, keys.DRILL_PIN))
    with redis.pipeline() as pipe:
        for key in locks:
            pipe.exists(key)
        pipe.delete(*locks, *counts)
        found = pipe.execute()
    return any(found[: len(locks)])


def locked_precincts(redis: Redis) -> list[str]:
    """Precinct IDs locked now, for staff."""
    prefix = keys.precinct_locked("")
    locked = redis.scan_iter(keys.PRECINCT_LOCKED_PATTERN)
    return sorted(key.decode().removeprefix(prefix) for key in locked)
