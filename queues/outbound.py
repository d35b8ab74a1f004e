"""The bookkeeping of calls the hotline places: rounds to the chairs of precincts with no
report, callbacks verifying held reports, each try's outcome and the retries it earns.

Everything here runs in the worker (the dialer, rq jobs) or behind a staff action, in one
database transaction the caller owns; the REST calls themselves are `queues.dialer`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Exists, exists, func, select, update
from sqlalchemy.orm import Session

from callflows.events import CallbackRequested, ReportVerified
from models import (
    AttemptState,
    AuditEvent,
    DrillCall,
    OutboundAttempt,
    OutboundRound,
    Outcome,
    Precinct,
    Purpose,
    Report,
    ReportStatus,
)
from models.outbound import FINAL_CALL_STATUSES, OPEN_STATES
from queues import election_mode
from queues.assessment import assess
from queues.defaults import CALLBACKS_PER_PRECINCT, PIN_FAILURE_WINDOW_SECONDS

MACHINE = "machine"
"""The prefix of every `AnsweredBy` that is not a person (machine_start, machine_end_beep...)."""
CONFIRMED = "confirmed"
DENIED = "denied"


NOT_REPORTED = (ReportStatus.REJECTED.value, ReportStatus.QUARANTINED.value)
"""Reports that do not make their precinct "reported" for the outbound caller: a rejected
one, and a quarantined one (a right PIN from another number, or a report the chair denied
on a callback), since the real chair may still have to report."""


@dataclass(frozen=True)
class RetryPolicy:
    tries: int
    """Tries per precinct (or report), the first included."""
    retry_seconds: int
    """Wait after a try that achieved nothing before the next."""


SCHEDULE = "schedule"
"""The actor of the round the hotline starts by itself after the caucuses close."""


class RoundRunning(Exception):
    """A round is already running: stop it before starting another."""


class RemindersRefused(Exception):
    """No reminders now: earlier ones are still open, or the drill line has closed."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes (stored as UTC); PostgreSQL aware ones."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def active_round(session: Session) -> OutboundRound | None:
    """The round still running: started, not stopped, with a try not yet over."""
    latest = session.scalars(select(OutboundRound).order_by(OutboundRound.id.desc())).first()
    if latest is None or latest.stopped_at is not None:
        return None
    return latest if _round_has_open_attempts(session, latest.id) else None


def reachable() -> ColumnElement[bool]:
    """The precinct (the row of `Precinct` in the query) has a chair the outbound caller can
    dial: a registered phone. Rounds pick their precincts by it, and the readiness board
    shows it, so the two never disagree."""
    return Precinct.chair_phone != ""


def outstanding_precincts(session: Session) -> list[Precinct]:
    """Precincts the outbound caller can reach (`reachable`) with no report that counts or
    waits (every report but a rejected or quarantined one, `NOT_REPORTED`)."""
    return list(
        session.scalars(
            select(Precinct).where(reachable(), ~_has_reported()).order_by(Precinct.precinct_id)
        )
    )


def start_round(session: Session, by: str, now: datetime | None = None) -> OutboundRound:
    """Start a round over every outstanding precinct: one try each, due at once."""
    # Taken in turn (the mode row's lock): two clicks at once cannot both find none running.
    election_mode.stored(session, lock=True)
    if active_round(session) is not None:
        raise RoundRunning("a round is already running; stop it first")
    moment = now or utcnow()
    precincts = outstanding_precincts(session)
    started = OutboundRound(
        started_at=moment, started_by=by, precincts=len(precincts), rehearsal=_in_rehearsal(session)
    )
    session.add(started)
    session.flush()
    session.add_all(_first_tries(started, precincts, moment))
    session.add(
        AuditEvent(
            actor=by,
            action="outbound.round_started",
            subject=f"outbound_round:{started.id}",
            detail={"precincts": len(precincts)},
        )
    )
    return started


