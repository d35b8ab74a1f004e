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

from sqlalchemy import String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callflows.events import BlockCompleted, ReportSubmitted, decode_as
from models import AuditEvent, Base, Mode, Precinct, Report, ReportDraft
from queues import election_mode, outbound, runtime
from queues.assessment import assess
from queues.reconciliation import reconcile

log = logging.getLogger(__name__)


def commit_report(payload: dict[str, Any]) -> str:
    """Store a confirmed report once; returns its status, or "repeat" for a job run again.

    `payload` is the `ReportSubmitted` event the webhook queued; a payload that is not one
    fails the job (staff see it among the failed jobs) rather than storing a guess."""
    submitted = decode_as(ReportSubmitted, payload)
    sessions = runtime.sessions()
    try:
        with sessions.begin() as session:
            if session.get(Report, submitted.report_id) is not None:
                return "repeat"
            # Read first (a share lock), so the switch to live cannot archive between this
            # read and the commit: the report is marked as the mode it was committed in.
            mode = election_mode.stored(session, share_lock=True)
            if submitted.rehearsal and mode is Mode.LIVE:
                # Confirmed in a rehearsal that is over (a retry, a requeued failed job, a
                # call that confirmed as the switch ran): kept in the audit, never counted.
                session.add(_rehearsal_left_over(submitted))
                return REHEARSAL_LEFT_OVER
            report = _build_report(session, submitted)
            report.rehearsal = election_mode.is_rehearsal(mode)
            session.add(report)
            # The phone's report against the worksheet's, or the other way round.
            reconcile(session, report)
            session.add(_audit("report.received", report))
            # A report held for its caller ID: call the chair's registered phone to ask.
            outbound.request_verification(session, report)
            session.execute(
                delete(ReportDraft).where(
                    ReportDraft.precinct_id == submitted.precinct_id,
                    ReportDraft.caller == submitted.caller,
                )
            )
            status = report.status
    except IntegrityError:
        # Another worker committed the same report between our check and our insert.
        with sessions() as session:
            if session.get(Report, submitted.report_id) is not None:
                return "repeat"
        raise
    log.info("report %s for precinct %s: %s", submitted.report_id, submitted.precinct_id, status)
    return status


REHEARSAL_LEFT_OVER = "rehearsal-left-over"
"""`commit_report`'s answer for a rehearsal's report that reached it after going live."""


def _rehearsal_left_over(submitted: ReportSubmitted) -> AuditEvent:
    return AuditEvent(
        actor="worker",
        action="report.rehearsal_left_over",
        subject=f"precinct:{submitted.precinct_id}",
        detail={
            "report_id": submitted.report_id,
            "receipt": submitted.receipt,
            "received_at": submitted.received_at,
        },
        note="confirmed during the rehearsal; not counted after going live",
    )


def _build_report(session: Session, submitted: ReportSubmitted) -> Report:
    # Locking the precinct's row serializes reports for one precinct across workers.
    precinct = session.scalars(
        select(Precinct).where(Precinct.precinct_id == submitted.precinct_id).with_for_update()
    ).one()
    assessment = assess(
        session,
        precinct,
        groups=submitted.groups,
        figures=submitted.figures,
        flagged=submitted.flagged,
        chance=submitted.chance,
        caller=submitted.caller,
        stir_verstat=submitted.stir_verstat,
        reached_by_hotline=submitted.reached_by_hotline,
    )
    return Report(
        id=submitted.report_id,
        precinct=precinct,
        call_sid=submitted.call_sid,
        caller=submitted.caller,
        # Bounded to its column; the status above was decided on the whole value.
        stir_verstat=submitted.stir_verstat[:64],
        receipt=submitted.receipt,
        status=assessment.status.value,
        ballot=submitted.ballot,
        groups=submitted.groups,
        figures=submitted.figures,
        stated_totals=submitted.totals,
        sdes=assessment.sdes,
        flagged_blocks=submitted.flagged,
        findings=assessment.findings,
        received_at=datetime.fromisoformat(submitted.received_at),
        committed_at=datetime.now(UTC),
        source=submitted.source,
    )


