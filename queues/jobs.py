"""The only code that writes call results to the database: the rq job that commits a
report, and the blocks of a report in progress that the call log's writer keeps.

Each is idempotent, because it may run again: rq reruns a job after a worker dies mid-job
(abandoned-job handling) or a database error (retry), the web tier may enqueue the same
report twice, and the call log reads a batch again if its commit failed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callflows.caucus import satellite_delegates, sde
from callflows.findings import TIE_NEEDS_GAME_OF_CHANCE, check_report
from models import AuditEvent, Precinct, Report, ReportDraft, ReportStatus
from queues import runtime
from queues.screening import normalise

log = logging.getLogger(__name__)


def commit_report(payload: dict[str, Any]) -> str:
    """Store a confirmed report once; returns its status, or "repeat" for a job run again."""
    sessions = runtime.sessions()
    try:
        with sessions.begin() as session:
            if session.get(Report, payload["report_id"]) is not None:
                return "repeat"
            report = _build_report(session, payload)
            session.add(report)
            session.add(_audit("report.received", report))
            session.execute(
                delete(ReportDraft).where(
                    ReportDraft.precinct_id == payload["precinct_id"],
                    ReportDraft.caller == payload["caller"],
                )
            )
            status = report.status
    except IntegrityError:
        # Another worker committed the same report between our check and our insert.
        with sessions() as session:
            if session.get(Report, payload["report_id"]) is not None:
                return "repeat"
        raise
    log.info("report %s for precinct %s: %s", payload["report_id"], payload["precinct_id"], status)
    return status


def _build_report(session: Session, payload: dict[str, Any]) -> Report:
    # Locking the precinct's row serializes reports for one precinct across workers.
    precinct = session.scalars(
        select(Precinct).where(Precinct.precinct_id == payload["precinct_id"]).with_for_update()
    ).one()
    delegates = payload["figures"]["delegates"]
    per_delegate = precinct.sde_per_county_delegate or 0
    findings = report_findings(precinct, payload)
    status = decide_status(session, precinct, payload, findings)
    return Report(
        id=payload["report_id"],
        precinct=precinct,
        call_sid=payload["call_sid"],
        caller=payload["caller"],
        receipt=payload["receipt"],
        status=status.value,
        ballot=payload["ballot"],
        groups=payload["groups"],
        figures=payload["figures"],
        stated_totals=payload["totals"],
        sdes=[str(sde(count, per_delegate)) for count in delegates],
        flagged_blocks=payload["flagged"],
        findings=findings,
        received_at=datetime.fromisoformat(payload["received_at"]),
        committed_at=datetime.now(UTC),
    )


def report_findings(precinct: Precinct, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The caucus-math findings on the whole report, as `hotline audit` would find them."""
    figures = payload["figures"]
    first, final, delegates = figures["first"], figures["final"], figures["delegates"]
    d = precinct.delegates_to_elect
    if d is None:
        d = satellite_delegates(sum(first))
    found = check_report(payload["groups"], first, final, delegates, d)
    findings = [
        {
            "code": f.code,
            "spoken": f.spoken,
            "written": f.written,
            "groups": [payload["groups"][g] for g in f.groups],
            "informational": f.informational,
        }
        for f in found
    ]
    for finding in findings:
        if finding["code"] == TIE_NEEDS_GAME_OF_CHANCE and payload.get("chance"):
            finding["reported_winners"] = payload["chance"]
    return findings


def decide_status(
    session: Session, precinct: Precinct, payload: dict[str, Any], findings: list[dict[str, Any]]
) -> ReportStatus:
    """Where a new report goes: quarantine, duplicate, conflict, flagged, or the results."""
    caller, _ = normalise(payload["caller"])
    if precinct.chair_phone and caller != precinct.chair_phone:
        # A right PIN from a number that is not the chair's: perhaps a PIN read off a photo.
        return ReportStatus.QUARANTINED
    committed = session.scalars(
        select(Report)
        .where(Report.precinct_pk == precinct.id, Report.status == ReportStatus.COMMITTED)
        .order_by(Report.received_at.desc())
    ).first()
    if committed is not None:
        same = committed.figures == payload["figures"]
        return ReportStatus.DUPLICATE if same else ReportStatus.CONFLICT
    if payload["flagged"] or any(not finding["informational"] for finding in findings):
        return ReportStatus.FLAGGED
    return ReportStatus.COMMITTED


def _audit(action: str, report: Report) -> AuditEvent:
    return AuditEvent(
        actor="worker",
        action=action,
        subject=f"precinct:{report.precinct.precinct_id}",
        detail={"report_id": report.id, "receipt": report.receipt, "status": report.status},
    )


def record_blocks(session: Session, payloads: list[dict[str, Any]]) -> None:
    """Keep the completed blocks of reports in progress, applied in the order given (the
    latest call's blocks win). Called by the call log's batch writer (`queues.call_log`)
    with a batch's blocks in stream order; three queries however many blocks."""
    if not payloads:
        return
    precinct_ids = {payload["precinct_id"] for payload in payloads}
    # Lock the precincts' rows first, as commit_report does (in id order, so two writers
    # cannot deadlock): a report committed meanwhile is then either seen below, and its
    # blocks skipped, or waits for this batch and deletes the drafts it wrote. Without it a
    # draft could outlive its report, or vanish under this batch's update.
    session.execute(
        select(Precinct.id)
        .where(Precinct.precinct_id.in_(precinct_ids))
        .order_by(Precinct.id)
        .with_for_update()
    )
    sids = {payload["call_sid"] for payload in payloads}
    # A block written after the report it belongs to was committed: nothing to resume.
    submitted = set(session.scalars(select(Report.call_sid).where(Report.call_sid.in_(sids))))
    pending = [payload for payload in payloads if payload["call_sid"] not in submitted]
    drafts = {
        (draft.precinct_id, draft.caller): draft
        for draft in session.scalars(
            select(ReportDraft).where(ReportDraft.precinct_id.in_(precinct_ids))
        )
    }
    for payload in pending:
        key = (payload["precinct_id"], payload["caller"])
        if key not in drafts:
            drafts[key] = ReportDraft(precinct_id=key[0], caller=key[1], blocks={})
            session.add(drafts[key])
        _keep_block(drafts[key], payload)


def _keep_block(draft: ReportDraft, payload: dict[str, Any]) -> None:
    # Two workers may commit two batches out of order: an older event never overwrites a
    # newer one (`at` is UTC ISO 8601, so strings compare as times).
    at = payload["at"]
    if draft.call_sid != payload["call_sid"]:
        if any(block.get("at", "") > at for block in draft.blocks.values()):
            return  # a later call has started this report over already
        # A new call started the report over: its blocks replace the old call's.
        draft.blocks = {}
        draft.call_sid = payload["call_sid"]
    elif draft.blocks.get(payload["block"], {}).get("at", "") > at:
        return  # the chair keyed this block again since
    block = {
        "figures": payload["figures"],
        "total": payload["total"],
        "flagged": payload["flagged"],
        "at": at,
    }
    draft.blocks = {**draft.blocks, payload["block"]: block}
    draft.updated_at = datetime.fromisoformat(at)
