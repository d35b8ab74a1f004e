"""Playing a scenario's callers against a hotline over HTTP, many calls at once (threads).

The test suite's flood test uses it; `hotline flood` plays the same callers with Locust.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from flood.calls import CallResult, Line, place_calls
from flood.personas import Chair, Prank
from softphone import HttpTransport

__all__ = ["CallResult", "run_callers"]


def run_callers(
    callers: Sequence[Chair | Prank],
    *,
    voice_url: str,
    auth_token: str,
    concurrency: int,
    time_scale: float = 0.0,
    deadline_seconds: float = 600.0,
) -> list[CallResult]:
    """Place every caller's calls, `concurrency` at a time; stop starting calls at the deadline."""
    results: list[CallResult] = []
    lock = threading.Lock()
    local = threading.local()
    deadline = time.monotonic() + deadline_seconds

    def transport() -> HttpTransport:
        if not hasattr(local, "transport"):
            local.transport = HttpTransport()
        found: HttpTransport = local.transport
        return found

    def run(caller: Chair | Prank) -> None:
        line = Line(transport(), voice_url, auth_token, time_scale=time_scale)
        for result in place_calls(caller, line, deadline=deadline, sleep=lambda _: None):
            with lock:
                results.append(result)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(run, caller) for caller in callers]:
            future.result()
    return results
