"""The drill line's durable side: the rq job that keeps a practice report for its
precinct, and what the readiness board reads back (`drill_statuses`).

The job writes `DrillCall` rows only (never a report, a draft or the call log's tables),
so a practice report cannot reach the results by any path. It is idempotent: one row per
call, so a job run again (rq's retry, a worker that died mid-job) stores nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callflows.events import DrillSubmitted, decode_as
from callflows.trust import Trust, report_trust
from models import DrillCall, Precinct
from queues import runtime

log = logging.getLogger(__name__)


def record_drill(payload: dict[str, Any]) -> str:
    """Store a practice report once; returns "matched", "mismatched" or "repeat".

    `payload` is the `DrillSubmitted` event the webhook queued; a payload that is not one
    fails the job (staff see it among the failed jobs)."""
    drilled = decode_as(DrillSubmitted, payload)
    sessions = runtime.sessions()
    try:
        with sessions.begin() as session:
            if _stored(session, drilled.call_sid):
                return "repeat"
            session.add(_drill_call(drilled))
    except IntegrityError:
        # Another worker stored the same call between our check and our insert.
        with sessions() as session:
            if _stored(session, drilled.call_sid):
                return "repeat"
        raise
    outcome = "matched" if drilled.matched else "mismatched"
    log.info("drill %s for precinct %s: %s", drilled.call_sid, drilled.precinct_id, outcome)
    return outcome


def _stored(session: Session, call_sid: str) -> bool:
    found = session.scalars(select(DrillCall.id).where(DrillCall.call_sid == call_sid)).first()
    return found is not None


def _drill_call(drilled: DrillSubmitted) -> DrillCall:
    return DrillCall(
        precinct_id=drilled.precinct_id,
        call_sid=drilled.call_sid,
        caller=drilled.caller,
        stir_verstat=drilled.stir_verstat,
        started_at=datetime.fromisoformat(drilled.started_at),
        ended_at=datetime.fromisoformat(drilled.at),
        figures=drilled.figures,
        chance=drilled.chance,
        matched=drilled.matched,
        mismatched=drilled.mismatched,
    )


@dataclass(frozen=True)
class DrillStatus:
    """A precinct's drills, for the readiness board."""

    calls: int
    """Practice reports completed (matched or not)."""
    last_called_at: datetime
    """When the last one ended."""
    last_matched: bool
    ever_matched: bool
    last_attested: bool | None
    """Whether the carrier attested the chair's registered phone (callflows.trust) on the
    last drill: False predicts a callback on the night; None when that drill was not made
    from the chair's registered phone (or the precinct has none), so it says nothing."""


def drill_statuses(session: Session) -> dict[str, DrillStatus]:
    """Each drilled precinct's status, by precinct ID (precincts never drilled are absent)."""
    counts = dict(
        session.execute(
            select(DrillCall.precinct_id, func.count()).group_by(DrillCall.precinct_id)
        ).all()
    )
    matched = set(
        session.scalars(select(DrillCall.precinct_id).where(DrillCall.matched).distinct())
    )
    chair_phones = dict(session.execute(select(Precinct.precinct_id, Precinct.chair_phone)).all())
    last: dict[str, DrillCall] = {}
    # Newest last, so each precinct keeps its latest drill (id breaks a tie of times).
    for drill in session.scalars(select(DrillCall).order_by(DrillCall.ended_at, DrillCall.id)):
        last[drill.precinct_id] = drill
    return {
        precinct_id: DrillStatus(
            calls=int(counts[precinct_id]),
            last_called_at=drill.ended_at,
            last_matched=drill.matched,
            ever_matched=precinct_id in matched,
            last_attested=_attested(drill, chair_phones.get(precinct_id, "")),
        )
        for precinct_id, drill in last.items()
    }


def _attested(drill: DrillCall, chair_phone: str) -> bool | None:
    trust = report_trust(drill.caller, chair_phone, drill.stir_verstat)
    if trust in (Trust.NO_CHAIR_PHONE, Trust.OTHER_NUMBER):
        return None
    return trust is Trust.VERIFIED
