"""The election's mode on the dashboard: the REHEARSAL banner on every staff page, and the
/staff/mode page (the mode, the switch to live under way, zero reports to download, and the
blocklist entries a rehearsal added, for an admin to keep or drop).

An admin's "Go live" sets `opening` at once (a refusal is shown on the page) and runs the
rest of the switch — the drain, which may last HOTLINE_GO_LIVE_DRAIN_SECONDS — in a thread
of this web process, so the page can show it waiting; `hotline mode live` resumes a switch
whose process died mid-drain.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import threading
import time
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from ivr.hotline import Hotline, current_hotline
from ivr.staff.access import actor, current_staff, requires, staff_blueprint
from ivr.staff.downloads import CSV, download
from models import BlockedNumber, ElectionMode, Mode, StaffRole, ZeroReport
from queues import election_mode, go_live

log = logging.getLogger(__name__)
bp = staff_blueprint("mode", __name__, "/mode")


@bp.app_context_processor
def _mode_context() -> dict[str, Any]:
    """Every page that extends base.html says the mode (the banner), one Redis GET."""
    hotline = current_hotline()
    try:
        mode = election_mode.current(hotline.redis, hotline.sessions).value
    except (RedisError, SQLAlchemyError):
        # An error page during an outage must still render; it says what is wrong itself.
        log.exception("the election's mode could not be read for the banner")
        mode = ""
    return {"election_mode": mode}


@bp.get("")
def index() -> str:
    hotline = current_hotline()
    mode = election_mode.current(hotline.redis, hotline.sessions)
    with hotline.sessions() as db:
        row = db.get(ElectionMode, election_mode.ROW_ID)
        reports = list(db.scalars(select(ZeroReport).order_by(ZeroReport.id.desc())))
        latest = reports[0] if reports else None
        review = [
            entry
            for entry_id in (latest.blocklist_to_review if latest else [])
            if (entry := db.get(BlockedNumber, entry_id)) is not None
        ]
        live_reports = go_live.live_reports(db)
    switch = go_live.switch_under_way(hotline.redis)
    return render_template(
        "mode.html",
        mode=mode.value,
        row=row,
        zero_reports=reports,
        review=review,
        switch=switch,
        pending=go_live.pending_work(hotline.redis) if mode is Mode.OPENING else None,
        gives_up_in=max(0, int(switch["gives_up_at"] - time.time())) if switch else None,
        live_reports=live_reports,
        can_switch=current_staff().may(StaffRole.ADMIN),
        drain_seconds=hotline.settings.go_live_drain_seconds,
    )


@bp.post("/live")
@requires(StaffRole.ADMIN)
def go_live_action() -> ResponseReturnValue:
    """Start the switch to live: `opening` now, the drain and the zeroing in a thread."""
    hotline = current_hotline()
    by = actor()
    seconds = hotline.settings.go_live_drain_seconds
    try:
        gives_up_at = go_live.begin(hotline.redis, hotline.sessions, by, seconds)
    except go_live.Refused as error:
        flash(str(error), "error")
        return redirect(url_for("mode.index"), code=303)
    thread = threading.Thread(
        target=_finish, args=(hotline, by, gives_up_at, seconds), name="go-live", daemon=True
    )
    thread.start()
    flash("Opening: new calls hold while calls in progress finish, then the hotline goes live.")
    return redirect(url_for("mode.index"), code=303)


def _finish(hotline: Hotline, by: str, gives_up_at: float, seconds: int) -> None:
    try:
        go_live.finish(hotline.redis, hotline.sessions, by, gives_up_at, seconds)
    except Exception:
        # The mode stays `opening` (calls hold): the page offers to resume the switch.
        log.exception("the switch to live failed; resume it from /staff/mode")


@bp.post("/rehearsal")
@requires(StaffRole.ADMIN)
def rehearsal_action() -> ResponseReturnValue:
    hotline = current_hotline()
    try:
        go_live.to_rehearsal(hotline.redis, hotline.sessions, actor())
    except go_live.Refused as error:
        flash(str(error), "error")
    else:
        flash("The hotline is in rehearsal: nothing it records counts.")
    return redirect(url_for("mode.index"), code=303)


@bp.post("/blocklist")
@requires(StaffRole.ADMIN)
def blocklist_decision() -> ResponseReturnValue:
    """Keep or drop a blocklist entry the rehearsal added, audited."""
    decision = request.form.get("decision", "")
    entry = request.form.get("entry", "")
    if decision not in ("keep", "drop") or not entry.isdigit():
        abort(400)
    hotline = current_hotline()
    try:
        with hotline.sessions.begin() as db:
            number = go_live.decide_blocklist_entry(
                db, hotline.redis, int(entry), decision == "keep", actor()
            )
    except go_live.Refused as error:
        flash(str(error), "error")
    else:
        flash(f"{'Kept' if decision == 'keep' else 'Dropped'} {number}.")
    return redirect(url_for("mode.index"), code=303)


@bp.get("/zero-report/<int:zero_id>")
def zero_report_download(zero_id: int) -> Response:
    """A zero report as JSON, or with ?format=csv as CSV (one count a line)."""
    fmt = request.args.get("format", "json")
    with current_hotline().sessions() as db:
        zero = db.get(ZeroReport, zero_id)
        if zero is None or fmt not in ("json", "csv"):
            abort(404)
        report = go_live.zero_report_dict(zero)
    name = f"zero-report-{zero_id}.{fmt}"
    if fmt == "json":
        return download(json.dumps(report, indent=2) + "\n", "application/json", name)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["count", "value"])
    writer.writerow(["zero_report", report["zero_report"]])
    writer.writerow(["at", report["at"]])
    writer.writerow(["by", report["by"]])
    for name_, value in report["counts"].items():
        writer.writerow([name_, value])
    return download(out.getvalue(), CSV, name)
