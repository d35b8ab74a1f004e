"""The "Calls out" page: reviewers start and stop rounds, everyone sees every try."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from ivr.cli import cli
from ivr.hotline import Hotline
from models import AuditEvent, OutboundAttempt, StaffRole
from tests.ivr.staff.support import post_form, staff_client
from tests.support.data import import_precincts

PAGE = "/staff/calls-out"


def test_a_reviewer_starts_and_stops_a_round_audited(
    client: FlaskClient, hotline: Hotline, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    import_precincts(
        runner, tmp_path, chair_phones={"948199": "+15152000001", "948200": "+15152000002"}
    )
    staff_client(client, hotline, StaffRole.REVIEWER, name="rita")
    html = client.get(PAGE).get_data(as_text=True)
    assert "No round is running" in html and "Call the 2 outstanding precinct(s)" in html
    response = post_form(client, f"{PAGE}/start", {}, PAGE)
    assert response.status_code == 303
    html = client.get(PAGE).get_data(as_text=True)
    assert "running since" in html and "started by\nstaff:rita" in html
    assert html.count('href="/staff/precincts/9482') == 1  # one try each, listed
    assert post_form(client, f"{PAGE}/start", {}, PAGE).status_code == 303
    assert "already running" in client.get(PAGE).get_data(as_text=True)

    assert post_form(client, f"{PAGE}/stop", {}, PAGE).status_code == 303
    html = client.get(PAGE).get_data(as_text=True)
    assert "No round is running" in html and "stopped 2" in html
    with hotline.sessions() as db:
        actions = [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        assert {a.outcome for a in db.scalars(select(OutboundAttempt))} == {"stopped"}
    assert "outbound.round_started" in actions and "outbound.round_stopped" in actions
    # Each precinct's page lists the calls the hotline placed (or meant to place) to it.
    detail = client.get("/staff/precincts/948200").get_data(as_text=True)
    assert "Calls the hotline placed (1)" in detail and "+15152000002" in detail


def test_a_viewer_sees_the_page_but_cannot_start_a_round(
    client: FlaskClient, hotline: Hotline, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    import_precincts(runner, tmp_path, chair_phones={"948199": "+15152000001"})
    staff_client(client, hotline, StaffRole.VIEWER)
    html = client.get(PAGE).get_data(as_text=True)
    assert "No round is running" in html and "/calls-out/start" not in html
    assert post_form(client, f"{PAGE}/start", {}, PAGE).status_code == 403
    with hotline.sessions() as db:
        assert db.scalars(select(OutboundAttempt)).first() is None


def test_a_reviewer_reminds_the_chairs_who_have_not_drilled(
    client: FlaskClient, hotline: Hotline, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    import_precincts(
        runner, tmp_path, chair_phones={"948199": "+15152000001", "948200": "+15152000002"}
    )
    staff_client(client, hotline, StaffRole.REVIEWER, name="rita")
    # Without a drill line there is nothing to remind chairs of.
    assert "No drill line is configured" in client.get(PAGE).get_data(as_text=True)
    assert post_form(client, f"{PAGE}/remind", {}, PAGE).status_code == 303
    assert "set HOTLINE_DRILL_NUMBER first" in client.get(PAGE).get_data(as_text=True)

    hotline.settings = replace(hotline.settings, drill_number="+15155550142")
    html = client.get(PAGE).get_data(as_text=True)
    assert "Remind the 2 chair(s) to drill" in html
    assert post_form(client, f"{PAGE}/remind", {}, PAGE).status_code == 303
    html = client.get(PAGE).get_data(as_text=True)
    assert "Reminding 2 chair(s)" in html and "Reminders to drill" in html
    assert post_form(client, f"{PAGE}/remind", {}, PAGE).status_code == 303
    assert "still open" in client.get(PAGE).get_data(as_text=True)
    with hotline.sessions() as db:
        tries = list(db.scalars(select(OutboundAttempt)))
        (event,) = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "outbound.reminders_started")
        )
    assert sorted(a.to_number for a in tries) == ["+15152000001", "+15152000002"]
    assert {a.purpose for a in tries} == {"reminder"} and event.actor == "staff:rita"

    # The same from the command line, refused while these are open.
    result = runner.invoke(cli, ["outbound", "remind"])
    assert result.exit_code == 1 and "still open" in result.output
    # Stopped from the page, those not yet dialled are skipped.
    assert post_form(client, f"{PAGE}/remind/stop", {}, PAGE).status_code == 303
    assert "Stopped the reminders: 2 call(s)" in client.get(PAGE).get_data(as_text=True)
