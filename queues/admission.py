"""Admission control: how many calls are inside the IVR, and the hold queue for the rest.

Both live in Redis sorted sets so every web process sees the same numbers:
- `hotline:ivr`: CallSid -> when the call last made a request. A call that has been
  silent for IVR_STALE_SECONDS has gone without a status callback; its slot is reclaimed.
- `hotline:hold`: CallSid -> priority x 1e10 + when it joined, so callbacks and attested
  numbers come first and everyone else in order of arrival; `hotline:hold:seen` notes each
  held caller's last poll of the wait URL, so callers who hung up in the queue are dropped.
The check-and-take of a slot runs as one Lua script, so two web workers cannot both take
the last one. The plain writers (admit, touch, release) issue commands on the client they
are given, so a webhook sends them with its other writes in one round trip.
"""

from __future__ import annotations

import time
from typing import Any

from redis import Redis

from queues import keys
from queues.defaults import HOLD_STALE_SECONDS, IVR_STALE_SECONDS

IVR_KEY = keys.IVR
HOLD_KEY = keys.HOLD
HOLD_SEEN_KEY = keys.HOLD_SEEN
PRIORITY_WEIGHT = 1e10

_ADMIT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  return 1
end
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  return 1
end
return 0
"""

_HOLD_POLL = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local gone = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[4])
for _, sid in ipairs(gone) do
  redis.call('ZREM', KEYS[2], sid)
  redis.call('ZREM', KEYS[3], sid)
end
redis.call('ZADD', KEYS[2], 'NX', ARGV[6], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
local rank = redis.call('ZRANK', KEYS[2], ARGV[1])
local free = tonumber(ARGV[5]) - redis.call('ZCARD', KEYS[1])
if rank < free then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  return 0
end
return rank + 1
"""


def _now(now: float | None) -> float:
    return time.time() if now is None else now


def try_admit(redis: Redis, call_sid: str, capacity: int, now: float | None = None) -> bool:
    """Take a slot in the IVR if one is free (or the call already has one)."""
    t = _now(now)
    result: Any = redis.eval(_ADMIT, 1, IVR_KEY, call_sid, t, t - IVR_STALE_SECONDS, capacity)
    return bool(result)


def admit(redis: Redis, call_sid: str, now: float | None = None) -> None:
    """Take a slot whatever the occupancy (registered chairs are never held)."""
    redis.zadd(IVR_KEY, {call_sid: _now(now)})


def touch(redis: Redis, call_sid: str, now: float | None = None) -> None:
    """The call is still here: keep its slot from being reclaimed."""
    redis.zadd(IVR_KEY, {call_sid: _now(now)}, xx=True)


def release(redis: Redis, call_sid: str) -> None:
    """The call ended: free its slot, or its place in the hold queue."""
    redis.zrem(IVR_KEY, call_sid)
    redis.zrem(HOLD_KEY, call_sid)
    redis.zrem(HOLD_SEEN_KEY, call_sid)


def hold_poll(
    redis: Redis, call_sid: str, priority: int, capacity: int, now: float | None = None
) -> int:
    """A held caller's wait URL polled: 0 if they now have a slot, else their place in line."""
    t = _now(now)
    keys = (IVR_KEY, HOLD_KEY, HOLD_SEEN_KEY)
    score = priority * PRIORITY_WEIGHT + t
    args = (call_sid, t, t - IVR_STALE_SECONDS, t - HOLD_STALE_SECONDS, capacity, score)
    result: Any = redis.eval(_HOLD_POLL, len(keys), *keys, *args)
    return int(result)


def occupancy(redis: Redis) -> int:
    """Calls inside the IVR now."""
    return int(redis.zcard(IVR_KEY))


def active(redis: Redis, now: float | None = None) -> int:
    """Calls inside the IVR that made a request lately (a stale slot is a call gone)."""
    return int(redis.zcount(IVR_KEY, _now(now) - IVR_STALE_SECONDS, "+inf"))


def hold_depth(redis: Redis) -> int:
    return int(redis.zcard(HOLD_KEY))


def hold_queue(redis: Redis, now: float | None = None) -> tuple[int, float]:
    """Callers waiting in the hold queue, and the longest wait so far in seconds."""
    # One read: with a separate count first, the queue could empty in between (and the
    # staff overview fail) while callers were being let in.
    entries: Any = redis.zrange(HOLD_KEY, 0, -1, withscores=True)
    if not entries:
        return 0, 0.0
    joined = [float(score) % PRIORITY_WEIGHT for _, score in entries]
    return len(entries), max(0.0, _now(now) - min(joined))
