"""Admission control: how many calls are inside the IVR, and the hold queue for the rest.

Kept in Redis sorted sets (member: CallSid, score: when it entered) so every web process
sees the same numbers and a slot whose call never reported its end can be reclaimed.
"""

from __future__ import annotations

import time

from redis import Redis

IVR_KEY = "hotline:ivr"
HOLD_KEY = "hotline:hold"


def occupancy(redis: Redis) -> int:
    """Calls inside the IVR now."""
    return int(redis.zcard(IVR_KEY))


def hold_queue(redis: Redis, now: float | None = None) -> tuple[int, float]:
    """Callers waiting in the hold queue, and the longest wait so far in seconds."""
    depth = int(redis.zcard(HOLD_KEY))
    oldest = redis.zrange(HOLD_KEY, 0, 0, withscores=True)
    if not oldest:
        return depth, 0.0
    return depth, max(0.0, (time.time() if now is None else now) - float(oldest[0][1]))
