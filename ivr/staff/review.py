"""Reviewing reports: approve, reject, or replace with corrected figures.

Only reports that need review (flagged, quarantined, unverified, conflict) can be approved or
rejected;
a committed report can also be corrected. Reports are never deleted and their figures never
changed: a correction is a new report (source "staff") that points at the one it replaces.
A precinct has at most one committed report once a reviewer has acted: the one approved or
entered now supersedes any committed before it. Every action is audited with its reason.

`reviewer` is the staff member's name: reports record it as `reviewed_by`, audit events
as the actor "staff:NAME". No Flask here, so the rules are unit-testable; the caller commits
the session.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from callflows.state import BLOCKS as BLOCKS  # review_views reads review.BLOCKS
from models import NEEDS_REVIEW, AuditEvent, Precinct, Report, ReportStatus
from queues.assessment import assess

MAX_FIGURE = 9999
"""The largest figure the keypad accepts; a correction may not exceed it either."""
REVIEWABLE = frozenset(status.value for status in NEEDS_REVIEW)
CORRECTABLE = REVIEWABLE | {ReportStatus.COMMITTED.value}


class ReviewError(Exception):
    """A review action that cannot be taken; the message is shown to the reviewer."""


@dataclass(frozen=True)
class Outcome:
    """What a review action did: the report now committed (if any) and those superseded."""

    action: str
    report: Report
    committed: Report | None
    superseded: tuple[Report, ...]


def review_queue(session: Session) -> list[Report]:
    """Reports waiting for a reviewer, oldest first."""
    query = (
        select(Report)
        .where(Report.status.in_(REVIEWABLE))
        .options(selectinload(Report.precinct))
        .order_by(Report.received_at, Report.id)
    )
    return list(session.scalars(query))


def approve(session: Session, report_id: str, reviewer: str, reason: str) -> Outcome:
    """Put a report that needs review into the results."""
    report = _locked_report(session, report_id, REVIEWABLE, "approved")
    note = _required(reason)
    now = datetime.now(UTC)
    superseded = _supersede_committed(session, report, reviewer, now, f"approved {report.id}")
    report.status = ReportStatus.COMMITTED.value
    _mark_reviewed(report, reviewer, now, note)
    _audit(session, reviewer, "report.approved", report, note, superseded=superseded)
    return Outcome("approved", report, report, superseded)


def reject(session: Session, report_id: str, reviewer: str, reason: str) -> Outcome:
    """Keep a report that needs review out of the results."""
    report = _locked_report(session, report_id, REVIEWABLE, "rejected")
    note = _required(reason)
    report.status = ReportStatus.REJECTED.value
    _mark_reviewed(report, reviewer, datetime.now(UTC), note)
    _audit(session, reviewer, "report.rejected", report, note)
    return Outcome("rejected", report, None, ())


def correct(
    session: Session,
    report_id: str,
    figures: dict[str, list[int]],
    reviewer: str,
    reason: str,
    receipt: str,
) -> Outcome:
    """Replace a report with the figures a reviewer entered, as a new committed report."""
    original = _locked_report(session, report_id, CORRECTABLE, "corrected")
    note = _required(reason)
    checked = _checked_figures(figures, len(original.groups))
    precinct = original.precinct
    now = datetime.now(UTC)
    # Supersede first, so the query for committed reports cannot see the new one.
    others = _supersede_committed(session, original, reviewer, now, f"corrected {original.id}")
    original.status = ReportStatus.SUPERSEDED.value
    _mark_reviewed(original, reviewer, now, note)
    superseded = (original, *others)
    assessment = assess(
        session, precinct, groups=original.groups, figures=checked, flagged={}, caller=None
    )
    corrected = Report(
        id=str(uuid.uuid4()),
        precinct=precinct,
        call_sid="",
        caller="",
        receipt=receipt,
        status=assessment.status.value,
        ballot=original.ballot,
        groups=list(original.groups),
        figures=checked,
        # Entered by staff from a checked worksheet: the totals are the figures' sums.
        stated_totals={block: sum(checked[block]) for block in BLOCKS},
        sdes=assessment.sdes,
        flagged_blocks={},
        findings=assessment.findings,
        received_at=now,
        committed_at=now,
        source="staff",
        corrects_id=original.id,
        # A correction of a rehearsal's report is the rehearsal's too (archived with it).
        rehearsal=original.rehearsal,
    )
    _mark_reviewed(corrected, reviewer, now, note)
    session.add(corrected)
    _audit(
        session,
        reviewer,
        "report.corrected",
        original,
        note,
        superseded=superseded,
        corrected_report_id=corrected.id,
        corrected_receipt=corrected.receipt,
    )
    return Outcome("corrected", original, corrected, superseded)


def _locked_report(session: Session, report_id: str, allowed: frozenset[str], verb: str) -> Report:
    report = session.get(Report, report_id)
    if report is None:
        raise ReviewError(f"there is no report {report_id}")
    # Lock the precinct (PostgreSQL), as the worker does, so two reviewers acting on one
    # precinct at once, or a reviewer and a new call, take turns; then re-read the report.
    session.scalars(
        select(Precinct).where(Precinct.id == report.precinct_pk).with_for_update()
    ).one()
    session.refresh(report)
    if report.status not in allowed:
        raise ReviewError(f"report {report.receipt} is {report.status}; it cannot be {verb}")
    return report


def _required(reason: str) -> str:
    note = reason.strip()
    if not note:
        raise ReviewError("give a reason: it goes into the audit trail")
    return note


def _checked_figures(figures: dict[str, list[int]], groups: int) -> dict[str, list[int]]:
    checked: dict[str, list[int]] = {}
    for block in BLOCKS:
        values = list(figures.get(block, []))
        if len(values) != groups:
            raise ReviewError(f"{block}: enter a figure for each of the {groups} groups")
        if any(type(v) is not int or v < 0 or v > MAX_FIGURE for v in values):
            raise ReviewError(f"{block}: every figure is a whole number from 0 to {MAX_FIGURE}")
        checked[block] = values
    return checked


def _supersede_committed(
    session: Session, report: Report, reviewer: str, now: datetime, why: str
) -> tuple[Report, ...]:
    """Supersede the precinct's committed reports other than `report`."""
    others = session.scalars(
        select(Report).where(
            Report.precinct_pk == report.precinct_pk,
            Report.status == ReportStatus.COMMITTED,
            Report.id != report.id,
        )
    ).all()
    for other in others:
        other.status = ReportStatus.SUPERSEDED.value
        _mark_reviewed(other, reviewer, now, why)
    return tuple(others)


def _mark_reviewed(report: Report, reviewer: str, now: datetime, note: str) -> None:
    report.reviewed_by = reviewer
    report.reviewed_at = now
    report.review_note = note


def _audit(
    session: Session,
    reviewer: str,
    action: str,
    report: Report,
    note: str,
    *,
    superseded: tuple[Report, ...] = (),
    **extra: str,
) -> None:
    detail: dict[str, Any] = {"report_id": report.id, "receipt": report.receipt, **extra}
    if superseded:
        detail["superseded"] = [other.id for other in superseded]
    session.add(
        AuditEvent(
            actor=f"staff:{reviewer}",
            action=action,
            subject=f"precinct:{report.precinct.precinct_id}",
            detail=detail,
            note=note,
        )
    )
