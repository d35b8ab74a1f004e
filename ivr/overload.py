"""What overload control at the balancers is doing, read from HAProxy's statistics.

The balancers (`ivr.balancer`) refuse new calls busy while the web tier is saturated; staff
see it on the overview and on /metrics. Each balancer's statistics page (CSV, at the URLs
of HAPROXY_STATS_URLS) says how many calls its REFUSED backend answered, how many in the
last second, and how many requests wait in its queue. They are read at most once a
second per web process (the overview polls every two seconds, from every open page), with
a short timeout, and a balancer that does not answer is reported as such rather than
holding up the page.
"""

from __future__ import annotations

import csv
import io
import logging
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ivr.balancer import BACKEND, REFUSED

log = logging.getLogger(__name__)

CACHE_SECONDS = 1.0
FETCH_TIMEOUT_SECONDS = 0.5
"""A balancer that takes longer is counted unreachable: the page must not wait for it."""

Fetch = Callable[[str], str]


@dataclass(frozen=True)
class OverloadStatus:
    """The balancers' overload control, summed over every balancer that answered."""

    shedding: bool
    """Some balancer refused a call in the last second."""
    refused_per_second: int
    """Calls refused busy in the last second."""
    refused_total: int
    """Calls refused busy since the balancers started."""
    queued: int
    """Requests waiting in the balancers' queues for a web thread."""
    queue_ms: int
    """The longest of the balancers' average queue times (HAProxy's `qtime`: over their
    last 1,024 requests, every class together)."""
    balancers: int
    """Balancers configured (HAPROXY_STATS_URLS)."""
    unreachable: int
    """Balancers whose statistics did not answer."""


def read_status(urls: Sequence[str], fetch: Fetch | None = None) -> OverloadStatus:
    """Ask every balancer now."""
    get = fetch or _fetch
    refused_rate = refused_total = queued = queue_ms = unreachable = 0
    for url in urls:
        try:
            rows = stats_rows(get(f"{url};csv"))
        except Exception as error:
            # The address only (no credentials ever go in these URLs).
            log.warning("balancer statistics at %s unreadable (%s)", url, type(error).__name__)
            unreachable += 1
            continue
        refused = rows.get((REFUSED, "BACKEND"), {})
        backend = rows.get((BACKEND, "BACKEND"), {})
        refused_rate += _number(refused.get("rate"))
        refused_total += _number(refused.get("stot"))
        queued += _number(backend.get("qcur"))
        queue_ms = max(queue_ms, _number(backend.get("qtime")))
    return OverloadStatus(
        shedding=refused_rate > 0,
        refused_per_second=refused_rate,
        refused_total=refused_total,
        queued=queued,
        queue_ms=queue_ms,
        balancers=len(urls),
        unreachable=unreachable,
    )


class OverloadMonitor:
    """`read_status` at most once every CACHE_SECONDS in this process."""

    def __init__(self, urls: Sequence[str], fetch: Fetch | None = None) -> None:
        self.urls = tuple(urls)
        self._fetch = fetch
        self._lock = threading.Lock()
        self._status: OverloadStatus | None = None
        self._read_at = float("-inf")

    def status(self) -> OverloadStatus:
        with self._lock:
            now = time.monotonic()
            if self._status is None or now - self._read_at >= CACHE_SECONDS:
                self._status = read_status(self.urls, self._fetch)
                self._read_at = now
            return self._status


def _fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:
        return str(response.read().decode())


def stats_rows(text: str) -> dict[tuple[str, str], dict[str, str]]:
    """HAProxy's CSV (its header starts with "# ") by (proxy, server) name."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("# ")))
    return {(row["pxname"], row["svname"]): row for row in reader if row.get("svname")}


def _number(text: str | None) -> int:
    return int(text) if text and text.isdigit() else 0
