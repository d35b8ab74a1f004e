"""The one snapshot staff numbers come from, after real calls of every screening outcome."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from flask.testing import FlaskClient, FlaskCliRunner
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis

from callflows.events import CallStarted
from flood.worksheets import load_worksheets
from ivr.hotline import Hotline
from ivr.metrics import collect
from models import StaffRole
from queues import admission, blocklist, call_log
from queues.worker import run_worker
from softphone import HANGUP
from tests.ivr.staff.support import staff_client
from tests.support.calls import CALLER, chair, place_call
from tests.support.data import import_precincts


def test_the_snapshot_counts_calls_queues_reports_precincts_and_screening(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, redis: Redis, tmp_path: Path
) -> None:
    pins = import_precincts(runner, tmp_path, chair_phones={"948199": CALLER})
    sheet = load_worksheets()[("Adair", "1NW ADAIR")]
    redis.sadd(blocklist.REDIS_KEY, "+15155550666")
    place_call(client, lambda p: None, from_number="+15155550666")
    place_call(client, chair("948199", pins["948199"], sheet, hotline.ballot))

    queued = collect(hotline)
    assert queued.queues["reports"].queued >= 1
    assert queued.reports["received"] == 0

    run_worker(hotline.redis, hotline.sessions, burst=True)
    hotline.settings = dataclasses.replace(hotline.settings, ivr_capacity=1)
    admission.admit(redis, "CA-inside")
    place_call(client, lambda p: HANGUP, from_number="+15155550777")  # holds, then hangs up

    snapshot = collect(hotline)
    assert snapshot.calls_in_ivr == 1
    assert snapshot.queues["reports"].queued == 0 and snapshot.queues["reports"].failed == 0
    assert snapshot.reports["committed"] == 1 and snapshot.reports["received"] == 1
    assert snapshot.precincts_total == 5 and snapshot.precincts_reported == 1
    assert snapshot.by_county["Adair"] == {
        "total": 5,
        "reported": 1,
        "outstanding": 4,
        "photos": 0,
        "reconciled": 0,
    }
    assert snapshot.screening_15m == {
        "rejected:blocklisted": 1,
        "admitted:chair": 1,
        "ended:submitted": 1,
        "held:unknown": 1,
    }
    assert snapshot.latency_ms["samples"] > 40 and snapshot.latency_ms["p95"] > 0


def test_metrics_read_back_by_prometheus_client_as_gauges_counters_and_a_summary(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    pins = import_precincts(runner, tmp_path, chair_phones={"948199": CALLER})
    sheet = load_worksheets()[("Adair", "1NW ADAIR")]
    place_call(client, chair("948199", pins["948199"], sheet, hotline.ballot))
    run_worker(hotline.redis, hotline.sessions, burst=True)
    staff_client(client, hotline, StaffRole.VIEWER)

    text = client.get("/metrics").get_data(as_text=True)
    snapshot = collect(hotline)
    families = {family.name: family for family in text_string_to_metric_families(text)}
    types = {name: family.type for name, family in families.items()}
    assert types["hotline_calls_in_ivr"] == "gauge"
    assert types["hotline_reports"] == "gauge"
    assert types["hotline_events"] == "counter"
    assert types["hotline_rq_abandoned_jobs"] == "counter"
    assert types["hotline_webhook_latency_seconds"] == "summary"
    latency = {
        (sample.name, sample.labels.get("quantile")): sample.value
        for sample in families["hotline_webhook_latency_seconds"].samples
    }
    # The count and sum are of every webhook timed; the quantiles of the recent ones.
    count = latency[("hotline_webhook_latency_seconds_count", None)]
    assert count == snapshot.latency_ms["count"] >= snapshot.latency_ms["samples"] > 40
    assert latency[("hotline_webhook_latency_seconds_sum", None)] > 0
    assert latency[("hotline_webhook_latency_seconds", "0.5")] > 0
    assert (
        latency[("hotline_webhook_latency_seconds", "0.5")]
        <= latency[("hotline_webhook_latency_seconds", "0.99")]
    )
    reports = {s.labels["status"]: s.value for s in families["hotline_reports"].samples}
    assert reports["committed"] == snapshot.reports["committed"] == 1


def test_the_call_logs_dead_letters_are_counted_in_the_snapshot_and_in_metrics(
    client: FlaskClient, hotline: Hotline, redis: Redis
) -> None:
    at = "2020-02-03T19:00:00+00:00"
    assert collect(hotline).call_log_dead_letters == 0
    call_log.add(redis, CallStarted(call_sid="CA" + "9" * 100, at=at))  # no call SID fits that
    call_log.add(redis, CallStarted(call_sid="CA1", at=at))
    assert call_log.drain(redis, hotline.sessions, "worker-a") == 2

    snapshot = collect(hotline)
    assert snapshot.call_log_dead_letters == 1
    assert snapshot.queues["events"].failed == 1
    assert snapshot.totals["call_log_dead_letters"] == 1

    staff_client(client, hotline, StaffRole.VIEWER)
    text = client.get("/metrics").get_data(as_text=True)
    families = {family.name: family for family in text_string_to_metric_families(text)}
    gauge = families["hotline_call_log_dead_letters"]
    assert gauge.type == "gauge" and [sample.value for sample in gauge.samples] == [1]
    failed = {
        (s.labels["queue"], s.labels["state"]): s.value for s in families["hotline_rq_jobs"].samples
    }
    assert failed[("events", "failed")] == 1