def start_scheduled(
    session: Session, now: datetime, closes_at: datetime | None, after_minutes: int
) -> int:
    """The round the hotline starts by itself: each outstanding precinct joins it once
    `after_minutes` have passed since its scheduled close (its own `closes_at`, else the
    election's `closes_at`), so sites that close later are called later. Once staff stop
    it, it stays stopped. Returns how many precincts joined now."""
    rounds = list(
        session.scalars(select(OutboundRound).where(OutboundRound.started_by == SCHEDULE))
    )
    if any(started.stopped_at is not None for started in rounds):
        return 0
    delay = timedelta(minutes=after_minutes)
    called = set(
        session.scalars(
            select(OutboundAttempt.precinct_id).where(
                OutboundAttempt.purpose == Purpose.STRAGGLER.value,
                OutboundAttempt.round_id.is_not(None),
            )
        )
    )
    due = []
    for precinct in outstanding_precincts(session):
        closes = precinct.closes_at or closes_at
        if precinct.precinct_id in called or closes is None:
            continue
        if aware(closes) + delay <= now:
            due.append(precinct)
    if not due:
        return 0
    scheduled = rounds[0] if rounds else None
    if scheduled is None:
        scheduled = OutboundRound(
            started_at=now, started_by=SCHEDULE, precincts=0, rehearsal=_in_rehearsal(session)
        )
        session.add(scheduled)
        session.flush()
        session.add(
            AuditEvent(
                actor=SCHEDULE,
                action="outbound.round_started",
                subject=f"outbound_round:{scheduled.id}",
                detail={"after_minutes": after_minutes},
            )
        )
    scheduled.precincts += len(due)
    session.add_all(_first_tries(scheduled, due, now))
    return len(due)


def _first_tries(
    started: OutboundRound, precincts: list[Precinct], now: datetime
) -> list[OutboundAttempt]:
    """A round's first call to each of `precincts`' chairs, due at once."""
    return [
        OutboundAttempt(
            purpose=Purpose.STRAGGLER.value,
            round_id=started.id,
            precinct_id=precinct.precinct_id,
            to_number=precinct.chair_phone,
            due_at=now,
            created_at=now,
            rehearsal=started.rehearsal,
        )
        for precinct in precincts
    ]


def _in_rehearsal(session: Session) -> bool:
    """Whether rows written now belong to the rehearsal (see queues.election_mode)."""
    return election_mode.is_rehearsal(election_mode.stored(session, share_lock=True))


def stop_round(session: Session, by: str, now: datetime | None = None) -> int:
    """Stop the running round: its tries not yet dialled are skipped (calls already placed
    run to their end). Returns how many were skipped; 0 when no round was running."""
    running = list(
        session.scalars(
            select(OutboundRound)
            .where(OutboundRound.stopped_at.is_(None))
            .order_by(OutboundRound.id)
            .with_for_update()
        )
    )
    moment = now or utcnow()
    skipped = 0
    # Every round not yet stopped (the scheduled one and one started by hand may both run).
    for round_ in running:
        round_.stopped_at = moment
        round_.stopped_by = by
        count = _stop_due(session, OutboundAttempt.round_id == round_.id, moment)
        skipped += count
        session.add(
            AuditEvent(
                actor=by,
                action="outbound.round_stopped",
                subject=f"outbound_round:{round_.id}",
                detail={"skipped": count},
            )
        )
    return skipped


