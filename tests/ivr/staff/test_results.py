"""Results from committed reports: the summary, the staff page, downloads, the public feed."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from flask.testing import FlaskClient

from ivr.hotline import Hotline
from ivr.results import COLUMNS, export_rows, summarize
from models import ReportStatus, StaffRole
from tests.ivr.staff.support import GOOD_FIGURES, GROUPS, add_precinct, add_report, staff_client

OTHER = {"first": [20, 0, 0, 0], "final": [20, 0, 0, 0], "delegates": [4, 0, 0, 0]}


def reports(hotline: Hotline) -> None:
    """Adair: one committed, one flagged-only precinct; Black Hawk: a committed report that
    a later committed one replaces, plus a rejected one."""
    add_precinct(hotline, "100001", "Adair", "1NW ADAIR", per_delegate="0.25")
    add_precinct(hotline, "100002", "Adair", "2 ADAIR")
    add_precinct(hotline, "200001", "Black Hawk", "CF 1", per_delegate="0.1")
    add_report(hotline, "100001", status=ReportStatus.COMMITTED)
    add_report(hotline, "100002", status=ReportStatus.FLAGGED, figures=OTHER)
    earlier = datetime.now(UTC) - timedelta(hours=1)
    add_report(hotline, "200001", status=ReportStatus.COMMITTED, figures=OTHER, received_at=earlier)
    add_report(hotline, "200001", status=ReportStatus.COMMITTED)
    add_report(hotline, "200001", status=ReportStatus.REJECTED, figures=OTHER)


def test_the_summary_counts_each_precincts_latest_committed_report_only(
    hotline: Hotline,
) -> None:
    reports(hotline)
    with hotline.sessions() as db:
        results = summarize(db, GROUPS)
    state = results.statewide
    assert (state.precincts_total, state.precincts_reporting) == (3, 2)
    biden = state.groups["Biden"]
    assert (biden.first_alignment, biden.final_alignment, biden.county_delegates) == (20, 20, 2)
    assert biden.sde == Decimal("0.25") + Decimal("0.1")
    adair, black_hawk = results.counties["Adair"], results.counties["Black Hawk"]
    assert (adair.precincts_total, adair.precincts_reporting) == (2, 1)
    assert black_hawk.groups["Sanders"].first_alignment == GOOD_FIGURES["first"][2]
    as_dict = results.to_dict()
    assert [g["group"] for g in as_dict["statewide"]["groups"]] == GROUPS
    assert as_dict["statewide"]["groups"][0]["sde"] == 0.35


def test_the_export_still_shows_every_reported_precinct_with_its_status(
    hotline: Hotline,
) -> None:
    reports(hotline)
    with hotline.sessions() as db:
        rows = list(export_rows(db))
    assert {(row["precinct_id"], row["status"]) for row in rows} == {
        ("100001", "committed"),
        ("100002", "flagged"),
        ("200001", "committed"),
    }


def test_the_results_page_and_its_downloads(client: FlaskClient, hotline: Hotline) -> None:
    reports(hotline)
    staff_client(client, hotline, StaffRole.VIEWER)
    html = client.get("/staff/results").get_data(as_text=True)
    assert "2 of 3 precincts reporting" in html
    assert '<tr data-group="Biden"><th scope="row">Biden</th>' in html
    assert "0.3500" in html
    county = client.get("/staff/results?county=Black+Hawk").get_data(as_text=True)
    assert "Black Hawk County — 1 of 1 precincts reporting" in county

    by_precinct = client.get("/staff/results/precincts.csv")
    rows = list(csv.DictReader(io.StringIO(by_precinct.get_data(as_text=True))))
    assert tuple(rows[0]) == COLUMNS
    assert {row["precinct_id"] for row in rows} == {"100001", "200001"}
    assert {row["status"] for row in rows} == {"committed"}
    as_json = json.loads(client.get("/staff/results/precincts.json").get_data(as_text=True))
    assert len(as_json) == 2 * len(GROUPS)
    by_county = client.get("/staff/results/counties.csv").get_data(as_text=True)
    county_rows = list(csv.DictReader(io.StringIO(by_county)))
    # Every group of the ballot, in ballot order, whether or not anyone reported it.
    ballot = hotline.ballot.group_names
    assert [row["group"] for row in county_rows] == [*ballot, *ballot]
    assert county_rows[0]["county"] == "Adair" and county_rows[0]["precincts_reporting"] == "1"


def test_the_public_feed_needs_no_login_and_may_be_cached_briefly(
    client: FlaskClient, hotline: Hotline
) -> None:
    reports(hotline)
    response = client.get("/results.json")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=5"
    feed = response.get_json()
    assert feed["statewide"]["precincts_reporting"] == 2
    assert [c["name"] for c in feed["counties"]] == ["Adair", "Black Hawk"]
    # Committed figures only: the flagged report's 20 for Biden is not in Adair's total.
    (adair_biden,) = [g for g in feed["counties"][0]["groups"] if g["group"] == "Biden"]
    assert adair_biden == {
        "group": "Biden",
        "first_alignment": 10,
        "final_alignment": 10,
        "county_delegates": 1,
        "sde": 0.25,
    }
    assert "chair" not in response.get_data(as_text=True).lower()
