"""Precinct pages: search and filters, a precinct's story, the outstanding list and CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from flask.testing import FlaskClient

from ivr.hotline import Hotline
from ivr.staff import review
from models import AuditEvent, Call, ReportStatus, StaffRole
from tests.ivr.staff.support import GOOD_FIGURES, add_precinct, add_report, staff_client


def three_precincts(hotline: Hotline) -> None:
    add_precinct(hotline, "100001", "Adair", "1NW ADAIR", chair_phone="+15155550101")
    add_precinct(hotline, "100002", "Adair", "2 ADAIR", chair_phone="+15155550102")
    add_precinct(hotline, "200001", "Black Hawk", "CEDAR FALLS 1", chair_phone="+13195550103")


def listed_ids(html: str) -> list[str]:
    return [
        precinct_id
        for precinct_id in ("100001", "100002", "200001")
        if f"<code>{precinct_id}<" in html
    ]


def test_the_table_filters_by_status_county_and_text(client: FlaskClient, hotline: Hotline) -> None:
    three_precincts(hotline)
    add_report(hotline, "100001", status=ReportStatus.COMMITTED)
    add_report(hotline, "100001", status=ReportStatus.CONFLICT)
    add_report(hotline, "200001", status=ReportStatus.FLAGGED)
    staff_client(client, hotline, StaffRole.VIEWER)

    def ids(query: str) -> list[str]:
        response = client.get(f"/staff/precincts?{query}")
        assert response.status_code == 200
        return listed_ids(response.get_data(as_text=True))

    assert ids("") == ["100001", "100002", "200001"]
    assert ids("state=outstanding") == ["100002"]
    assert ids("state=reported") == ["100001", "200001"]
    assert ids("state=committed") == ["100001"]
    assert ids("state=conflict") == ["100001"]
    assert ids("state=flagged") == ["200001"]
    assert ids("state=quarantined") == []
    assert ids("county=Black+Hawk") == ["200001"]
    assert ids("q=cedar") == ["200001"]
    assert ids("q=100002") == ["100002"]
    assert ids("q=Chair+of+1NW") == ["100001"]
    assert ids("q=%25") == []  # a LIKE wildcard typed by staff matches itself only


def test_a_precinct_page_tells_its_whole_story(client: FlaskClient, hotline: Hotline) -> None:
    three_precincts(hotline)
    flagged = add_report(hotline, "100001", receipt="271828")
    with hotline.sessions.begin() as db:
        db.add(
            Call(
                call_sid="CAfeedface",
                from_number="+15155550101",
                precinct_id="100001",
                started_at=datetime.now(UTC),
                status="completed",
                duration_seconds=125,
            )
        )
        db.add(Call(call_sid="CAother", precinct_id="100002"))
        db.add(
            AuditEvent(
                actor="worker",
                action="report.received",
                subject="precinct:100001",
                detail={"report_id": flagged},
            )
        )
        review.correct(db, flagged, GOOD_FIGURES, "ana", "photo checked", "314159")
    staff_client(client, hotline, StaffRole.VIEWER)
    html = client.get("/staff/precincts/100001").get_data(as_text=True)
    assert "Chair of 1NW ADAIR" in html and "+15155550101" in html
    assert "CAfeedface" in html and "2m 05s" in html and "CAother" not in html
    # Both submissions, each with its figures and status.
    assert "Receipt 271828" in html and "Receipt 314159" in html
    assert html.count('<table class="figures">') == 2
    assert "total mismatch" in html
    assert "entered by staff" in html and "photo checked" in html
    # The audit trail, in order.
    assert html.index("report.received") < html.index("report.corrected")
    assert client.get("/staff/precincts/999999").status_code == 404


def test_the_outstanding_list_and_its_csv(client: FlaskClient, hotline: Hotline) -> None:
    three_precincts(hotline)
    add_report(hotline, "100001", status=ReportStatus.REJECTED)
    staff_client(client, hotline, StaffRole.VIEWER)
    html = client.get("/staff/precincts/outstanding").get_data(as_text=True)
    assert listed_ids(html) == ["100002", "200001"]
    assert "tel:+13195550103" in html
    response = client.get("/staff/precincts/outstanding.csv?county=Adair")
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert rows == [
        {
            "county": "Adair",
            "precinct": "2 ADAIR",
            "precinct_id": "100002",
            "chair_name": "Chair of 2 ADAIR",
            "chair_phone": "+15155550102",
        }
    ]
