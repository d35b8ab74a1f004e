"""Precinct pages: the searchable table, one precinct's whole story, the outstanding list."""

from __future__ import annotations

from flask import Response, abort, flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ivr.hotline import current_hotline
from ivr.results import rows_to_csv
from ivr.staff import chairs, precinct_status
from ivr.staff.access import actor, current_staff, requires, staff_blueprint
from ivr.staff.downloads import download
from ivr.staff.review import CORRECTABLE, REVIEWABLE
from models import (
    AuditEvent,
    Call,
    OutboundAttempt,
    Precinct,
    Report,
    StaffRole,
    WorksheetMessage,
)

bp = staff_blueprint("precincts", __name__, "/precincts")


@bp.get("")
def index() -> str:
    text = request.args.get("q", "")
    county = request.args.get("county", "")
    state = request.args.get("state", "")
    page = request.args.get("page", "1")
    with current_hotline().sessions() as db:
        found = precinct_status.search(
            db,
            text=text,
            county=county,
            state=state,
            page=int(page) if page.isdigit() else 1,
        )
        counties = precinct_status.counties(db)
    return render_template(
        "precincts/index.html",
        found=found,
        counties=counties,
        states=precinct_status.STATES,
        q=text,
        county=county,
        state=state,
    )


@bp.get("/outstanding")
def outstanding() -> str:
    county = request.args.get("county", "")
    with current_hotline().sessions() as db:
        precincts = precinct_status.outstanding(db, county)
        counties = precinct_status.counties(db)
    return render_template(
        "precincts/outstanding.html", precincts=precincts, counties=counties, county=county
    )


@bp.get("/outstanding.csv")
def outstanding_csv() -> Response:
    county = request.args.get("county", "")
    with current_hotline().sessions() as db:
        rows = precinct_status.outstanding_rows(precinct_status.outstanding(db, county))
    text = rows_to_csv(rows, precinct_status.OUTSTANDING_COLUMNS)
    return download(text, "text/csv", "outstanding-precincts.csv")


@bp.get("/<precinct_id>")
def detail(precinct_id: str) -> str:
    return _detail_page(precinct_id)


def _detail_page(precinct_id: str, new_pin: str = "") -> str:
    # IDs are digits: anything else is no precinct (and PostgreSQL would refuse a NUL byte).
    if not (precinct_id.isascii() and precinct_id.isdigit() and len(precinct_id) <= 7):
        abort(404)
    hotline = current_hotline()
    can_fix = current_staff().may(StaffRole.ADMIN)
    with hotline.sessions() as db:
        precinct = db.scalars(
            select(Precinct).where(Precinct.precinct_id == precinct_id)
        ).one_or_none()
        if precinct is None:
            abort(404)
        reports = db.scalars(
            select(Report)
            .where(Report.precinct_pk == precinct.id)
            .order_by(Report.received_at.desc(), Report.committed_at.desc())
        ).all()
        calls = db.scalars(
            select(Call)
            .where(Call.precinct_id == precinct_id)
            .order_by(Call.started_at.desc(), Call.id.desc())
        ).all()
        calls_out = db.scalars(
            select(OutboundAttempt)
            .where(OutboundAttempt.precinct_id == precinct_id)
            .order_by(OutboundAttempt.id)
        ).all()
        audit = db.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject == f"precinct:{precinct_id}")
            .order_by(AuditEvent.at, AuditEvent.id)
        ).all()
        states = precinct_status.states_by_precinct(db, precinct.id).get(
            precinct.id, ("outstanding",)
        )
        worksheets = db.scalars(
            select(WorksheetMessage)
            .options(selectinload(WorksheetMessage.photos), selectinload(WorksheetMessage.entries))
            .where(WorksheetMessage.precinct_id == precinct_id)
            .order_by(WorksheetMessage.received_at.desc())
        ).all()
    return render_template(
        "precincts/detail.html",
        worksheets=worksheets,
        precinct=precinct,
        states=states,
        reports=reports,
        calls=calls,
        calls_out=calls_out,
        audit=audit,
        reviewable=REVIEWABLE,
        correctable=CORRECTABLE,
        can_fix=can_fix,
        pin_locked=can_fix and chairs.precinct_locked(hotline, precinct_id),
        new_pin=new_pin,
    )


# --- fixing a chair's night (admins): ivr.staff.chairs does the work and the audit ---


@bp.post("/<precinct_id>/chair-phone")
@requires(StaffRole.ADMIN)
def set_chair_phone(precinct_id: str) -> ResponseReturnValue:
    form = request.form
    try:
        number = chairs.set_chair_phone(
            current_hotline(),
            precinct_id,
            form.get("number", ""),
            form.get("reason", ""),
            actor(),
            chair_name=form.get("chair_name", ""),
        )
    except chairs.ChairError as error:
        return _refuse(precinct_id, error)
    flash(f"{number} is now the chair's registered phone for precinct {precinct_id}.", "info")
    return _back(precinct_id)


@bp.post("/<precinct_id>/pin")
@requires(StaffRole.ADMIN)
def reissue_pin(precinct_id: str) -> ResponseReturnValue:
    try:
        pin = chairs.reissue_pin(
            current_hotline(), precinct_id, request.form.get("reason", ""), actor()
        )
    except chairs.ChairError as error:
        return _refuse(precinct_id, error)
    # Shown on this page only, once; never flashed (flashes travel in the cookie) nor cached.
    response = make_response(_detail_page(precinct_id, new_pin=pin))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<precinct_id>/unlock")
@requires(StaffRole.ADMIN)
def unlock_pin(precinct_id: str) -> ResponseReturnValue:
    try:
        was_locked = chairs.lift_pin_lock(
            current_hotline(), precinct_id, request.form.get("reason", ""), actor()
        )
    except chairs.ChairError as error:
        return _refuse(precinct_id, error)
    if was_locked:
        flash(
            f"Lifted the PIN lock of precinct {precinct_id}; its wrong PINs are forgotten.", "info"
        )
    else:
        flash(f"Precinct {precinct_id} was not locked; its wrong PINs are forgotten.", "info")
    return _back(precinct_id)


def _refuse(precinct_id: str, error: chairs.ChairError) -> ResponseReturnValue:
    if isinstance(error, chairs.UnknownPrecinct):
        abort(404)
    flash(str(error)[:1].upper() + str(error)[1:] + ".", "error")
    return _back(precinct_id)


def _back(precinct_id: str) -> ResponseReturnValue:
    return redirect(url_for("precincts.detail", precinct_id=precinct_id) + "#fix", code=303)
