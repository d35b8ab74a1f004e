"""The worker's jobs against real Redis and both databases: exactly-once commits."""

from __future__ import annotations

from typing import Any

import pytest
from redis import Redis
from rq.job import Job
from rq.serializers import JSONSerializer

from callflows.events import ReportSubmitted
from callflows.flow import report_id_for
from ivr.hotline import Hotline
from models import AuditEvent, Report
from queues import jobs
from queues.publish import publish_report
from queues.worker import run_worker

FIRST = [0, 6, 0, 8, 0, 8, 0, 9, 0, 9, 0, 0]
DELEGATES = [0, 1, 0, 1, 0, 2, 0, 2, 0, 2, 0, 0]


def payload(call_sid: str = "CA" + "3" * 32, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "report_id": report_id_for(call_sid),
        "receipt": "482917",
        "call_sid": call_sid,
        "caller": "+15155550123",
        "precinct_id": "948199",
        "ballot": "iowa2020",
        "groups": ["Bennet", "Biden", "Bloomberg", "Buttigieg", "Gabbard", "Klobuchar", "Patrick",
                   "Sanders", "Steyer", "Warren", "Yang", "Uncommitted"],
        "figures": {"first": FIRST, "final": FIRST, "delegates": DELEGATES},
        "totals": {"first": 40, "final": 40, "delegates": 8},
        "flagged": {},
        "received_at": "2020-02-03T21:15:00+00:00",
        "chance": ["Klobuchar"],
        "stir_verstat": "TN-Validation-Passed-A",
    }  # fmt: skip
    data.update(changes)
    return data


def test_commit_stores_figures_sdes_and_an_audit_event(
    hotline: Hotline, adair: dict[str, str]
) -> None:
    assert jobs.commit_report(payload()) == "committed"
    with hotline.sessions() as session:
        (report,) = session.query(Report).all()
        assert report.figures["delegates"] == DELEGATES
        # Adair: 0.078431 SDE per county delegate.
        assert (
            report.sdes[1] == "0.0784" and report.sdes[5] == "0.1569" and report.sdes[0] == "0.0000"
        )
        (event,) = session.query(AuditEvent).filter_by(action="report.received").all()
        assert event.subject == "precinct:948199"
        assert event.detail["receipt"] == "482917"


def test_committing_the_same_report_twice_leaves_one(
    hotline: Hotline, adair: dict[str, str]
) -> None:
    assert jobs.commit_report(payload()) == "committed"
    assert jobs.commit_report(payload()) == "repeat"
    with hotline.sessions() as session:
        assert session.query(Report).count() == 1
        assert session.query(AuditEvent).filter_by(action="report.received").count() == 1


def test_a_report_enqueued_twice_is_committed_once_by_the_worker(
    hotline: Hotline, redis: Redis, adair: dict[str, str]
) -> None:
    publish_report(ReportSubmitted(**payload()), redis)
    publish_report(ReportSubmitted(**payload()), redis)
    run_worker(redis, hotline.sessions, burst=True)
    with hotline.sessions() as session:
        assert session.query(Report).count() == 1
    job = Job.fetch(payload()["report_id"], connection=redis, serializer=JSONSerializer)
    assert job.get_status() == "finished"


def test_a_chair_who_kept_a_mismatched_block_gets_a_flagged_report(
    hotline: Hotline, adair: dict[str, str]
) -> None:
    assert jobs.commit_report(payload(flagged={"first": "total_mismatch"})) == "flagged"
    with hotline.sessions() as session:
        (report,) = session.query(Report).all()
        assert report.status == "flagged"
        assert report.flagged_blocks == {"first": "total_mismatch"}


def test_a_job_that_cannot_commit_fails_loudly_for_a_retry(
    hotline: Hotline, adair: dict[str, str]
) -> None:
    with pytest.raises(Exception, match="No row was found"):
        jobs.commit_report(payload(precinct_id="1111111"))
    with hotline.sessions() as session:
        assert session.query(Report).count() == 0
