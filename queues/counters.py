"""Counters in Redis that the call path writes and staff pages read.

Kept in Redis rather than in each process so every gunicorn worker adds to the same
numbers, and so counting never touches the database. The writers issue plain commands on
the client they are given, so a webhook passes its pipeline and counts in the same round
trip as its other writes.
"""

from __future__ import annotations

import time
from collections import Counter

from redis import Redis

from queues import keys

SCREENING_WINDOW_MINUTES = 15
"""Staff see screening outcomes over this many recent minutes."""
LATENCY_SAMPLES = 2000
"""Webhook latencies kept for percentiles (the most recent ones)."""
HISTORY_MINUTES = 60
"""Minutes of queue-depth and call history kept for the overview chart."""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _minute(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // 60)


def count_screening(redis: Redis, outcome: str, reason: str, now: float | None = None) -> None:
    """Count one screening decision, e.g. ("rejected", "blocklisted") or ("admitted", "chair")."""
    key = keys.screening_minute(_minute(now))
    redis.hincrby(key, f"{outcome}:{reason}", 1)
    redis.expire(key, (SCREENING_WINDOW_MINUTES + 5) * 60)


def screening_counts(redis: Redis, now: float | None = None) -> dict[str, int]:
    """Screening decisions in the last 15 minutes, by "outcome:reason"."""
    current = _minute(now)
    minutes = range(current - SCREENING_WINDOW_MINUTES + 1, current + 1)
    with redis.pipeline() as pipe:
        for key in map(keys.screening_minute, minutes):
            pipe.hgetall(key)
        buckets = pipe.execute()
    total: Counter[str] = Counter()
    for bucket in buckets:
        total.update({_text(name): int(value) for name, value in bucket.items()})
    return dict(total)


def record_latency(redis: Redis, seconds: float) -> None:
    """Keep one webhook's latency: among the recent samples, and in the running totals."""
    redis.lpush(keys.LATENCY, f"{seconds:.6f}")
    redis.ltrim(keys.LATENCY, 0, LATENCY_SAMPLES - 1)
    redis.hincrby(keys.LATENCY_TOTALS, "count", 1)
    redis.hincrbyfloat(keys.LATENCY_TOTALS, "seconds", seconds)


def record_in_call_latency(redis: Redis, seconds: float) -> None:
    """Keep the latency of one webhook of a call inside the flow, measured from when the
    balancer read it (its wait in the balancer's queue included), among the recent ones."""
    redis.lpush(keys.IN_CALL_LATENCY, f"{seconds:.6f}")
    redis.ltrim(keys.IN_CALL_LATENCY, 0, LATENCY_SAMPLES - 1)


def in_call_latency_percentiles(redis: Redis) -> dict[str, float]:
    """p50, p95 and p99 of recent in-call webhook latencies in milliseconds (0 when none
    yet), and how many samples they are over."""
    return _percentiles(redis.lrange(keys.IN_CALL_LATENCY, 0, -1))


def latency_percentiles(redis: Redis) -> dict[str, float]:
    """p50, p95 and p99 of recent webhook latencies in milliseconds (0 when none yet), how
    many samples they are over, and the running `count` and `seconds` of every webhook."""
    with redis.pipeline() as pipe:
        pipe.lrange(keys.LATENCY, 0, -1)
        pipe.hgetall(keys.LATENCY_TOTALS)
        recent, running = pipe.execute()
    totals = {
        "count": int(running.get(b"count", 0)),
        "seconds": round(float(running.get(b"seconds", 0.0)), 6),
    }
    return {**_percentiles(recent), **totals}


def _percentiles(recent: list[bytes | str]) -> dict[str, float]:
    samples = sorted(float(value) for value in recent)
    if not samples:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "samples": 0}

    def at(fraction: float) -> float:
        return round(samples[min(len(samples) - 1, int(fraction * len(samples)))] * 1000, 1)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "samples": len(samples)}


def calls_in_language(language: str) -> str:
    """The running total of calls that ended in `language` (callflows.phrases.LANGUAGES)."""
    return f"calls_in_{language}"


def add_event(redis: Redis, name: str, amount: int = 1) -> None:
    """A running total (e.g. "pin_failures", "precinct_locks")."""
    redis.hincrby(keys.TOTALS, name, amount)


def totals(redis: Redis) -> dict[str, int]:
    return {_text(name): int(value) for name, value in redis.hgetall(keys.TOTALS).items()}


def record_history(redis: Redis, sample: dict[str, int], now: float | None = None) -> None:
    """Keep one sample per minute (the latest wins) for the last hour's chart."""
    key = keys.HISTORY
    minute = _minute(now)
    with redis.pipeline() as pipe:
        pipe.hset(key, str(minute), ",".join(f"{k}={v}" for k, v in sorted(sample.items())))
        pipe.execute()
    stale = [m for m in redis.hkeys(key) if int(m) < minute - HISTORY_MINUTES]
    if stale:
        redis.hdel(key, *stale)


def history(redis: Redis) -> list[tuple[int, dict[str, int]]]:
    """(minute since the epoch, sample) pairs, oldest first."""
    raw = redis.hgetall(keys.HISTORY)
    points = []
    for minute, value in raw.items():
        pairs = (pair.partition("=") for pair in _text(value).split(",") if pair)
        points.append((int(minute), {name: int(number) for name, _, number in pairs}))
    return sorted(points)
