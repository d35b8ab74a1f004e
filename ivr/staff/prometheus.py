"""The metrics snapshot in Prometheus' text exposition format (version 0.0.4).

Everything comes from `ivr.metrics.collect`, which reads Redis and the database, so any
gunicorn worker answers a scrape with the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ivr.metrics import Snapshot

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Sample = tuple[Mapping[str, str], float]


def render(snapshot: Snapshot) -> str:
    """Every number of the snapshot as gauges and counters named hotline_*."""
    exposition = _Exposition()
    gauge, counter = exposition.gauge, exposition.counter
    gauge("hotline_calls_in_ivr", "Calls inside the IVR now.", [({}, snapshot.calls_in_ivr)])
    gauge("hotline_hold_queue_depth", "Callers in the hold queue.", [({}, snapshot.hold_depth)])
    gauge(
        "hotline_hold_longest_wait_seconds",
        "How long the longest-waiting held caller has waited.",
        [({}, snapshot.hold_longest_wait_seconds)],
    )
    gauge(
        "hotline_rq_jobs",
        "rq jobs by queue and state.",
        [
            ({"queue": name, "state": state}, getattr(depth, state))
            for name, depth in snapshot.queues.items()
            for state in ("queued", "started", "failed")
        ],
    )
    counter(
        "hotline_rq_abandoned_jobs_total",
        "Jobs whose worker died mid-job.",
        [({}, snapshot.abandoned_jobs)],
    )
    gauge(
        "hotline_reports",
        "Reports in the database by status (received: all of them).",
        [({"status": status}, count) for status, count in snapshot.reports.items()],
    )
    gauge(
        "hotline_precincts",
        "Precincts: all, reported (any report) and outstanding.",
        [
            ({"state": "total"}, snapshot.precincts_total),
            ({"state": "reported"}, snapshot.precincts_reported),
            ({"state": "outstanding"}, snapshot.precincts_outstanding),
        ],
    )
    gauge(
        "hotline_county_precincts",
        "Precincts by county and state.",
        [
            ({"county": county, "state": state}, count)
            for county, tally in snapshot.by_county.items()
            for state, count in sorted(tally.items())
        ],
    )
    gauge(
        "hotline_screening_decisions_15m",
        "Screening decisions in the last 15 minutes by outcome and reason.",
        [
            (dict(zip(("outcome", "reason"), key.split(":", 1), strict=False)), count)
            for key, count in sorted(snapshot.screening_15m.items())
        ],
    )
    latency = snapshot.latency_ms
    gauge(
        "hotline_webhook_latency_seconds",
        "Webhook latency percentiles over the most recent requests.",
        [
            ({"quantile": q}, latency.get(name, 0.0) / 1000)
            for q, name in (("0.5", "p50"), ("0.95", "p95"), ("0.99", "p99"))
        ],
    )
    counter(
        "hotline_events_total",
        "Running totals the call path keeps (PIN failures, locks, ...).",
        [({"event": name}, count) for name, count in sorted(snapshot.totals.items())],
    )
    return exposition.text()


class _Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def gauge(self, name: str, help_text: str, samples: Iterable[Sample]) -> None:
        self._metric("gauge", name, help_text, samples)

    def counter(self, name: str, help_text: str, samples: Iterable[Sample]) -> None:
        self._metric("counter", name, help_text, samples)

    def _metric(self, kind: str, name: str, help_text: str, samples: Iterable[Sample]) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        self.lines.extend(f"{name}{_labels(labels)} {_number(value)}" for labels, value in samples)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    pairs = ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items())
    return "{" + pairs + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
