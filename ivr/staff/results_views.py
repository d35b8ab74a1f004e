"""Results for staff: statewide and by county from committed reports, with downloads."""

from __future__ import annotations

from flask import Response, render_template, request

from ivr.hotline import current_hotline
from ivr.results import (
    COLUMNS,
    COUNTY_COLUMNS,
    Results,
    committed_rows,
    rows_to_csv,
    summarize,
    to_json,
)
from ivr.staff.access import staff_blueprint
from ivr.staff.downloads import download

bp = staff_blueprint("results", __name__, "/results")


def current_results() -> Results:
    hotline = current_hotline()
    with hotline.sessions() as db:
        return summarize(db, hotline.ballot.group_names)


@bp.get("")
def index() -> str:
    results = current_results()
    county = results.counties.get(request.args.get("county", ""))
    return render_template("results.html", results=results, county=county)


@bp.get("/precincts.csv")
def precincts_csv() -> Response:
    with current_hotline().sessions() as db:
        text = rows_to_csv(committed_rows(db), COLUMNS)
    return download(text, "text/csv", "results-by-precinct.csv")


@bp.get("/precincts.json")
def precincts_json() -> Response:
    with current_hotline().sessions() as db:
        text = to_json(committed_rows(db))
    return download(text, "application/json", "results-by-precinct.json")


@bp.get("/counties.csv")
def counties_csv() -> Response:
    text = rows_to_csv(current_results().county_rows(), COUNTY_COLUMNS)
    return download(text, "text/csv", "results-by-county.csv")
