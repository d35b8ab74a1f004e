"""Limits on PIN guessing: per call (in the flow), per number, and per precinct.

A number that keys NUMBER_PIN_FAILURE_LIMIT wrong PINs is blocked from PIN entry for the
night; a precinct that gets PRECINCT_PIN_FAILURE_LIMIT wrong PINs from numbers other than
its chair's registered phone is locked for the night, except from that phone; that phone
itself is blocked from its precinct after CHAIR_PHONE_PIN_FAILURE_LIMIT wrong PINs (caller
ID can be spoofed). Calls from the chair's phone that carrier attestation (SHAKEN/STIR
level A) vouches for count apart from the rest, so a spoofer of the chair's number cannot
use up the real chair's tries. Callers with a withheld number share one count (with four
times the limit), since they cannot be told apart. The README states the resulting odds.
"""

from __future__ import annotations

from redis import Redis

from queues import counters, keys
from queues.defaults import (
    CHAIR_PHONE_PIN_FAILURE_LIMIT,
    NUMBER_PIN_FAILURE_LIMIT,
    PIN_FAILURE_WINDOW_SECONDS,
    PRECINCT_PIN_FAILURE_LIMIT,
)

WITHHELD_BUCKET = "withheld"
WITHHELD_LIMIT = 4 * NUMBER_PIN_FAILURE_LIMIT


def _number_key(number: str) -> str:
    return number or WITHHELD_BUCKET


def _chair_bucket(precinct_id: str, attested: bool) -> str:
    return f"{precinct_id}:{'attested' if attested else 'unattested'}"


def number_blocked(redis: Redis, number: str) -> bool:
    return bool(redis.exists(keys.number_blocked(_number_key(number))))


def precinct_locked(redis: Redis, precinct_id: str) -> bool:
    return bool(redis.exists(keys.precinct_locked(precinct_id)))


def chair_phone_blocked(redis: Redis, precinct_id: str, attested: bool) -> bool:
    bucket = _chair_bucket(precinct_id, attested)
    return bool(redis.exists(keys.chair_phone_blocked(bucket)))


def pin_entry_refused(
    redis: Redis, precinct_id: str, number: str, from_chair_phone: bool, attested: bool = False
) -> str:
    """Why this caller may not try a PIN for this precinct now ("" if they may)."""
    if from_chair_phone:
        return "number_blocked" if chair_phone_blocked(redis, precinct_id, attested) else ""
    if number_blocked(redis, number):
        return "number_blocked"
    if precinct_locked(redis, precinct_id):
        return "precinct_locked"
    return ""


def record_failure(
    redis: Redis, precinct_id: str, number: str, from_chair_phone: bool, attested: bool = False
) -> None:
    """Count a wrong PIN; block the number or lock the precinct when a limit is reached."""
    counters.add_event(redis, "pin_failures")
    if from_chair_phone:
        bucket = _chair_bucket(precinct_id, attested)
        if _count(redis, keys.pin_failures("chair-phone", bucket)) == CHAIR_PHONE_PIN_FAILURE_LIMIT:
            redis.set(keys.chair_phone_blocked(bucket), 1, ex=PIN_FAILURE_WINDOW_SECONDS)
            counters.add_event(redis, "numbers_blocked")
        return
    who = _number_key(number)
    limit = WITHHELD_LIMIT if not number else NUMBER_PIN_FAILURE_LIMIT
    if _count(redis, keys.pin_failures("number", who)) == limit:
        redis.set(keys.number_blocked(who), 1, ex=PIN_FAILURE_WINDOW_SECONDS)
        counters.add_event(redis, "numbers_blocked")
    if _count(redis, keys.pin_failures("precinct", precinct_id)) == PRECINCT_PIN_FAILURE_LIMIT:
        redis.set(keys.precinct_locked(precinct_id), 1, ex=PIN_FAILURE_WINDOW_SECONDS)
        counters.add_event(redis, "precinct_locks")


def _count(redis: Redis, key: str) -> int:
    with redis.pipeline() as pipe:
        pipe.incr(key)
        pipe.expire(key, PIN_FAILURE_WINDOW_SECONDS, nx=True)
        count, _ = pipe.execute()
    return int(count)


def locked_precincts(redis: Redis) -> list[str]:
    """Precinct IDs locked now, for staff."""
    prefix = keys.precinct_locked("")
    locked = redis.scan_iter(keys.PRECINCT_LOCKED_PATTERN)
    return sorted(key.decode().removeprefix(prefix) for key in locked)
