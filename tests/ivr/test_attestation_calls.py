"""Spoofed chair caller IDs: a report commits directly only from the chair's registered phone
on a call the carrier attested at level A; otherwise it waits as `unverified`."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from flask.testing import FlaskClient, FlaskCliRunner

from callflows import prompts
from flood.worksheets import Worksheet, load_worksheets
from ivr.cli import cli
from ivr.hotline import Hotline
from models import OutboundAttempt, Purpose, Report, ReportStatus, StaffRole
from queues.worker import run_worker
from softphone import Answer
from tests.ivr.staff.support import post_form, staff_client
from tests.support.calls import CALLER, chair, place_call
from tests.support.data import import_precincts

ADAIR_1NW = ("Adair", "1NW ADAIR")
UNATTESTED = ("", "No-TN-Validation", "TN-Validation-Passed-B", "TN-Validation-Passed-C")


@pytest.fixture
def sheet() -> Worksheet:
    return load_worksheets()[ADAIR_1NW]


@pytest.fixture
def pins(runner: FlaskCliRunner, tmp_path: Path) -> dict[str, str]:
    """Adair's precincts; only 948199 has a registered chair phone (the test caller's)."""
    return import_precincts(runner, tmp_path, chair_phones={"948199": CALLER})


def report_call(
    client: FlaskClient,
    hotline: Hotline,
    pins: dict[str, str],
    sheet: Worksheet,
    *,
    precinct_id: str = "948199",
    stir_verstat: str,
    from_number: str = CALLER,
) -> str:
    """A chair keys the worksheet and submits; returns what they heard."""
    answer = chair(precinct_id, pins[precinct_id], sheet, hotline.ballot)
    record = place_call(client, answer, from_number=from_number, stir_verstat=stir_verstat)
    run_worker(hotline.redis, hotline.sessions, burst=True)
    return record.spoken


def other_figures(hotline: Hotline, pins: dict[str, str], sheet: Worksheet) -> Answer:
    """Precinct 948199's chair keying one figure other than the worksheet's."""
    return chair(
        "948199",
        pins["948199"],
        sheet,
        hotline.ballot,
        **{"figure/first/1": "1#", "total/first": "41#", "fix/delegates": "2"},
    )


def stored(hotline: Hotline) -> list[Report]:
    with hotline.sessions() as session:
        return list(session.query(Report).order_by(Report.received_at))


def exported(runner: FlaskCliRunner) -> list[dict[str, str]]:
    result = runner.invoke(cli, ["results", "export", "--format", "csv"])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.output)))


def statewide(client: FlaskClient) -> int:
    reporting: int = client.get("/results.json").get_json()["statewide"]["precincts_reporting"]
    return reporting


@pytest.mark.parametrize("verstat", UNATTESTED)
def test_the_chair_phone_without_attestation_a_is_held_as_unverified(
    client: FlaskClient,
    runner: FlaskCliRunner,
    hotline: Hotline,
    pins: dict[str, str],
    sheet: Worksheet,
    verstat: str,
) -> None:
    heard = report_call(client, hotline, pins, sheet, stir_verstat=verstat)

    (report,) = stored(hotline)
    assert report.status == ReportStatus.UNVERIFIED
    assert report.stir_verstat == verstat
    assert "Your report is received." in heard and prompts.CALL_BACK_UNATTESTED in heard
    assert prompts.receipt(report.receipt)[1] in heard
    # Not in the results: neither the public totals nor the export count it as committed.
    assert statewide(client) == 0
    assert {row["status"] for row in exported(runner)} == {"unverified"}


def test_the_chair_phone_attested_a_commits_and_hears_no_call_back(
    client: FlaskClient,
    runner: FlaskCliRunner,
    hotline: Hotline,
    pins: dict[str, str],
    sheet: Worksheet,
) -> None:
    heard = report_call(client, hotline, pins, sheet, stir_verstat="TN-Validation-Passed-A")
    (report,) = stored(hotline)
    assert report.status == ReportStatus.COMMITTED
    assert report.stir_verstat == "TN-Validation-Passed-A"
    assert "call you back" not in heard
    assert statewide(client) == 1
    assert {row["status"] for row in exported(runner)} == {"committed"}


def test_a_precinct_without_a_chair_phone_holds_every_report_as_unverified(
    client: FlaskClient, hotline: Hotline, pins: dict[str, str]
) -> None:
    # Adair 2NE STUART has no registered chair phone: even an attested caller with its PIN
    # is not known to be its chair.
    stuart = load_worksheets()[("Adair", "2NE STUART")]
    heard = report_call(
        client,
        hotline,
        pins,
        stuart,
        precinct_id="948200",
        stir_verstat="TN-Validation-Passed-A",
        from_number="+15155550199",
    )
    (report,) = stored(hotline)
    assert report.status == ReportStatus.UNVERIFIED
    assert prompts.CALL_BACK_NO_CHAIR_PHONE in heard
    assert statewide(client) == 0


def test_another_number_is_still_quarantined_and_hears_a_plain_receipt(
    client: FlaskClient, hotline: Hotline, pins: dict[str, str], sheet: Worksheet
) -> None:
    heard = report_call(
        client,
        hotline,
        pins,
        sheet,
        stir_verstat="TN-Validation-Passed-A",
        from_number="+15155550707",
    )
    (report,) = stored(hotline)
    assert report.status == ReportStatus.QUARANTINED
    assert "call you back" not in heard


def test_an_unverified_report_is_never_a_conflict_nor_a_duplicate_of_the_committed_one(
    client: FlaskClient, hotline: Hotline, pins: dict[str, str], sheet: Worksheet
) -> None:
    report_call(client, hotline, pins, sheet, stir_verstat="TN-Validation-Passed-A")
    # The same figures, then others, from the chair's number without attestation (a
    # spoofer who has the PIN looks just like this).
    report_call(client, hotline, pins, sheet, stir_verstat="")
    place_call(client, other_figures(hotline, pins, sheet), stir_verstat="TN-Validation-Passed-B")
    run_worker(hotline.redis, hotline.sessions, burst=True)
    assert [r.status for r in stored(hotline)] == ["committed", "unverified", "unverified"]
    assert statewide(client) == 1


def test_a_chair_who_confirms_the_same_figures_again_leaves_one_report_awaiting_its_callback(
    client: FlaskClient, hotline: Hotline, pins: dict[str, str], sheet: Worksheet
) -> None:
    """A chair whose receipt was lost (a failover, a dropped line) calls again and confirms the
    same figures: the repeat is a duplicate, so one report waits for one callback; other
    figures from the same number are a report of their own."""
    report_call(client, hotline, pins, sheet, stir_verstat="")
    report_call(client, hotline, pins, sheet, stir_verstat="TN-Validation-Passed-C")
    assert [r.status for r in stored(hotline)] == ["unverified", "duplicate"]
    with hotline.sessions() as session:
        waiting = session.query(OutboundAttempt).filter_by(purpose=Purpose.VERIFY.value).all()
    assert [attempt.report_id for attempt in waiting] == [stored(hotline)[0].id]
    place_call(client, other_figures(hotline, pins, sheet), stir_verstat="")
    run_worker(hotline.redis, hotline.sessions, burst=True)
    assert [r.status for r in stored(hotline)] == ["unverified", "duplicate", "unverified"]
    assert statewide(client) == 0


def test_staff_see_an_unverified_report_and_a_reviewer_approves_it_into_the_results(
    client: FlaskClient,
    runner: FlaskCliRunner,
    hotline: Hotline,
    pins: dict[str, str],
    sheet: Worksheet,
) -> None:
    report_call(client, hotline, pins, sheet, stir_verstat="No-TN-Validation")
    (report,) = stored(hotline)
    staff_client(client, hotline, StaffRole.REVIEWER)

    queue = client.get("/staff/review").get_data(as_text=True)
    assert report.receipt in queue and "unverified" in queue
    assert "not confirmed by the carrier (No-TN-Validation)" in queue
    precincts = client.get("/staff/precincts?state=unverified").get_data(as_text=True)
    assert "948199" in precincts
    page = f"/staff/review/{report.id}"
    shown = client.get(page).get_data(as_text=True)
    assert 'id="approve-form"' in shown and "No-TN-Validation" in shown

    response = post_form(client, f"{page}/approve", {"reason": "called the chair back"}, page)
    assert response.status_code == 303
    (approved,) = stored(hotline)
    assert approved.status == ReportStatus.COMMITTED
    assert statewide(client) == 1
    assert {row["status"] for row in exported(runner)} == {"committed"}
