"""When callers start calling: arrival profiles over a run of a given length.

Each profile is a density over the run (0..1 of its duration); arrival times are drawn from
it by inverse transform, so the same seed gives the same night.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Callable

PROFILES = ("steady", "spike", "viral")
"""steady: the same rate all along; spike: a tenth of the run brings half the calls (a
robo-dialer switched on); viral: the number spreads online, calls grow exponentially to a
peak at 70 % of the run and fall off after it."""

_GRID = 1000


def _density(profile: str) -> Callable[[float], float]:
    if profile == "steady":
        return lambda x: 1.0
    if profile == "spike":
        # Half the calls in [0.40, 0.50): a density of 9 there against 1 elsewhere.
        return lambda x: 9.0 if 0.40 <= x < 0.50 else 1.0
    if profile == "viral":
        return lambda x: math.exp(6 * x) if x < 0.7 else math.exp(4.2 - 12 * (x - 0.7))
    raise ValueError(f"unknown arrival profile {profile!r}; choose from {', '.join(PROFILES)}")


def arrival_times(profile: str, count: int, duration: float, rng: random.Random) -> list[float]:
    """`count` start times in seconds from the run's start, ascending, within `duration`."""
    density = _density(profile)
    weights = [density((i + 0.5) / _GRID) for i in range(_GRID)]
    cumulative: list[float] = []
    running = 0.0
    for weight in weights:
        running += weight
        cumulative.append(running)
    times = []
    for _ in range(count):
        target = rng.random() * running
        cell = min(bisect.bisect_left(cumulative, target), _GRID - 1)
        times.append((cell + rng.random()) / _GRID * duration)
    return sorted(times)
