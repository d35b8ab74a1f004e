"""Precinct pages: the searchable table, one precinct's whole story, the outstanding list."""

from __future__ import annotations

from flask import Response, abort, render_template, request
from sqlalchemy import select

from ivr.hotline import current_hotline
from ivr.results import rows_to_csv
from ivr.staff import precinct_status
from ivr.staff.access import staff_blueprint
from ivr.staff.downloads import download
from ivr.staff.review import CORRECTABLE, REVIEWABLE
from models import AuditEvent, Call, Precinct, Report

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
    with current_hotline().sessions() as db:
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
        audit = db.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject == f"precinct:{precinct_id}")
            .order_by(AuditEvent.at, AuditEvent.id)
        ).all()
        states = precinct_status.states_by_precinct(db, precinct.id).get(
            precinct.id, ("outstanding",)
        )
    return render_template(
        "precincts/detail.html",
        precinct=precinct,
        states=states,
        reports=reports,
        calls=calls,
        audit=audit,
        reviewable=REVIEWABLE,
        correctable=CORRECTABLE,
    )
