"""The overview: one metrics snapshot for the page and its JSON, and the hour's chart."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from callflows.events import CallStarted
from ivr.hotline import Hotline
from ivr.metrics import collect
from ivr.staff.chart import HEIGHT, LEFT, RIGHT, TOP, WIDTH, build_chart, nice_ceiling
from models import ReportStatus, StaffRole
from queues import admission, call_log, counters
from tests.ivr.staff.support import add_precinct, add_report, staff_client


def busy_night(hotline: Hotline) -> None:
    add_precinct(hotline, "100001", "Adair", "1NW ADAIR")
    add_precinct(hotline, "100002", "Adair", "2 ADAIR")
    add_precinct(hotline, "200001", "Black Hawk", "CF 1")
    add_report(hotline, "100001", status=ReportStatus.COMMITTED)
    add_report(hotline, "200001", status=ReportStatus.FLAGGED)
    for sid in ("CA1", "CA2", "CA3"):
        admission.admit(hotline.redis, sid)
    counters.count_screening(hotline.redis, "rejected", "blocklisted")
    counters.count_screening(hotline.redis, "rejected", "blocklisted")
    counters.record_latency(hotline.redis, 0.012)
    call_log.add(hotline.redis, CallStarted(call_sid="CA4", at="2020-02-03T19:00:00+00:00"))


def without_time(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in snapshot.items() if key != "at"}


def test_the_overview_json_is_the_metrics_snapshot(client: FlaskClient, hotline: Hotline) -> None:
    busy_night(hotline)
    staff_client(client, hotline, StaffRole.VIEWER)
    response = client.get("/staff/overview.json")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    snapshot = response.get_json()["snapshot"]
    assert without_time(snapshot) == without_time(collect(hotline).to_dict())
    assert snapshot["calls_in_ivr"] == 3
    assert snapshot["reports"]["received"] == 2 and snapshot["reports"]["flagged"] == 1
    assert (snapshot["precincts_reported"], snapshot["precincts_outstanding"]) == (2, 1)
    assert snapshot["by_county"]["Adair"] == {
        "total": 2,
        "reported": 1,
        "outstanding": 1,
        "photos": 0,
        "reconciled": 0,
    }
    assert snapshot["queues"]["events"]["queued"] == 1
    assert snapshot["screening_15m"] == {"rejected:blocklisted": 2}
    assert snapshot["latency_ms"]["p50"] == 12.0


def test_each_snapshot_adds_to_the_hours_history(client: FlaskClient, hotline: Hotline) -> None:
    busy_night(hotline)
    staff_client(client, hotline, StaffRole.VIEWER)
    chart = client.get("/staff/overview.json").get_json()["chart"]
    ((_, sample),) = counters.history(hotline.redis)
    assert sample == {"calls": 3, "hold": 0, "queued": 1}
    assert chart["latest"] == sample
    assert chart["lines"]["calls"].count(",") == 1  # one point so far


def test_the_page_shows_the_same_numbers(client: FlaskClient, hotline: Hotline) -> None:
    busy_night(hotline)
    staff_client(client, hotline, StaffRole.VIEWER)
    html = client.get("/staff/").get_data(as_text=True)
    shown = dict(re.findall(r"data-metric='([^']+)' data-format=\"\w+\">([^<]*)<", html))
    assert shown['["calls_in_ivr"]'] == "3"
    assert shown['["reports", "flagged"]'] == "1"
    assert shown['["precincts_reported"]'] == "2"
    assert shown['["by_county", "Black Hawk", "outstanding"]'] == "0"
    assert shown['["latency_ms", "p50"]'] == "12.0 ms"
    assert "blocklisted" in html
    assert 'id="chart-line-calls"' in html
    assert "/static/overview.js" in html


def test_nice_ceiling() -> None:
    assert [nice_ceiling(v) for v in (0, 4, 5, 6, 11, 20, 21, 999)] == [
        5,
        5,
        5,
        10,
        20,
        20,
        50,
        1000,
    ]


def test_the_chart_spans_the_last_hour_and_scales_to_its_largest_number() -> None:
    now = 1_000_000
    samples = [
        (now - 90, {"calls": 500, "hold": 0, "queued": 0}),  # older than an hour: left out
        (now - 60, {"calls": 10, "hold": 0, "queued": 0}),
        (now, {"calls": 20, "hold": 5, "queued": 1}),
    ]
    chart = build_chart(samples, now)
    assert chart.y_max == 20
    bottom, right = HEIGHT - 28, WIDTH - RIGHT
    assert chart.lines["calls"] == f"{LEFT}.0,{(TOP + bottom) / 2} {right}.0,{TOP}.0"
    assert chart.lines["hold"].split(" ")[-1] == f"{right}.0,{TOP + (bottom - TOP) * 0.75}"
    assert chart.latest == {"calls": 20, "hold": 5, "queued": 1}
    assert chart.ends["calls"] == (right, TOP)
    assert [label for _, label in chart.y_ticks] == ["0", "10", "20"]
    empty = build_chart([], now)
    assert empty.lines == {"calls": "", "hold": "", "queued": ""}
    assert empty.ends == {"calls": None, "hold": None, "queued": None}


def test_the_page_lists_the_call_logs_dead_letters_with_their_fields(
    client: FlaskClient, hotline: Hotline
) -> None:
    staff_client(client, hotline, StaffRole.VIEWER)
    assert 'id="dead-letters"' not in client.get("/staff/").get_data(as_text=True)

    redis = hotline.redis
    long_sid = "CA" + "9" * 100
    call_log.add(redis, CallStarted(call_sid=long_sid, at="2020-02-03T19:00:00+00:00",
                                    from_number="+15155550123"))  # fmt: skip
    redis.xadd(call_log.STREAM, {"kind": "exploded", "payload": '{"x": "<script>alert(1)"}'})
    assert call_log.drain(redis, hotline.sessions, "worker-a") == 2

    html = client.get("/staff/").get_data(as_text=True)
    assert 'id="dead-letters"' in html
    shown = dict(re.findall(r"data-metric='([^']+)' data-format=\"\w+\">([^<]*)<", html))
    assert shown['["call_log_dead_letters"]'] == "2"
    assert shown['["queues", "events", "failed"]'] == "2"
    table = html.split('id="dead-letters"')[1].split("</table>")[0]
    rows = re.findall(r"<tr><td>(.*?)</td></tr>", table, re.S)
    assert len(rows) == 2
    newest, oldest = rows
    assert "exploded" in newest and "MalformedEvent" in newest
    assert "<script>" not in html and "x=&lt;script&gt;alert(1)" in newest
    assert "UnstorableEvent" in oldest and "call_sid longer than 64 characters" in oldest
    assert f"call_sid={long_sid}" in oldest and "from_number=+15155550123" in oldest

    snapshot = client.get("/staff/overview.json").get_json()["snapshot"]
    assert snapshot["call_log_dead_letters"] == 2
