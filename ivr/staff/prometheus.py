"""The metrics snapshot for Prometheus, written by prometheus_client.

Everything comes from `ivr.metrics.collect`, which reads Redis and the database, so any
gunicorn worker answers a scrape with the same numbers. Each scrape builds a registry over
one snapshot: nothing is counted in the process itself.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from ivr.metrics import Snapshot
from queues.counters import LATENCY_SAMPLES

CONTENT_TYPE = CONTENT_TYPE_LATEST

STAFF_OUTCOMES = (
    ("requested", "staff_requests"),
    ("put_through", "staff_put_through"),
    ("no_answer", "staff_no_answer"),
    ("off_duty", "staff_off_duty"),
)
"""Each outcome label of hotline_staff_requests with the running total behind it."""

LATENCY_QUANTILES = (("0.5", "p50"), ("0.95", "p95"), ("0.99", "p99"))
"""Each quantile label with the snapshot's name for it."""


def render(snapshot: Snapshot) -> bytes:
    """Every number of the snapshot as metrics named hotline_*, in the text format."""
    registry = CollectorRegistry()
    registry.register(SnapshotCollector(snapshot))
    return generate_latest(registry)


class SnapshotCollector(Collector):
    """The metrics of one snapshot: gauges for what is now, counters for running totals,
    and a summary of webhook latency."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        yield GaugeMetricFamily(
            "hotline_calls_in_ivr", "Calls inside the IVR now.", snap.calls_in_ivr
        )
        yield GaugeMetricFamily(
            "hotline_hold_queue_depth", "Callers in the hold queue.", snap.hold_depth
        )
        yield GaugeMetricFamily(
            "hotline_hold_longest_wait_seconds",
            "How long the longest-waiting held caller has waited.",
            snap.hold_longest_wait_seconds,
        )
        rq_jobs = GaugeMetricFamily(
            "hotline_rq_jobs", "rq jobs by queue and state.", labels=["queue", "state"]
        )
        for name, depth in snap.queues.items():
            for state in ("queued", "started", "failed"):
                rq_jobs.add_metric([name, state], getattr(depth, state))
        yield rq_jobs
        yield CounterMetricFamily(
            "hotline_rq_abandoned_jobs", "Jobs whose worker died mid-job.", snap.abandoned_jobs
        )
        yield GaugeMetricFamily(
            "hotline_call_log_dead_letters",
            "Call-log entries the database refused, kept for staff (the most recent ones).",
            snap.call_log_dead_letters,
        )
        reports = GaugeMetricFamily(
            "hotline_reports",
            "Reports in the database by status (received: all of them).",
            labels=["status"],
        )
        for status, count in snap.reports.items():
            reports.add_metric([status], count)
        yield reports
        precincts = GaugeMetricFamily(
            "hotline_precincts",
            "Precincts: all, reported (any report) and outstanding.",
            labels=["state"],
        )
        precincts.add_metric(["total"], snap.precincts_total)
        precincts.add_metric(["reported"], snap.precincts_reported)
        precincts.add_metric(["outstanding"], snap.precincts_outstanding)
        yield precincts
        worksheets = GaugeMetricFamily(
            "hotline_worksheets",
            "Texted worksheets: messages, photos stored, waiting to be fetched or not taken "
            "(too large, not fetched, not a photo), and messages in triage.",
            labels=["kind"],
        )
        for kind, count in sorted(snap.worksheets.items()):
            worksheets.add_metric([kind], count)
        yield worksheets
        county = GaugeMetricFamily(
            "hotline_county_precincts", "Precincts by county and state.", labels=["county", "state"]
        )
        for name, tally in snap.by_county.items():
            for state, count in sorted(tally.items()):
                county.add_metric([name, state], count)
        yield county
        screening = GaugeMetricFamily(
            "hotline_screening_decisions_15m",
            "Screening decisions in the last 15 minutes by outcome and reason.",
            labels=["outcome", "reason"],
        )
        for key, count in sorted(snap.screening_15m.items()):
            outcome, _, reason = key.partition(":")
            screening.add_metric([outcome, reason], count)
        yield screening
        yield _latency_summary(snap.latency_ms)
        yield from _overload_metrics(snap)
        events = CounterMetricFamily(
            "hotline_events",
            "Running totals the call path keeps (PIN failures, locks, ...).",
            labels=["event"],
        )
        for name, count in sorted(snap.totals.items()):
            events.add_metric([name], count)
        yield events
        staff = CounterMetricFamily(
            "hotline_staff_requests",
            "Callers who pressed 0 at a menu to reach staff (requested), and what came of it: "
            "put through to staff who answered, staff did not answer, nobody on duty.",
            labels=["outcome"],
        )
        for outcome, name in STAFF_OUTCOMES:
            staff.add_metric([outcome], snap.totals.get(name, 0))
        yield staff


def _latency_summary(latency_ms: dict[str, float]) -> SummaryMetricFamily:
    """Webhook latency: quantiles over the most recent requests Redis keeps, and the count
    and sum of every request timed (running totals, so a scraper can take rates)."""
    name = "hotline_webhook_latency_seconds"
    summary = SummaryMetricFamily(
        name,
        f"Webhook latency (quantiles over the most recent {LATENCY_SAMPLES} requests).",
        count_value=int(latency_ms.get("count", 0)),
        sum_value=latency_ms.get("seconds", 0.0),
    )
    # SummaryMetricFamily has no call for quantiles (prometheus_client's own summaries keep
    # none), so they go in as plain samples, as the exposition format writes them.
    for quantile, key in LATENCY_QUANTILES:
        summary.samples.append(Sample(name, {"quantile": quantile}, latency_ms.get(key, 0) / 1000))
    return summary


def _overload_metrics(snap: Snapshot) -> Iterator[Metric]:
    """In-call latency, and the balancers' overload control when there are balancers."""
    in_call = GaugeMetricFamily(
        "hotline_in_call_latency_seconds",
        "Latency of webhooks of calls inside the flow, from the balancer's arrival (its "
        f"queue included), over the most recent {LATENCY_SAMPLES}.",
        labels=["quantile"],
    )
    for quantile, key in LATENCY_QUANTILES:
        in_call.add_metric([quantile], snap.in_call_latency_ms.get(key, 0) / 1000)
    yield in_call
    overload = snap.overload
    if overload is None:
        return
    yield GaugeMetricFamily(
        "hotline_overload_shedding",
        "1 while the balancers refuse new calls busy (a refusal in the last second).",
        int(overload.shedding),
    )
    yield GaugeMetricFamily(
        "hotline_overload_refused_per_second",
        "New calls the balancers refused busy in the last second.",
        overload.refused_per_second,
    )
    yield CounterMetricFamily(
        "hotline_overload_refused_calls",
        "New calls the balancers refused busy since they started.",
        overload.refused_total,
    )
    yield GaugeMetricFamily(
        "hotline_balancer_queued_requests",
        "Requests waiting in the balancers' queues for a web thread.",
        overload.queued,
    )
    yield GaugeMetricFamily(
        "hotline_balancers_unreachable",
        "Balancers whose statistics did not answer.",
        overload.unreachable,
    )
