"""Calls the hotline places: rounds to the chairs of precincts with no report (reviewers
start and stop them) and verification callbacks, every try and its outcome."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from ivr.hotline import current_hotline
from ivr.staff.access import actor, current_staff, requires, staff_blueprint
from models import OutboundAttempt, StaffRole
from queues import outbound

bp = staff_blueprint("outbound", __name__)

ATTEMPTS_SHOWN = 500
"""The most recent tries listed (the totals count them all)."""


@bp.get("/calls-out")
def index() -> str:
    precinct = request.args.get("precinct", "").strip()[:7]
    hotline = current_hotline()
    settings = hotline.settings
    with hotline.sessions() as db:
        running = outbound.active_round(db)
        query = select(OutboundAttempt).order_by(OutboundAttempt.id.desc()).limit(ATTEMPTS_SHOWN)
        if precinct:
            query = query.where(OutboundAttempt.precinct_id == precinct)
        attempts = db.scalars(query).all()
        totals = outbound.totals(db)
        outstanding = len(outbound.outstanding_precincts(db))
        undrilled = len(outbound.undrilled_precincts(db))
    return render_template(
        "outbound.html",
        running=running,
        attempts=attempts,
        totals=totals,
        outstanding=outstanding,
        undrilled=undrilled,
        drill_number=settings.drill_number,
        precinct=precinct,
        can_manage=current_staff().may(StaffRole.REVIEWER),
        configured=bool(settings.twilio_account_sid and settings.hotline_number),
        calls_per_second=settings.outbound_calls_per_second,
        tries=settings.outbound_tries,
        retry_minutes=settings.outbound_retry_seconds / 60,
    )


@bp.post("/calls-out/start")
@requires(StaffRole.REVIEWER)
def start() -> ResponseReturnValue:
    try:
        with current_hotline().sessions.begin() as db:
            started = outbound.start_round(db, actor())
            count = started.precincts
    except outbound.RoundRunning as error:
        flash(str(error), "error")
        return redirect(url_for("outbound.index"), code=303)
    flash(f"Started a round of calls to {count} precinct(s) with no report.", "info")
    return redirect(url_for("outbound.index"), code=303)


@bp.post("/calls-out/stop")
@requires(StaffRole.REVIEWER)
def stop() -> ResponseReturnValue:
    with current_hotline().sessions.begin() as db:
        skipped = outbound.stop_round(db, actor())
    flash(f"Stopped the round: {skipped} call(s) not yet placed will not be.", "info")
    return redirect(url_for("outbound.index"), code=303)


@bp.post("/calls-out/remind")
@requires(StaffRole.REVIEWER)
def remind() -> ResponseReturnValue:
    hotline = current_hotline()
    if not hotline.settings.drill_number:
        flash("No drill line to remind chairs of: set HOTLINE_DRILL_NUMBER first.", "error")
        return redirect(url_for("outbound.index"), code=303)
    try:
        with hotline.sessions.begin() as db:
            count = outbound.start_reminders(
                db, actor(), drill_closes_at=hotline.settings.drill_line_closes_at
            )
    except outbound.RemindersRefused as error:
        flash(str(error), "error")
        return redirect(url_for("outbound.index"), code=303)
    flash(f"Reminding {count} chair(s) who have not drilled to call the drill line.", "info")
    return redirect(url_for("outbound.index"), code=303)


@bp.post("/calls-out/remind/stop")
@requires(StaffRole.REVIEWER)
def stop_reminders() -> ResponseReturnValue:
    with current_hotline().sessions.begin() as db:
        skipped = outbound.stop_reminders(db, actor())
    flash(f"Stopped the reminders: {skipped} call(s) not yet placed will not be.", "info")
    return redirect(url_for("outbound.index"), code=303)