def start_reminders(
    session: Session,
    by: str,
    now: datetime | None = None,
    *,
    drill_closes_at: datetime | None = None,
) -> int:
    """Queue a reminder call to every chair the outbound caller can reach (`reachable`) who
    has no drill that matched the practice worksheet yet; returns how many. Refused once
    the drill line has closed for caucus night (`drill_closes_at`), and while earlier
    reminders are still open, so a second click never calls a chair twice."""
    moment = now or utcnow()
    if drill_closes_at is not None and moment >= drill_closes_at:
        raise RemindersRefused("the drill line has closed for caucus night: no reminders now")
    # Taken in turn (the mode row's lock): two clicks at once cannot both find none open.
    election_mode.stored(session, lock=True)
    still_open = session.scalar(
        select(func.count())
        .select_from(OutboundAttempt)
        .where(
            OutboundAttempt.purpose == Purpose.REMINDER.value,
            OutboundAttempt.state.in_(OPEN_STATES),
        )
    )
    if still_open:
        raise RemindersRefused(f"{still_open} reminder call(s) are still open; wait for them")
    precincts = undrilled_precincts(session)
    rehearsal = _in_rehearsal(session)
    session.add_all(
        OutboundAttempt(
            purpose=Purpose.REMINDER.value,
            precinct_id=precinct.precinct_id,
            to_number=precinct.chair_phone,
            due_at=moment,
            created_at=moment,
            rehearsal=rehearsal,
        )
        for precinct in precincts
    )
    session.add(
        AuditEvent(
            actor=by,
            action="outbound.reminders_started",
            subject="outbound:reminders",
            detail={"precincts": len(precincts)},
        )
    )
    return len(precincts)


def stop_reminders(session: Session, by: str, now: datetime | None = None) -> int:
    """Skip every reminder not yet dialled (calls already placed run to their end); returns
    how many were skipped."""
    skipped = _stop_due(session, OutboundAttempt.purpose == Purpose.REMINDER.value, now or utcnow())
    session.add(
        AuditEvent(
            actor=by,
            action="outbound.reminders_stopped",
            subject="outbound:reminders",
            detail={"skipped": skipped},
        )
    )
    return skipped