def _audit(action: str, report: Report) -> AuditEvent:
    return AuditEvent(
        actor="worker",
        action=action,
        subject=f"precinct:{report.precinct.precinct_id}",
        detail={"report_id": report.id, "receipt": report.receipt, "status": report.status},
    )


def record_blocks(
    session: Session, blocks: list[BlockCompleted], *, rehearsal: bool = False
) -> None:
    """Keep the completed blocks of reports in progress, applied in the order given (the
    latest call's blocks win). Called by the call log's batch writer (`queues.call_log`)
    with a batch's blocks in stream order; three queries however many blocks. A draft
    started in rehearsal (`rehearsal`) is marked so."""
    fitting = []
    for block in blocks:
        if (why := unfit_block(block)) is not None:
            # Not a report anyone can resume (the flow never makes one), and the database
            # would refuse it: left out rather than failing the others.
            log.warning("block of call %.64r not kept: %s", block.call_sid, why)
        else:
            fitting.append(block)
    blocks = fitting
    if not blocks:
        return
    precinct_ids = {block.precinct_id for block in blocks}
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
    sids = {block.call_sid for block in blocks}
    # A block written after the report it belongs to was committed: nothing to resume.
    submitted = set(session.scalars(select(Report.call_sid).where(Report.call_sid.in_(sids))))
    pending = [block for block in blocks if block.call_sid not in submitted]
    drafts = {
        (draft.precinct_id, draft.caller): draft
        for draft in session.scalars(
            select(ReportDraft).where(ReportDraft.precinct_id.in_(precinct_ids))
        )
    }
    for block in pending:
        key = (block.precinct_id, block.caller)
        if key not in drafts:
            drafts[key] = ReportDraft(
                precinct_id=key[0], caller=key[1], blocks={}, rehearsal=rehearsal
            )
            session.add(drafts[key])
        _keep_block(drafts[key], block)


def column_length(entity: type[Base], name: str) -> int:
    """The length of `entity`'s String column `name`, as the model declares it."""
    column_type = entity.__table__.c[name].type
    assert isinstance(column_type, String) and column_type.length is not None
    return column_type.length


def unfit(value: str, length: int) -> str | None:
    """Why `value` cannot be stored in a String(`length`) column as it is (PostgreSQL
    refuses a longer value, and a NUL character in any text; neither database takes a
    lone surrogate), or None if it can."""
    if len(value) > length:
        return f"longer than {length} characters"
    if "\x00" in value:
        return "holds a NUL character"
    try:
        value.encode()
    except UnicodeEncodeError:
        return "is not valid text"
    return None


_DRAFT_KEYS = {
    name: column_length(ReportDraft, name) for name in ("precinct_id", "caller", "call_sid")
}


def unfit_block(block: BlockCompleted) -> str | None:
    """Why `block` cannot be kept as it is, or None if it can. Its precinct, phone and call
    are the draft's keys: cut short they could name another's, so they are never cut."""
    for name, length in _DRAFT_KEYS.items():
        if (why := unfit(getattr(block, name), length)) is not None:
            return f"{name} {why}"
    return None


def _keep_block(draft: ReportDraft, completed: BlockCompleted) -> None:
    # Two workers may commit two batches out of order: an older event never overwrites a
    # newer one (`at` is UTC ISO 8601, so strings compare as times).
    at = completed.at
    if draft.call_sid != completed.call_sid:
        if any(block.get("at", "") > at for block in draft.blocks.values()):
            return  # a later call has started this report over already
        # A new call started the report over: its blocks replace the old call's.
        draft.blocks = {}
        draft.call_sid = completed.call_sid
    elif draft.blocks.get(completed.block, {}).get("at", "") > at:
        return  # the chair keyed this block again since
    block = {
        "figures": completed.figures,
        "total": completed.total,
        "flagged": completed.flagged,
        "at": at,
    }
    draft.blocks = {**draft.blocks, completed.block: block}
    draft.updated_at = datetime.fromisoformat(at)
