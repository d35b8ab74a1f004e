"""The review queue and the review page of one report (approve, reject, correct)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.hotline import current_hotline
from ivr.results import committed_report
from ivr.staff import review
from ivr.staff.access import current_staff, requires, staff_blueprint
from models import Report, StaffRole

bp = staff_blueprint("review", __name__, "/review")


@bp.get("")
def queue() -> str:
    with current_hotline().sessions() as db:
        reports = review.review_queue(db)
    return render_template("review/queue.html", reports=reports)


@bp.get("/<report_id>")
def report(report_id: str) -> str:
    return _page(report_id)


@bp.post("/<report_id>/approve")
@requires(StaffRole.REVIEWER)
def approve(report_id: str) -> ResponseReturnValue:
    return _act(report_id, "approve")


@bp.post("/<report_id>/reject")
@requires(StaffRole.REVIEWER)
def reject(report_id: str) -> ResponseReturnValue:
    return _act(report_id, "reject")


@bp.post("/<report_id>/correct")
@requires(StaffRole.REVIEWER)
def correct(report_id: str) -> ResponseReturnValue:
    return _act(report_id, "correct")


def _act(report_id: str, action: str) -> ResponseReturnValue:
    hotline = current_hotline()
    reviewer = current_staff().name
    reason = request.form.get("reason", "")
    try:
        _check_reason(reason)
        with hotline.sessions.begin() as db:
            if action == "approve":
                outcome = review.approve(db, report_id, reviewer, reason)
            elif action == "reject":
                outcome = review.reject(db, report_id, reviewer, reason)
            else:
                figures = _figures_from_form(db, report_id)
                receipt = hotline.store.new_receipt()
                outcome = review.correct(db, report_id, figures, reviewer, reason, receipt)
            message = _message(outcome)
    except review.ReviewError as error:
        flash(str(error), "error")
        return _page(report_id, entered=request.form.to_dict()), 400
    flash(message, "info")
    return redirect(url_for("review.queue"), code=303)


def _figures_from_form(db: Session, report_id: str) -> dict[str, list[int]]:
    original = db.get(Report, report_id)
    if original is None:
        raise review.ReviewError(f"there is no report {report_id}")
    figures: dict[str, list[int]] = {}
    for block in review.BLOCKS:
        values = []
        for index, group in enumerate(original.groups):
            raw = request.form.get(f"{block}-{index}", "").strip()
            values.append(_figure(raw, f"{group}, {block}"))
        figures[block] = values
    return figures


MAX_REASON_LENGTH = 2000
"""A reason is a few sentences for the audit trail."""


def _check_reason(reason: str) -> None:
    # PostgreSQL refuses a NUL byte (a 500 otherwise), and the audit trail is read by people.
    if len(reason) > MAX_REASON_LENGTH:
        raise review.ReviewError(f"the reason is at most {MAX_REASON_LENGTH} characters")
    if any(not c.isprintable() and c not in "\n\r\t" for c in reason):
        raise review.ReviewError("the reason may not contain control characters")


def _figure(raw: str, where: str) -> int:
    """A figure as typed: ASCII digits only, at most review.MAX_FIGURE."""
    # str.isdigit() alone accepts "²" (which int() refuses) and other scripts' digits, and
    # int() of more than 4,300 digits raises: check the digits before converting them.
    if not (raw.isascii() and raw.isdigit()):
        raise review.ReviewError(f"{where}: enter a whole number in digits (0 for none)")
    digits = raw.lstrip("0") or "0"
    if len(digits) > len(str(review.MAX_FIGURE)) or int(digits) > review.MAX_FIGURE:
        raise review.ReviewError(f"{where}: a figure is at most {review.MAX_FIGURE}")
    return int(digits)


def _message(outcome: review.Outcome) -> str:
    precinct = outcome.report.precinct
    where = f"{precinct.county} {precinct.name}"
    if outcome.action == "corrected" and outcome.committed is not None:
        receipt = outcome.committed.receipt
        text = f"Corrected figures for {where} are in the results (receipt {receipt})."
        findings = outcome.committed.findings
        if findings:
            text += " Still noted: " + "; ".join(f["written"] for f in findings)
        return text
    if outcome.action == "approved":
        return f"Approved report {outcome.report.receipt} for {where}; it is in the results."
    return f"Rejected report {outcome.report.receipt} for {where}."


def _page(report_id: str, entered: dict[str, str] | None = None) -> str:
    with current_hotline().sessions() as db:
        shown = db.get(Report, report_id)
        if shown is None:
            abort(404)
        precinct = shown.precinct
        siblings = db.scalars(select(Report).where(Report.precinct_pk == precinct.id)).all()
        committed = committed_report(r for r in siblings if r.id != shown.id)
    return render_template(
        "review/report.html",
        report=shown,
        precinct=precinct,
        committed=committed,
        entered=entered or {},
        blocks=review.BLOCKS,
        can_review=current_staff().may(StaffRole.REVIEWER),
        reviewable=shown.status in review.REVIEWABLE,
        correctable=shown.status in review.CORRECTABLE,
    )
