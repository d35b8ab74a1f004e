"""Hands the plan's arrivals to the load generator's lines, on time, and logs every call.

A line (a Locust user) asks for the next arrival, waits until its second comes, and plays
that persona's calls. Arrivals are taken in order, so as long as there are enough lines the
calls start on the plan's schedule whatever the hotline does (an open model, like real
callers); `lags` shows how late they started when there were not.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field

from flood.calls import CallSummary, Line, place_calls
from flood.scenarios import Arrival
from softphone import Transport

log = logging.getLogger(__name__)


@dataclass
class LineConfig:
    """Where the calls go and how fast virtual time passes."""

    voice_url: str
    auth_token: str = field(repr=False)
    time_scale: float
    human_think: bool
    fallback_url: str = ""
    """The numbers' fallback URL ("": beside the Voice URL)."""


@dataclass
class CallLog:
    """What the dispatcher has seen so far; workers ship it to the master piece by piece."""

    calls: list[CallSummary] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


class Dispatcher:
    """The plan's arrivals for one load-generator process, taken by its lines in order."""

    def __init__(
        self, arrivals: list[Arrival], config: LineConfig, *, origin: float, deadline: float
    ) -> None:
        self.arrivals = arrivals
        self.config = config
        self.origin = origin
        """Wall-clock time (epoch) of the run's second 0."""
        self.deadline = deadline
        """Wall-clock time after which no call is started."""
        self.log = CallLog()
        self.taken = 0
        self.in_flight = 0

    @property
    def finished(self) -> bool:
        """Every arrival was played (or the deadline passed) and no call is still going."""
        exhausted = self.taken >= len(self.arrivals) or time.time() >= self.deadline
        return exhausted and self.in_flight == 0

    def next_arrival(self) -> Arrival | None:
        """The next persona to play, once its second has come; None when there is none."""
        if self.taken >= len(self.arrivals) or time.time() >= self.deadline:
            return None
        arrival = self.arrivals[self.taken]
        self.taken += 1
        self.in_flight += 1  # counted from now, so `finished` cannot pass while we wait
        delay = self.origin + arrival.at - time.time()
        if delay > 0:
            time.sleep(delay)  # gevent's sleep under Locust: the other lines go on
        self.log.lags.append(round(max(0.0, -delay), 3))
        return arrival

    def play(self, arrival: Arrival, transport: Transport) -> None:
        """Place the persona's calls (call `next_arrival` first); never raises."""
        config = self.config
        line = Line(
            transport,
            config.voice_url,
            config.auth_token,
            time_scale=config.time_scale,
            human_think=config.human_think,
            fallback_url=config.fallback_url,
        )
        deadline = time.monotonic() + (self.deadline - time.time())
        try:
            for result in place_calls(arrival.caller, line, deadline=deadline):
                self.log.calls.append(CallSummary.of(result))
        except Exception as error:
            # A persona meeting a prompt it cannot answer is a finding, not a crash of the run.
            self.log.errors[f"{type(error).__name__}: {error}"[:200]] += 1
            log.exception("a call of %s failed in the load generator", arrival.caller.phone)
        finally:
            self.in_flight -= 1

    def drain_log(self) -> CallLog:
        """What was logged since the last drain (a worker's piece for the master)."""
        drained, self.log = self.log, CallLog()
        return drained
