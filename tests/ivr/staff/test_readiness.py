"""The readiness board against imported 2020 precincts: its numbers by precinct, county and
statewide, the chairs-to-train CSV, and the county map on it and on the overview."""

from __future__ import annotations

import csv
import html
import io
import itertools
import re
from datetime import UTC, datetime
from pathlib import Path

from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from ivr.hotline import Hotline
from ivr.staff import readiness
from models import DrillCall, Precinct, ReportStatus, StaffRole
from queues.outbound import outstanding_precincts
from tests.ivr.staff.support import add_report, staff_client
from tests.support.data import import_precincts, precinct_rows

COUNTIES = ("Adair", "O'Brien", "CD1 Satellite")
PHONES = {
    "948199": "+15155550101",  # Adair 1NW ADAIR
    "948200": "+15155550102",  # Adair 2NE STUART
    "947548": "+17125550103",  # O'Brien Carroll-Floyd
}
CALL_NUMBERS = itertools.count(1)
PATH = re.compile(
    r'<path d="M[^"]+" class="band-(?:\d|none)" data-county="([^"]+)" data-band="(\d|none)"'
    r' role="img" aria-label="([^"]+)"><title>([^<]+)</title></path>'
)


def imported(runner: FlaskCliRunner, tmp_path: Path) -> dict[str, str]:
    """Adair, O'Brien and the CD1 satellites, three chairs with a phone; the satellites
    imported without a precinct ID get one assigned and no PIN."""
    return import_precincts(runner, tmp_path, counties=COUNTIES, chair_phones=PHONES)


def drilled(
    hotline: Hotline,
    *precinct_ids: str,
    matched: bool = True,
    verstat: str = "TN-Validation-Passed-A",
) -> None:
    """A practice call from each precinct's registered chair phone, as the drill's job keeps it."""
    at = datetime(2020, 1, 20, 19, 0, tzinfo=UTC)
    with hotline.sessions.begin() as db:
        for precinct_id in precinct_ids:
            phone = db.scalars(
                select(Precinct.chair_phone).where(Precinct.precinct_id == precinct_id)
            ).one()
            db.add(
                DrillCall(
                    precinct_id=precinct_id,
                    call_sid=f"CA{next(CALL_NUMBERS):032d}",
                    caller=phone,
                    stir_verstat=verstat,
                    started_at=at,
                    ended_at=at,
                    figures={},
                    matched=matched,
                    mismatched=[] if matched else ["first:Oak"],
                )
            )


def county_paths(page: str) -> dict[str, tuple[str, str]]:
    """The map's counties: name -> (band, title), checking each path names itself twice."""
    found = {}
    for county, band, label, title in PATH.findall(page):
        assert html.unescape(label) == html.unescape(title)
        found[html.unescape(county)] = (band, html.unescape(title))
    return found


