"""Driving a webhook target flat out for a few seconds: the throughput half of the baseline.

Closed loop, no think time: each of `concurrency` lines places calls back to back for
`seconds`, through the same softphone and Locust client as the flood, and only requests
answered inside the window count. Runs in the flood's (gevent) process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gevent
from locust.contrib.fasthttp import FastHttpSession
from locust.event import EventHook

from flood.baseline import Throughput, percentile
from flood.calls import Line, place_calls
from flood.locustfile import LocustTransport
from flood.personas import Chair, Prank
from softphone import TWILIO_TIMEOUT_SECONDS

GRACE_SECONDS = 30
"""How long calls still going at the end of the window may take to finish."""


def saturate(
    target: str,
    voice_url: str,
    auth_token: str,
    next_caller: Callable[[], Chair | Prank],
    *,
    seconds: float,
    concurrency: int,
) -> Throughput:
    """Requests per second `voice_url` answers with `concurrency` callers keying at once."""
    times: list[float] = []
    failures = 0
    started = time.monotonic()
    window_end = started + seconds

    def on_request(response_time: float, exception: Any = None, **_: Any) -> None:
        nonlocal failures
        if time.monotonic() > window_end:
            return
        times.append(response_time)
        failures += exception is not None

    hook = EventHook()  # type: ignore[no-untyped-call]
    hook.add_listener(on_request)  # type: ignore[no-untyped-call]

    def line() -> None:
        session = FastHttpSession(
            base_url=None,
            request_event=hook,
            user=None,
            network_timeout=TWILIO_TIMEOUT_SECONDS,
            connection_timeout=TWILIO_TIMEOUT_SECONDS,
            max_retries=0,  # a POST is never sent twice behind the softphone's back
        )
        phone_line = Line(LocustTransport(session), voice_url, auth_token)
        while time.monotonic() < window_end:
            for _ in place_calls(next_caller(), phone_line, deadline=window_end):
                pass

    lines = [gevent.spawn(line) for _ in range(concurrency)]
    gevent.joinall(lines, timeout=seconds + GRACE_SECONDS)
    gevent.killall(lines, block=True, timeout=5)
    return Throughput(
        target=target,
        requests=len(times),
        failures=failures,
        seconds=round(seconds, 2),
        concurrency=concurrency,
        p50_ms=round(percentile(times, 0.50), 1),
        p99_ms=round(percentile(times, 0.99), 1),
    )