def _stop_due(session: Session, which: ColumnElement[bool], moment: datetime) -> int:
    """Skip the tries `which` picks that are not yet dialled, as staff stopped them; returns
    how many."""
    result = session.execute(
        update(OutboundAttempt)
        .where(which, OutboundAttempt.state == AttemptState.DUE.value)
        .values(state=AttemptState.SKIPPED.value, outcome=Outcome.STOPPED.value, ended_at=moment)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def undrilled_precincts(session: Session) -> list[Precinct]:
    """Precincts whose chair the outbound caller can reach (`reachable`) and who has no
    drill that matched the practice worksheet (the readiness board's "drill" lack)."""
    return list(
        session.scalars(
            select(Precinct).where(reachable(), ~_has_drilled()).order_by(Precinct.precinct_id)
        )
    )


def _has_drilled() -> Exists:
    """The precinct (the row of `Precinct` in the query) has a drill that matched."""
    return exists().where(DrillCall.precinct_id == Precinct.precinct_id, DrillCall.matched)


def precinct_has_drilled(session: Session, precinct_id: str) -> bool:
    drilled = select(Precinct.id).where(Precinct.precinct_id == precinct_id, _has_drilled())
    return session.scalar(drilled) is not None


def request_verification(session: Session, report: Report, now: datetime | None = None) -> None:
    """Queue a callback to the chair's registered phone for a report held as unverified
    (the worker calls this as it stores one). Nothing for a precinct with no phone: there
    is nobody to call, so a reviewer decides."""
    phone = report.precinct.chair_phone
    if report.status != ReportStatus.UNVERIFIED.value or not phone:
        return
    moment = now or utcnow()
    session.add(
        OutboundAttempt(
            purpose=Purpose.VERIFY.value,
            precinct_id=report.precinct.precinct_id,
            report_id=report.id,
            to_number=phone,
            due_at=moment,
            created_at=moment,
            rehearsal=report.rehearsal,
        )
    )


def request_callback(
    session: Session, requested: CallbackRequested, now: datetime | None = None
) -> str:
    """Queue a call to a chair's registered phone that was refused a PIN on a call the
    carrier did not attest (callflows.flow `_number_blocked`); returns what was done, for
    the job's log: "queued", or why not. One callback open at a time per precinct, and
    CALLBACKS_PER_PRECINCT in a night, however often spoofers of the number get it blocked."""
    moment = now or utcnow()
    # The precinct's row lock serializes two requests for one precinct across workers.
    precinct = session.scalars(
        select(Precinct).where(Precinct.precinct_id == requested.precinct_id).with_for_update()
    ).one_or_none()
    if precinct is None or precinct.chair_phone != requested.chair_phone:
        return "phone_changed"
    if precinct_has_reported(session, requested.precinct_id):
        return "reported"
    night = moment - timedelta(seconds=PIN_FAILURE_WINDOW_SECONDS)
    callbacks = list(
        session.scalars(
            select(OutboundAttempt.state).where(
                OutboundAttempt.precinct_id == requested.precinct_id,
                OutboundAttempt.purpose == Purpose.CALLBACK.value,
                OutboundAttempt.try_number == 1,
                OutboundAttempt.created_at >= night,
            )
        )
    )
    if any(state in OPEN_STATES for state in callbacks):
        return "already_queued"
    if len(callbacks) >= CALLBACKS_PER_PRECINCT:
        return "limit"
    session.add(
        OutboundAttempt(
            purpose=Purpose.CALLBACK.value,
            precinct_id=requested.precinct_id,
            to_number=requested.chair_phone,
            due_at=moment,
            created_at=moment,
            rehearsal=_in_rehearsal(session),
        )
    )
    session.add(
        AuditEvent(
            actor="worker",
            action="outbound.callback_requested",
            subject=f"precinct:{requested.precinct_id}",
            detail={"call_sid": requested.call_sid, "callback": len(callbacks) + 1},
            note="the chair's phone was blocked from keying a PIN on an unattested call",
        )
    )
    return "queued"


def skip_reason(
    session: Session, attempt: OutboundAttempt, *, allowed: frozenset[str] | None = None
) -> Outcome | None:
    """Why a due try must not be dialled any more, or None to dial it. With `allowed` (the
    dialer in rehearsal: the rehearsal allow-list), any other number is never dialled,
    except a reminder to drill: those go to real chairs in the weeks before the night, when
    the hotline is in rehearsal, and neither take nor count anything."""
    reminder = attempt.purpose == Purpose.REMINDER.value
    if allowed is not None and not reminder and attempt.to_number not in allowed:
        return Outcome.REHEARSAL
    phone = session.scalar(
        select(Precinct.chair_phone).where(Precinct.precinct_id == attempt.precinct_id)
    )
    if phone != attempt.to_number:
        # Staff registered a substitute chair's phone since the try was made: the old
        # number is never called (a round started now calls the new one).
        return Outcome.PHONE_CHANGED
    if attempt.purpose == Purpose.VERIFY.value:
        report = session.get(Report, attempt.report_id) if attempt.report_id else None
        if report is None or report.status != ReportStatus.UNVERIFIED.value:
            return Outcome.SETTLED
        return None
    if reminder:
        return Outcome.DRILLED if precinct_has_drilled(session, attempt.precinct_id) else None
    if attempt.round_id is not None:
        started = session.get(OutboundRound, attempt.round_id)
        if started is not None and started.stopped_at is not None:
            return Outcome.STOPPED
    if precinct_has_reported(session, attempt.precinct_id):
        return Outcome.REPORTED
    return None


def precinct_has_reported(session: Session, precinct_id: str) -> bool:
    reported = select(Precinct.id).where(Precinct.precinct_id == precinct_id, _has_reported())
    return session.scalar(reported) is not None


def _has_reported(*since: ColumnElement[bool]) -> Exists:
    """The precinct (the row of `Precinct` in the query) has a report that counts as
    reported: any but those in `NOT_REPORTED` (with `since`'s conditions on the report
    too)."""
    return exists().where(
        Report.precinct_pk == Precinct.id,
        Report.status.not_in(NOT_REPORTED),
        *since,
    )


def record_call_status(
    session: Session,
    attempt_id: int,
    call_sid: str,
    status: str,
    policy: RetryPolicy,
    *,
    answered_by: str = "",
    now: datetime | None = None,
) -> None:
    """Twilio's status callback for a try's call; a final status ends the try and, if it
    achieved nothing, schedules the next. Safe to run twice and in any order with the dialer
    (the callback may arrive before the dialer has stored the call's SID)."""
    attempt = _attempt_of(session, attempt_id, call_sid)
    if attempt is None:
        return
    if answered_by and not attempt.answered_by:
        attempt.answered_by = answered_by
    if attempt.state == AttemptState.ENDED.value:
        return  # a repeated final callback
    attempt.call_sid = call_sid
    attempt.call_status = status
    if status not in FINAL_CALL_STATUSES:
        if attempt.state == AttemptState.DIALING.value:
            attempt.state = AttemptState.PLACED.value
        return
    moment = now or utcnow()
    attempt.state = AttemptState.ENDED.value
    attempt.outcome = status
    attempt.ended_at = moment
    if not _achieved(session, attempt):
        schedule_retry(session, attempt, policy, moment)


def record_answered_by(session: Session, attempt_id: int, call_sid: str, answered_by: str) -> bool:
    """Asynchronous answering-machine detection's verdict; True when a machine answered
    (the caller then redirects the call to the voicemail message)."""
    attempt = _attempt_of(session, attempt_id, call_sid)
    if attempt is None:
        return False
    attempt.answered_by = answered_by
    return answered_by.startswith(MACHINE) or answered_by == "fax"


def schedule_retry(
    session: Session, attempt: OutboundAttempt, policy: RetryPolicy, now: datetime
) -> OutboundAttempt | None:
    """The next try after `attempt`, due `retry_seconds` later; None when the tries are used
    up (a verification then stays for a reviewer) or the round was stopped."""
    if attempt.try_number >= policy.tries or skip_reason(session, attempt) is not None:
        if attempt.purpose == Purpose.VERIFY.value and attempt.try_number >= policy.tries:
            session.add(
                AuditEvent(
                    actor="worker",
                    action="report.verification_unanswered",
                    subject=f"precinct:{attempt.precinct_id}",
                    detail={"report_id": attempt.report_id, "tries": attempt.try_number},
                )
            )
        return None
    following = OutboundAttempt(
        purpose=attempt.purpose,
        round_id=attempt.round_id,
        precinct_id=attempt.precinct_id,
        report_id=attempt.report_id,
        to_number=attempt.to_number,
        try_number=attempt.try_number + 1,
        due_at=now + timedelta(seconds=policy.retry_seconds),
        created_at=now,
        rehearsal=attempt.rehearsal,
    )
    session.add(following)
    return following


def settle_verification(session: Session, verified: ReportVerified) -> tuple[str, bool]:
    """The chair's answer on a verification callback: commit the report as if it came on an
    attested call (it may still be a duplicate, a conflict or flagged), or quarantine it and
    alert staff. Returns the report's status and whether this answer changed it; repeats
    change nothing."""
    report = session.get(Report, verified.report_id)
    if report is None:
        return "unknown", False
    # Lock the precinct's row first, as every writer of its reports does.
    precinct = session.scalars(
        select(Precinct).where(Precinct.id == report.precinct_pk).with_for_update()
    ).one()
    # Re-read under the lock: a reviewer may have decided the report while we waited.
    session.refresh(report)
    attempt = session.scalars(
        select(OutboundAttempt).where(OutboundAttempt.call_sid == verified.call_sid)
    ).first()
    if attempt is not None and not attempt.result:
        attempt.result = CONFIRMED if verified.confirmed else DENIED
    if report.status != ReportStatus.UNVERIFIED.value:
        return report.status, False  # decided already (a reviewer, or this answer before)
    if verified.confirmed:
        status = assess(
            session,
            precinct,
            groups=report.groups,
            figures=report.figures,
            flagged=report.flagged_blocks,
            caller=report.caller,
            stir_verstat=report.stir_verstat,
            reached_by_hotline=True,
        ).status
        action = "report.verified_by_callback"
    else:
        status = ReportStatus.QUARANTINED
        action = "report.denied_by_chair"
    report.status = status.value
    report.reviewed_by = "callback"
    report.reviewed_at = aware(datetime.fromisoformat(verified.at))
    session.add(
        AuditEvent(
            actor="callback",
            action=action,
            subject=f"precinct:{precinct.precinct_id}",
            detail={"report_id": report.id, "call_sid": verified.call_sid, "status": status.value},
        )
    )
    return status.value, True


def _attempt_of(session: Session, attempt_id: int, call_sid: str) -> OutboundAttempt | None:
    """The try a callback of `call_sid` names, locked; None when it is no try of ours or
    the callback is a stale one of another call."""
    attempt = session.get(OutboundAttempt, attempt_id, with_for_update=True)
    if attempt is None or (attempt.call_sid and attempt.call_sid != call_sid):
        return None
    return attempt


def _achieved(session: Session, attempt: OutboundAttempt) -> bool:
    """Whether a finished try did what it was for (nothing more to call about)."""
    if attempt.purpose == Purpose.VERIFY.value:
        return bool(attempt.result) or skip_reason(session, attempt) is not None
    if attempt.purpose == Purpose.REMINDER.value:
        # Answered (by the chair or their voicemail): the reminder was said.
        return attempt.outcome == Outcome.COMPLETED.value or precinct_has_drilled(
            session, attempt.precinct_id
        )
    return precinct_has_reported(session, attempt.precinct_id)


def _round_has_open_attempts(session: Session, round_id: int) -> bool:
    count = session.scalar(
        select(func.count())
        .select_from(OutboundAttempt)
        .where(OutboundAttempt.round_id == round_id, OutboundAttempt.state.in_(OPEN_STATES))
    )
    return bool(count)


@dataclass(frozen=True)
class OutboundTotals:
    """Counts for the dashboard: tries by purpose and where they stand or how they ended."""

    by_purpose: dict[str, dict[str, int]]
    """purpose -> {"due": n, "dialing": n, "placed": n, "completed": n, "busy": n, ...}."""
    results: dict[str, int]
    """"confirmed" / "denied" verification answers."""
    precincts_reported_after_call: int
    """Precincts of the latest round that have reported since it began."""


def totals(session: Session) -> OutboundTotals:
    by_purpose: dict[str, dict[str, int]] = {}
    rows = session.execute(
        select(
            OutboundAttempt.purpose,
            OutboundAttempt.state,
            OutboundAttempt.outcome,
            func.count(),
        ).group_by(OutboundAttempt.purpose, OutboundAttempt.state, OutboundAttempt.outcome)
    )
    for purpose, state, outcome, count in rows:
        bucket = by_purpose.setdefault(purpose, {})
        name = outcome or state
        bucket[name] = bucket.get(name, 0) + int(count)
    results = {
        str(result): int(count)
        for result, count in session.execute(
            select(OutboundAttempt.result, func.count())
            .where(OutboundAttempt.result != "")
            .group_by(OutboundAttempt.result)
        )
    }
    latest = session.scalars(select(OutboundRound).order_by(OutboundRound.id.desc())).first()
    reported = 0
    if latest is not None:
        called = select(OutboundAttempt.precinct_id).where(OutboundAttempt.round_id == latest.id)
        reported = int(
            session.scalar(
                select(func.count(func.distinct(Precinct.id))).where(
                    Precinct.precinct_id.in_(called),
                    _has_reported(Report.received_at >= latest.started_at),
                )
            )
            or 0
        )
    return OutboundTotals(by_purpose, results, reported)
