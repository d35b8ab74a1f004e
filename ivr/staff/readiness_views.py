"""The readiness board: every precinct's chair, by county and statewide, with the county map
and the list of chairs still to train as CSV (any signed-in staff member)."""

from __future__ import annotations

from flask import Response, render_template, request

from ivr.hotline import current_hotline
from ivr.results import rows_to_csv
from ivr.staff import precinct_status, readiness
from ivr.staff.access import staff_blueprint
from ivr.staff.downloads import CSV, download

bp = staff_blueprint("readiness", __name__, "/readiness")


@bp.get("")
def index() -> str:
    county = request.args.get("county", "")
    with current_hotline().sessions() as db:
        found = readiness.board(db, county)
    # Only a county that exists filters; the table of precincts is one county's at a time.
    if county not in found.by_county:
        county = ""
    return render_template(
        "readiness.html",
        board=found,
        county=county,
        county_map=readiness.map_of(found),
        states=precinct_status.STATES,
    )


@bp.get("/to-train.csv")
def to_train_csv() -> Response:
    county = request.args.get("county", "")
    with current_hotline().sessions() as db:
        rows = readiness.to_train_rows(readiness.board(db, county).rows)
    text = rows_to_csv(rows, readiness.TO_TRAIN_COLUMNS)
    return download(text, CSV, "chairs-to-train.csv")
