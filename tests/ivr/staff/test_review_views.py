"""The review pages: the queue, and deciding a report through its forms."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from ivr.hotline import Hotline
from models import AuditEvent, Report, ReportStatus, StaffRole
from tests.ivr.staff.support import GOOD_FIGURES, add_precinct, add_report, post_form, staff_client


def statuses(hotline: Hotline) -> dict[str, str]:
    with hotline.sessions() as db:
        return {r.id: r.status for r in db.scalars(select(Report))}


def test_the_queue_lists_what_waits_and_links_to_each_report(
    client: FlaskClient, hotline: Hotline
) -> None:
    add_precinct(hotline)
    flagged = add_report(hotline, receipt="271828")
    add_report(hotline, status=ReportStatus.COMMITTED, receipt="314159")
    staff_client(client, hotline, StaffRole.VIEWER)
    page = client.get("/staff/review").get_data(as_text=True)
    assert "271828" in page and f"/staff/review/{flagged}" in page
    assert "314159" not in page
    assert "first: total mismatch" in page


def test_a_viewer_sees_a_report_but_no_decision_forms(
    client: FlaskClient, hotline: Hotline
) -> None:
    add_precinct(hotline)
    flagged = add_report(hotline)
    staff_client(client, hotline, StaffRole.VIEWER)
    page = client.get(f"/staff/review/{flagged}").get_data(as_text=True)
    assert "This report" in page
    assert 'id="approve-form"' not in page and 'id="correct-form"' not in page


def test_a_reviewer_approves_through_the_form(client: FlaskClient, hotline: Hotline) -> None:
    add_precinct(hotline)
    flagged = add_report(hotline)
    staff_client(client, hotline, StaffRole.REVIEWER, name="ana")
    page = f"/staff/review/{flagged}"
    assert 'id="approve-form"' in client.get(page).get_data(as_text=True)
    response = post_form(client, f"{page}/approve", {"reason": "called the chair"}, page)
    assert response.status_code == 303
    assert statuses(hotline) == {flagged: "committed"}
    queue = client.get("/staff/review").get_data(as_text=True)
    assert "Approved report 111111" in queue and "Nothing waits for review" in queue
    with hotline.sessions() as db:
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "report.approved")).one()
    assert (event.actor, event.subject, event.note) == (
        "staff:ana",
        "precinct:100001",
        "called the chair",
    )


def test_a_decision_without_a_reason_is_refused(client: FlaskClient, hotline: Hotline) -> None:
    add_precinct(hotline)
    flagged = add_report(hotline)
    staff_client(client, hotline, StaffRole.REVIEWER)
    page = f"/staff/review/{flagged}"
    response = post_form(client, f"{page}/reject", {"reason": " "}, page)
    assert response.status_code == 400
    assert "give a reason" in response.get_data(as_text=True)
    assert statuses(hotline) == {flagged: "flagged"}


def test_a_reviewer_enters_corrected_figures_through_the_grid(
    client: FlaskClient, hotline: Hotline
) -> None:
    add_precinct(hotline)
    flagged = add_report(hotline, figures={**GOOD_FIGURES, "delegates": [2, 1, 1, 1]})
    staff_client(client, hotline, StaffRole.REVIEWER)
    page = f"/staff/review/{flagged}"
    html = client.get(page).get_data(as_text=True)
    # Every group x block has its field, filled with what the chair keyed.
    for block in ("first", "final", "delegates"):
        for index in range(4):
            assert f'name="{block}-{index}"' in html
    assert 'name="delegates-0" value="2"' in html
    form = {f"{b}-{i}": str(GOOD_FIGURES[b][i]) for b in GOOD_FIGURES for i in range(4)}
    response = post_form(client, f"{page}/correct", {**form, "reason": "photo checked"}, page)
    assert response.status_code == 303
    with hotline.sessions() as db:
        corrected = db.scalars(select(Report).where(Report.source == "staff")).one()
    assert corrected.figures == GOOD_FIGURES and corrected.corrects_id == flagged
    assert len(corrected.receipt) == 6 and corrected.receipt.isdigit()
    assert statuses(hotline) == {flagged: "superseded", corrected.id: "committed"}


def test_a_figure_that_is_not_a_number_keeps_what_was_typed(
    client: FlaskClient, hotline: Hotline
) -> None:
    add_precinct(hotline)
    flagged = add_report(hotline)
    staff_client(client, hotline, StaffRole.REVIEWER)
    page = f"/staff/review/{flagged}"
    form = {f"{b}-{i}": str(GOOD_FIGURES[b][i]) for b in GOOD_FIGURES for i in range(4)}
    form["final-2"] = "eight"
    response = post_form(client, f"{page}/correct", {**form, "reason": "r"}, page)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Sanders, final: enter a whole number" in html
    assert 'name="final-2" value="eight"' in html
    assert statuses(hotline) == {flagged: "flagged"}
