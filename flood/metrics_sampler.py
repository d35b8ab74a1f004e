"""Samples what the hotline shows staff (IVR occupancy, hold queue, rq queues, counters)
from its Redis during a flood, for the report's charts.

It reads through the hotline's own functions (`queues.admission`, `queues.counters`,
`ivr.metrics.queue_depths`), so the keys are never derived twice.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from redis import Redis
from redis.exceptions import RedisError

from ivr.metrics import queue_depths
from queues import admission, counters

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sample:
    """The hotline's live numbers at one moment."""

    at: float
    calls_in_ivr: int
    hold_depth: int
    hold_longest_wait_seconds: float
    queued: dict[str, int]
    started: dict[str, int]
    failed: dict[str, int]
    latency_ms: dict[str, float]
    """The hotline's own view of its webhook latency (its last 2,000 requests)."""


def take_sample(redis: Redis) -> Sample:
    depth, longest = admission.hold_queue(redis)
    queues = queue_depths(redis)
    return Sample(
        at=time.time(),
        calls_in_ivr=admission.occupancy(redis),
        hold_depth=depth,
        hold_longest_wait_seconds=round(longest, 1),
        queued={name: depth.queued for name, depth in queues.items()},
        started={name: depth.started for name, depth in queues.items()},
        failed={name: depth.failed for name, depth in queues.items()},
        latency_ms=counters.latency_percentiles(redis),
    )


def jobs_pending(sample: Sample) -> int:
    return sum(sample.queued.values()) + sum(sample.started.values())


@dataclass
class MetricsSampler:
    """Takes a sample every `interval` seconds until stopped; a failed read is skipped."""

    redis: Redis
    interval: float = 2.0
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """Loop until `stop()`; meant for its own greenlet or thread."""
        while not self._stop.is_set():
            try:
                self.samples.append(take_sample(self.redis))
            except RedisError as error:
                log.warning("could not sample the hotline's Redis: %s", error)
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()

    @property
    def latest(self) -> Sample | None:
        return self.samples[-1] if self.samples else None


def screening_and_totals(redis: Redis) -> dict[str, dict[str, int]]:
    """The hotline's screening decisions of the last 15 minutes, and its running totals."""
    return {
        "screening_15m": counters.screening_counts(redis),
        "totals": counters.totals(redis),
    }


def wait_until_drained(redis: Redis, timeout: float) -> float:
    """Wait until the workers have emptied every queue; return the seconds it took."""
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        if jobs_pending(take_sample(redis)) == 0:
            return time.monotonic() - started
        time.sleep(0.5)
    raise TimeoutError(f"the hotline's queues were not drained after {timeout:.0f} s")