def test_the_board_counts_what_was_imported(
    client: FlaskClient, hotline: Hotline, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    pins = imported(runner, tmp_path)
    rows = precinct_rows(COUNTIES)
    with_pin = {row["precinct_id"] for row in rows if row["precinct_id"]}
    assert set(pins) == with_pin and len(rows) == 26 and len(with_pin) == 24
    add_report(hotline, "948199", status=ReportStatus.COMMITTED)
    drilled(hotline, "948199")
    drilled(hotline, "948200", matched=False, verstat="TN-Validation-Passed-C")

    with hotline.sessions() as db:
        found = readiness.board(db)
        round_would_call = {p.precinct_id for p in outstanding_precincts(db)}
        ids = {pid: name for pid, name in db.execute(select(Precinct.precinct_id, Precinct.county))}
    statewide = found.statewide
    assert (statewide.precincts, statewide.phone_registered, statewide.pin_issued) == (26, 3, 24)
    assert (statewide.reachable, statewide.ready, statewide.reported) == (3, 1, 1)
    assert (statewide.drilled, statewide.drill_matched, statewide.drill_unattested) == (2, 1, 1)
    assert list(found.by_county) == ["Adair", "CD1 Satellite", "O'Brien"]
    adair, satellites, obrien = found.by_county.values()
    assert (adair.precincts, adair.phone_registered, adair.ready, adair.reported) == (5, 2, 1, 1)
    assert (obrien.precincts, obrien.phone_registered, obrien.reachable) == (9, 1, 1)
    assert (satellites.precincts, satellites.pin_issued, satellites.ready) == (12, 10, 0)
    assert adair.percent(adair.ready) == 20.0
    # Reachable is the outbound caller's own rule: a round now calls exactly the reachable
    # precincts that have not reported.
    reachable = {row.precinct.precinct_id for row in found.rows if row.reachable}
    assert round_would_call == reachable - {"948199"} == {"948200", "947548"}
    assert {ids[i] for i in reachable} == {"Adair", "O'Brien"}

    staff_client(client, hotline, StaffRole.VIEWER)
    page = client.get("/staff/readiness").get_data(as_text=True)
    cards = dict(re.findall(r'data-figure="(\w+)">([\d,]+)<', page))
    assert cards == {
        "precincts": "26",
        "phone_registered": "3",
        "pin_issued": "24",
        "reachable": "3",
        "drilled": "2",
        "drill_matched": "1",
        "drill_unattested": "1",
        "ready": "1",
        "reported": "1",
    }
    adair_row = re.search(r'<tr data-county="Adair">(.*?)</tr>', page, re.S)
    assert adair_row
    cells = [
        " ".join(re.sub(r"<[^>]+>", "", cell).split())
        for cell in re.findall(r'<td class="num">(.*?)</td>', adair_row.group(1), re.S)
    ]
    # precincts, chair named, phone, PIN, reachable, drilled, drill matched, ready, reported
    assert cells == [
        "5",
        "0 (0%)",
        "2 (40%)",
        "5 (100%)",
        "2 (40%)",
        "2 (40%)",
        "1 (20%)",
        "1 (20%)",
        "1 (20%)",
    ]
    assert 'id="readiness-precincts"' not in page  # one county's precincts at a time

    page = client.get("/staff/readiness?county=Adair").get_data(as_text=True)
    listed = re.findall(r'<tr data-precinct="(\d+)">(.*?)</tr>', page, re.S)
    assert [precinct_id for precinct_id, _ in listed] == [
        "948199",
        "948200",
        "948201",
        "948202",
        "948203",
    ]
    first, second, third = (dict(listed)[i] for i in ("948199", "948200", "948201"))
    assert "ready" in first and "badge committed" in first
    assert "to train: a drill that matched" in second and "not yet" in second
    assert "to train: chair phone, drill" in third and "badge outstanding" in third
    assert re.findall(r'<span class="(yes|no)">', third)[:3] == ["no", "yes", "no"]


def test_the_chairs_to_train_download(
    client: FlaskClient, hotline: Hotline, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    imported(runner, tmp_path)
    drilled(hotline, *PHONES)
    staff_client(client, hotline, StaffRole.VIEWER)
    response = client.get("/staff/readiness/to-train.csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="chairs-to-train.csv"'
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert tuple(rows[0]) == readiness.TO_TRAIN_COLUMNS
    assert len(rows) == 26 - 3
    assert not {row["precinct_id"] for row in rows} & set(PHONES)
    missing = {row["missing"] for row in rows}
    assert missing == {"chair phone; drill", "chair phone; PIN; drill"}
    assert sum(row["missing"] == "chair phone; PIN; drill" for row in rows) == 2
    assert {row["drill_calls"] for row in rows} == {"0"}
    assert {row["county"] for row in rows if "PIN" in row["missing"]} == {"CD1 Satellite"}

    only = client.get("/staff/readiness/to-train.csv?county=O%27Brien").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(only)))
    assert len(rows) == 8 and {row["county"] for row in rows} == {"O'Brien"}


def test_the_map_shows_readiness_until_the_first_report_then_reporting(
    client: FlaskClient, hotline: Hotline, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    imported(runner, tmp_path)
    drilled(hotline, *PHONES)
    staff_client(client, hotline, StaffRole.VIEWER)
    page = client.get("/staff/readiness").get_data(as_text=True)
    assert 'data-mode="readiness"' in page
    counties = county_paths(page)
    assert len(counties) == 99
    assert counties["Adair"] == ("1", "Adair: 2 of 5 precincts ready (40%)")
    assert counties["O'Brien"] == ("0", "O'Brien: 1 of 9 precincts ready (11%)")
    assert counties["Polk"] == ("none", "Polk: no precincts imported")
    assert {band for band, _ in counties.values()} == {"0", "1", "none"}
    assert "Not on the map: CD1 Satellite." in page

    # Every Adair chair gets a phone and drills: the county turns to the darkest band.
    with hotline.sessions.begin() as db:
        for n, precinct in enumerate(
            db.scalars(select(Precinct).where(Precinct.county == "Adair"))
        ):
            precinct.chair_phone = f"+1515555020{n}"
    drilled(hotline, "948201", "948202", "948203")
    counties = county_paths(client.get("/staff/readiness").get_data(as_text=True))
    assert counties["Adair"] == ("4", "Adair: 5 of 5 precincts ready (100%)")

    # The first report switches the map to reporting, on the board and on the overview.
    add_report(hotline, "947548", status=ReportStatus.FLAGGED)
    for path in ("/staff/readiness", "/staff/"):
        page = client.get(path).get_data(as_text=True)
        assert 'data-mode="reporting"' in page, path
        counties = county_paths(page)
        assert len(counties) == 99
        assert counties["O'Brien"] == ("0", "O'Brien: 1 of 9 precincts reported (11%)")
        assert counties["Adair"] == ("0", "Adair: 0 of 5 precincts reported (0%)")


def test_the_overview_shows_the_readiness_map_before_the_night(
    client: FlaskClient, hotline: Hotline, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    imported(runner, tmp_path)
    drilled(hotline, *PHONES)
    staff_client(client, hotline, StaffRole.VIEWER)
    page = client.get("/staff/").get_data(as_text=True)
    assert 'data-mode="readiness"' in page
    assert county_paths(page)["Adair"][1] == "Adair: 2 of 5 precincts ready (40%)"
    assert 'href="/staff/readiness"' in page
