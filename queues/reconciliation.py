"""The phone and the worksheet, compared (issue 18): where a precinct has a report by phone
and one from a worksheet its operators keyed, the two are compared field by field as the
worker stores the second.

Agreement marks both reconciled (each names the other) and verifies a held one: two
channels agreeing is what a callback would establish, so an `unverified` report whose twin
is in the results becomes a `duplicate` of it, and of two held twins the phone's is
committed. A report from another number than the chair's (`quarantined`) is never verified
this way: a reviewer decides it. Any difference makes the new report a `conflict`, which a
reviewer sees beside the other and the worksheet's photo.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEvent, Report, ReportStatus

PHONE = "phone"
OPERATOR = "operator"
OTHER_CHANNEL = {PHONE: OPERATOR, OPERATOR: PHONE}
SETTLED_ASIDE = (ReportStatus.REJECTED, ReportStatus.SUPERSEDED)
"""Reports no longer in play: never compared."""
HELD = ReportStatus.UNVERIFIED.value


def reconcile(session: Session, report: Report) -> None:
    """Compare a report being stored with the precinct's latest from the other channel."""
    other = OTHER_CHANNEL.get(report.source)
    if other is None:
        return
    twin = session.scalars(
        select(Report)
        .where(
            Report.precinct_pk == report.precinct.id,
            Report.source == other,
            Report.rehearsal == report.rehearsal,
            Report.status.not_in([status.value for status in SETTLED_ASIDE]),
        )
        .order_by(Report.received_at.desc())
        .limit(1)
    ).first()
    if twin is None:
        return
    if twin.figures == report.figures:
        report.reconciled_with, twin.reconciled_with = twin.id, report.id
        _verify_by_agreement(session, report, twin)
        session.add(_audit("precinct.reconciled", report, twin))
        return
    report.differs_from = twin.id
    if report.status != ReportStatus.QUARANTINED.value:
        report.status = ReportStatus.CONFLICT.value
    session.add(_audit("precinct.sources_differ", report, twin))


def _verify_by_agreement(session: Session, report: Report, twin: Report) -> None:
    committed, duplicate = ReportStatus.COMMITTED.value, ReportStatus.DUPLICATE.value
    statuses = {report.status, twin.status}
    if twin.status == committed and report.status == HELD:
        report.status = duplicate
    elif report.status == committed and twin.status == HELD:
        twin.status = duplicate
    elif (
        HELD in statuses and statuses <= {HELD, duplicate} and not _other_committed(session, report)
    ):
        # Both held (the new one may already read as a repeat of the held one, when the
        # photo came from the number that phoned): the phone's goes into the results.
        phone, worksheet = (report, twin) if report.source == PHONE else (twin, report)
        phone.status, worksheet.status = committed, duplicate


def _other_committed(session: Session, report: Report) -> bool:
    """Whether the precinct has a committed report already (then twins with other figures
    are for a reviewer, as any change to the results is)."""
    found = session.scalar(
        select(Report.id).where(
            Report.precinct_pk == report.precinct.id,
            Report.status == ReportStatus.COMMITTED.value,
            Report.rehearsal == report.rehearsal,
        )
    )
    return found is not None


def _audit(action: str, report: Report, twin: Report) -> AuditEvent:
    return AuditEvent(
        actor="worker",
        action=action,
        subject=f"precinct:{report.precinct.precinct_id}",
        detail={
            "report_id": report.id,
            "source": report.source,
            "status": report.status,
            "other_report_id": twin.id,
            "other_source": twin.source,
            "other_status": twin.status,
        },
    )
