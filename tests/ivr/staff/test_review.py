"""The review service: approve, reject, correct; reports are never deleted or rewritten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from ivr.hotline import Hotline
from ivr.staff import review
from models import AuditEvent, Report, ReportStatus
from queues.assessment import report_findings
from tests.ivr.staff.support import GOOD_FIGURES, add_precinct, add_report

EARLIER = datetime.now(UTC) - timedelta(minutes=30)


def report(hotline: Hotline, report_id: str) -> Report:
    with hotline.sessions() as db:
        found = db.get(Report, report_id)
        assert found is not None
        return found


def audit(hotline: Hotline) -> list[AuditEvent]:
    with hotline.sessions() as db:
        return list(db.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def test_the_queue_holds_flagged_quarantined_and_conflicting_reports_oldest_first(
    hotline: Hotline,
) -> None:
    add_precinct(hotline)
    add_precinct(hotline, "100002", name="2 ADAIR")
    conflict = add_report(hotline, status=ReportStatus.CONFLICT, received_at=EARLIER)
    add_report(hotline, status=ReportStatus.COMMITTED, received_at=EARLIER)
    flagged = add_report(hotline, "100002", status=ReportStatus.FLAGGED)
    add_report(hotline, "100002", status=ReportStatus.REJECTED)
    quarantined = add_report(
        hotline, status=ReportStatus.QUARANTINED, received_at=EARLIER + timedelta(minutes=1)
    )
    with hotline.sessions() as db:
        queued = [r.id for r in review.review_queue(db)]
    assert queued == [conflict, quarantined, flagged]


def test_approving_commits_the_report_and_supersedes_the_committed_one(
    hotline: Hotline,
) -> None:
    add_precinct(hotline)
    old = add_report(hotline, status=ReportStatus.COMMITTED, received_at=EARLIER)
    conflict = add_report(
        hotline, status=ReportStatus.CONFLICT, figures={**GOOD_FIGURES, "delegates": [2, 1, 1, 0]}
    )
    with hotline.sessions.begin() as db:
        outcome = review.approve(db, conflict, "ana", "  chair confirmed by phone ")
        assert outcome.committed is not None and outcome.committed.id == conflict

    approved, superseded = report(hotline, conflict), report(hotline, old)
    assert approved.status == "committed"
    assert (approved.reviewed_by, approved.review_note) == ("ana", "chair confirmed by phone")
    assert approved.reviewed_at is not None
    assert approved.figures["delegates"] == [2, 1, 1, 0]  # figures as keyed, untouched
    assert superseded.status == "superseded"
    assert superseded.figures == GOOD_FIGURES
    (event,) = audit(hotline)
    assert (event.actor, event.action, event.subject) == (
        "staff:ana",
        "report.approved",
        "precinct:100001",
    )
    assert event.detail["report_id"] == conflict
    assert event.detail["superseded"] == [old]
    assert event.note == "chair confirmed by phone"


def test_rejecting_keeps_the_report_out_of_the_results(hotline: Hotline) -> None:
    add_precinct(hotline)
    quarantined = add_report(hotline, status=ReportStatus.QUARANTINED)
    with hotline.sessions.begin() as db:
        review.reject(db, quarantined, "ana", "PIN read off a photo")
    rejected = report(hotline, quarantined)
    assert (rejected.status, rejected.review_note) == ("rejected", "PIN read off a photo")
    (event,) = audit(hotline)
    assert (event.action, event.detail["report_id"], event.note) == (
        "report.rejected",
        quarantined,
        "PIN read off a photo",
    )


def test_a_correction_is_a_new_committed_report_and_the_original_is_kept(
    hotline: Hotline,
) -> None:
    add_precinct(hotline, per_delegate="0.3125")
    flagged = add_report(hotline, figures={**GOOD_FIGURES, "delegates": [2, 1, 1, 1]})
    fixed = {**GOOD_FIGURES, "delegates": [1, 1, 1, 1]}
    with hotline.sessions.begin() as db:
        outcome = review.correct(db, flagged, fixed, "ana", "worksheet photo checked", "424242")
        assert outcome.committed is not None
        new_id = outcome.committed.id

    corrected, original = report(hotline, new_id), report(hotline, flagged)
    assert corrected.status == "committed" and corrected.source == "staff"
    assert corrected.corrects_id == flagged
    assert corrected.receipt == "424242"
    assert corrected.figures == fixed
    assert corrected.stated_totals == {"first": 40, "final": 40, "delegates": 4}
    assert corrected.sdes == ["0.3125", "0.3125", "0.3125", "0.3125"]
    assert corrected.findings == []
    assert (corrected.reviewed_by, corrected.review_note) == ("ana", "worksheet photo checked")
    assert original.status == "superseded"
    assert original.figures["delegates"] == [2, 1, 1, 1]
    (event,) = audit(hotline)
    assert event.action == "report.corrected"
    assert event.detail["report_id"] == flagged
    assert event.detail["corrected_report_id"] == new_id
    assert event.note == "worksheet photo checked"
    with hotline.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Report)) == 2


def test_a_correction_records_the_findings_its_figures_still_have(hotline: Hotline) -> None:
    add_precinct(hotline)
    committed = add_report(hotline, status=ReportStatus.COMMITTED)
    with hotline.sessions.begin() as db:
        figures = {**GOOD_FIGURES, "delegates": [2, 1, 1, 1]}
        outcome = review.correct(db, committed, figures, "ana", "as the chair insists", "1")
        assert outcome.committed is not None
        codes = [finding["code"] for finding in outcome.committed.findings]
        written = [finding["written"] for finding in outcome.committed.findings]
    assert codes == ["delegate_total_mismatch"]
    assert all(written)
    assert report(hotline, committed).status == "superseded"


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (ReportStatus.COMMITTED, "approve"),
        (ReportStatus.REJECTED, "approve"),
        (ReportStatus.SUPERSEDED, "reject"),
        (ReportStatus.DUPLICATE, "correct"),
        (ReportStatus.REJECTED, "correct"),
    ],
)
def test_only_reports_that_wait_for_review_can_be_decided(
    hotline: Hotline, status: ReportStatus, action: str
) -> None:
    add_precinct(hotline)
    report_id = add_report(hotline, status=status)
    with hotline.sessions.begin() as db, pytest.raises(review.ReviewError, match="cannot be"):
        _act(db, action, report_id)
    assert report(hotline, report_id).status == status
    assert audit(hotline) == []


def test_every_action_needs_a_reason(hotline: Hotline) -> None:
    add_precinct(hotline)
    flagged = add_report(hotline)
    for action in ("approve", "reject", "correct"):
        with hotline.sessions.begin() as db, pytest.raises(review.ReviewError, match="reason"):
            _act(db, action, flagged, reason="   ")
    assert report(hotline, flagged).status == "flagged"


@pytest.mark.parametrize(
    "figures",
    [
        {**GOOD_FIGURES, "first": [1, 2, 3]},
        {**GOOD_FIGURES, "final": [1, 2, 3, -1]},
        {**GOOD_FIGURES, "delegates": [1, 1, 1, 10000]},
        {"first": GOOD_FIGURES["first"], "final": GOOD_FIGURES["final"]},
    ],
)
def test_corrected_figures_must_be_complete_and_in_range(
    hotline: Hotline, figures: dict[str, list[int]]
) -> None:
    add_precinct(hotline)
    flagged = add_report(hotline)
    with hotline.sessions.begin() as db, pytest.raises(review.ReviewError):
        review.correct(db, flagged, figures, "ana", "reason", "123456")
    assert report(hotline, flagged).status == "flagged"


def test_a_satellite_without_a_fixed_delegate_count_is_checked_by_its_attendance(
    hotline: Hotline,
) -> None:
    add_precinct(hotline, delegates_to_elect=None)
    with hotline.sessions() as db:
        from models import Precinct

        precinct = db.scalars(select(Precinct)).one()
        precinct.is_satellite = True
        # 40 people at a satellite elect 5 delegates; 4 given is a mismatch.
        codes = [f["code"] for f in report_findings(precinct, ["A", "B", "C", "D"], GOOD_FIGURES)]
        precinct.is_satellite = False
        assert report_findings(precinct, ["A", "B", "C", "D"], GOOD_FIGURES) == []
    assert "delegate_total_mismatch" in codes


def _act(db: Any, action: str, report_id: str, reason: str = "a reason") -> None:
    if action == "approve":
        review.approve(db, report_id, "ana", reason)
    elif action == "reject":
        review.reject(db, report_id, "ana", reason)
    else:
        review.correct(db, report_id, GOOD_FIGURES, "ana", reason, "123456")
