"""The overview: live numbers of calls, queues, reports and precincts, and the last hour.

The page and its JSON (polled every two seconds) show one `ivr.metrics.collect` snapshot;
each time it is taken, a sample goes into the hour's history for the chart.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, render_template
from werkzeug.wrappers import Response

from ivr.hotline import Hotline, current_hotline
from ivr.metrics import Snapshot, collect
from ivr.staff.access import staff_blueprint
from ivr.staff.chart import SERIES, Chart, build_chart
from queues import counters

bp = staff_blueprint("overview", __name__)


def take_snapshot(hotline: Hotline) -> tuple[Snapshot, Chart]:
    """The live numbers, with this moment recorded in the chart's history."""
    snapshot = collect(hotline)
    sample = {
        "calls": snapshot.calls_in_ivr,
        "hold": snapshot.hold_depth,
        "queued": sum(depth.queued for depth in snapshot.queues.values()),
    }
    counters.record_history(hotline.redis, sample, now=snapshot.at)
    history = counters.history(hotline.redis)
    return snapshot, build_chart(history, int(snapshot.at // 60))


@bp.get("/")
def index() -> str:
    snapshot, chart = take_snapshot(current_hotline())
    return render_template("overview.html", snap=snapshot, chart=chart, series=SERIES)


@bp.get("/overview.json")
def data() -> Response:
    snapshot, chart = take_snapshot(current_hotline())
    payload: dict[str, Any] = {"snapshot": snapshot.to_dict(), "chart": chart.to_dict()}
    response = jsonify(payload)
    response.headers["Cache-Control"] = "no-store"
    return response
