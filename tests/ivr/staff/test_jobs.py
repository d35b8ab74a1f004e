"""Failed report jobs: listed and requeued from the command line and from the overview, each
requeue audited. The jobs fail for real, in a worker, after their retries."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from redis import Redis
from sqlalchemy import select

from callflows.events import ReportSubmitted
from callflows.flow import report_id_for
from ivr.cli import cli
from ivr.hotline import Hotline
from ivr.staff import jobs
from models import AuditEvent, Report, StaffRole
from queues import publish
from queues.defaults import REPORTS_QUEUE
from queues.publish import publish_report, queue
from queues.worker import run_worker
from tests.ivr.staff.support import add_precinct, post_form, staff_client
from tests.queues.test_jobs import payload

MISSING_PRECINCT = "999999"
"""A precinct ID no precinct has: committing a report for it fails."""


def fail_report_job(hotline: Hotline, monkeypatch: pytest.MonkeyPatch, n: int = 1) -> str:
    """Submit a report for a precinct that does not exist and let a worker fail it for good;
    returns its job id."""
    # One immediate retry instead of the night's minutes of them: the worker still runs the
    # job twice and rq moves it to the failed registry once its retries are used up.
    monkeypatch.setattr(publish, "RETRY_INTERVALS", (0,))
    report = ReportSubmitted(**payload(call_sid=f"CA{n:032d}", precinct_id=MISSING_PRECINCT))
    publish_report(report, hotline.redis)
    run_worker(hotline.redis, hotline.sessions, burst=True)
    assert report.report_id in jobs.failed_registry(hotline.redis)
    return report.report_id


def queued_ids(redis: Redis) -> list[str]:
    return queue(REPORTS_QUEUE, redis).get_job_ids()


def requeue_events(hotline: Hotline) -> list[tuple[str, str, str]]:
    with hotline.sessions() as db:
        events = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "jobs.requeued").order_by(AuditEvent.id)
        ).all()
    return [(e.actor, e.subject, e.detail["precinct"]) for e in events]


def test_the_command_line_lists_a_failed_job_and_requeues_it_audited(
    runner: FlaskCliRunner, hotline: Hotline, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = fail_report_job(hotline, monkeypatch)

    listed = runner.invoke(cli, ["jobs", "failed"])
    assert listed.exit_code == 0, listed.output
    (line,) = listed.output.splitlines()
    shown_id, precinct, when, error = line.split("\t")
    assert (shown_id, precinct) == (job_id, MISSING_PRECINCT)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", when)
    assert error.startswith("sqlalchemy.exc.NoResultFound")

    result = runner.invoke(cli, ["jobs", "requeue", job_id])
    assert result.exit_code == 0, result.output
    assert f"requeued {job_id}" in result.output
    assert queued_ids(hotline.redis) == [job_id]
    assert job_id not in jobs.failed_registry(hotline.redis)
    assert requeue_events(hotline) == [("cli", f"job:{job_id}", MISSING_PRECINCT)]

    # Once the cause is fixed, the requeued job commits the report.
    add_precinct(hotline, MISSING_PRECINCT)
    run_worker(hotline.redis, hotline.sessions, burst=True)
    with hotline.sessions() as db:
        assert db.get(Report, job_id) is not None
    assert "no failed report jobs" in runner.invoke(cli, ["jobs", "failed"]).output


def test_requeue_all_and_what_the_command_refuses(
    runner: FlaskCliRunner, hotline: Hotline, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = (fail_report_job(hotline, monkeypatch, n) for n in (1, 2))

    for refused in (["jobs", "requeue"], ["jobs", "requeue", first, "--all"]):
        assert runner.invoke(cli, refused).exit_code == 2  # a usage error
    unknown = runner.invoke(cli, ["jobs", "requeue", first, report_id_for("CA" + "9" * 32)])
    assert unknown.exit_code == 1
    assert "not a failed report job" in unknown.output
    assert queued_ids(hotline.redis) == []  # all or nothing

    result = runner.invoke(cli, ["jobs", "requeue", "--all"])
    assert result.exit_code == 0, result.output
    assert sorted(queued_ids(hotline.redis)) == sorted([first, second])
    assert sorted(subject for _, subject, _ in requeue_events(hotline)) == sorted(
        [f"job:{first}", f"job:{second}"]
    )


@pytest.mark.parametrize("role", [StaffRole.REVIEWER, StaffRole.ADMIN])
def test_a_reviewer_requeues_a_failed_job_from_the_overview(
    client: FlaskClient,
    hotline: Hotline,
    monkeypatch: pytest.MonkeyPatch,
    role: StaffRole,
) -> None:
    job_id = fail_report_job(hotline, monkeypatch)
    staff_client(client, hotline, role, name="cy")
    html = client.get("/staff/").get_data(as_text=True)
    assert 'id="failed-jobs"' in html and job_id in html and "NoResultFound" in html
    assert ">Requeue</button>" in html

    response = post_form(client, "/staff/jobs/requeue", {"job_id": job_id}, "/staff/")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/staff/")
    page = client.get("/staff/").get_data(as_text=True)
    assert f"Requeued job {job_id}." in page
    assert 'id="failed-jobs"' not in page
    assert queued_ids(hotline.redis) == [job_id]
    assert requeue_events(hotline) == [("staff:cy", f"job:{job_id}", MISSING_PRECINCT)]

    # Requeued already (say, by a colleague a moment before): refused, nothing requeued twice.
    again = post_form(client, "/staff/jobs/requeue", {"job_id": job_id}, "/staff/")
    assert again.status_code == 303
    assert "not a failed report job" in client.get("/staff/").get_data(as_text=True)
    assert len(requeue_events(hotline)) == 1


def test_a_viewer_sees_failed_jobs_but_may_not_requeue_them(
    client: FlaskClient, hotline: Hotline, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = fail_report_job(hotline, monkeypatch)
    staff_client(client, hotline, StaffRole.VIEWER)
    html = client.get("/staff/").get_data(as_text=True)
    assert job_id in html and ">Requeue</button>" not in html

    response = post_form(client, "/staff/jobs/requeue", {"job_id": job_id}, "/staff/")
    assert response.status_code == 403
    assert job_id in jobs.failed_registry(hotline.redis)
    assert queued_ids(hotline.redis) == []
    assert requeue_events(hotline) == []


def test_a_requeue_needs_the_csrf_token(
    client: FlaskClient, hotline: Hotline, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = fail_report_job(hotline, monkeypatch)
    staff_client(client, hotline, StaffRole.REVIEWER)
    response = client.post("/staff/jobs/requeue", data={"job_id": job_id})
    assert response.status_code == 400
    assert job_id in jobs.failed_registry(hotline.redis)
