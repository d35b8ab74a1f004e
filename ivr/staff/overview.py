"""The overview: live numbers of calls, queues, reports and precincts, and the last hour.

The page and its JSON (polled every two seconds) show one `ivr.metrics.collect` snapshot;
each time it is taken, a sample goes into the hour's history for the chart. The page also
lists failed report jobs, which a reviewer can requeue from it, the call log's dead
letters (call events the database refused), and the last `hotline twilio check`.
"""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ivr import catalogue
from ivr.hotline import Hotline, current_hotline
from ivr.metrics import Snapshot, collect
from ivr.staff import jobs, readiness
from ivr.staff.access import actor, current_staff, requires, staff_blueprint
from ivr.staff.chart import SERIES, Chart, build_chart
from ivr.twilio_setup import last_check
from models import StaffRole
from queues import call_log, counters

bp = staff_blueprint("overview", __name__)

FAILED_JOBS_SHOWN = 50
"""Failed report jobs listed on the page; `hotline jobs failed` lists every one."""
DEAD_LETTERS_SHOWN = 50
"""The call log's most recent dead letters listed on the page; `hotline calllog
dead-letters` lists every one kept."""


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
    hotline = current_hotline()
    snapshot, chart = take_snapshot(hotline)
    with hotline.sessions() as db:
        # Drawn once with the page (the live numbers poll; the map follows on a reload).
        county_map = readiness.map_of(readiness.board(db))
    return render_template(
        "overview.html",
        snap=snapshot,
        chart=chart,
        series=SERIES,
        failed_jobs=jobs.failed_jobs(hotline.redis, limit=FAILED_JOBS_SHOWN),
        dead_letters=call_log.dead_letters(hotline.redis, limit=DEAD_LETTERS_SHOWN),
        can_requeue=current_staff().may(StaffRole.REVIEWER),
        twilio_check=last_check(hotline.redis),
        county_map=county_map,
        languages=catalogue.LANGUAGES,
    )


@bp.post("/jobs/requeue")
@requires(StaffRole.REVIEWER)
def requeue_job() -> Response:
    """Put one failed report job back on the reports queue, audited."""
    job_id = request.form.get("job_id", "")
    hotline = current_hotline()
    try:
        with hotline.sessions.begin() as db:
            requeued = jobs.requeue(db, hotline.redis, [job_id], actor())
    except jobs.JobError as error:
        flash(str(error), "error")
    else:
        if requeued:
            flash(f"Requeued job {job_id}.", "info")
        else:
            flash(f"Job {job_id} was already requeued.", "info")
    return redirect(url_for("overview.index"), code=303)


@bp.get("/overview.json")
def data() -> Response:
    snapshot, chart = take_snapshot(current_hotline())
    payload: dict[str, Any] = {"snapshot": snapshot.to_dict(), "chart": chart.to_dict()}
    response = jsonify(payload)
    response.headers["Cache-Control"] = "no-store"
    return response
