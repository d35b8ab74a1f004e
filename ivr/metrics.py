"""One snapshot of everything staff watch, for the dashboard and /metrics alike."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from redis import Redis
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import func, select

from callflows.phrases import LANGUAGES
from ivr.hotline import Hotline
from ivr.overload import OverloadStatus
from models import (
    PhotoState,
    Precinct,
    Report,
    ReportStatus,
    WorksheetEntry,
    WorksheetMessage,
    WorksheetPhoto,
)
from queues import admission, call_log, counters
from queues.counters import calls_in_language
from queues.defaults import WORKER_QUEUES
from queues.publish import queue

CALL_LOG_QUEUE = "events"
"""The call log's name among the queues staff see (it was an rq queue of that name)."""


@dataclass
class QueueDepth:
    queued: int
    started: int
    failed: int


@dataclass
class Snapshot:
    """Live numbers: calls, queues, reports, precincts, screening, latency, dead letters."""

    at: float
    calls_in_ivr: int
    hold_depth: int
    hold_longest_wait_seconds: float
    queues: dict[str, QueueDepth]
    abandoned_jobs: int
    reports: dict[str, int]
    precincts_total: int
    precincts_reported: int
    by_county: dict[str, dict[str, int]]
    screening_15m: dict[str, int]
    latency_ms: dict[str, float]
    totals: dict[str, int] = field(default_factory=dict)
    call_log_dead_letters: int = 0
    """Call-log entries the database refused, kept for staff (queues.call_log)."""
    in_call_latency_ms: dict[str, float] = field(default_factory=dict)
    """Webhooks of calls inside the flow, from the balancer's arrival (queue included)."""
    overload: OverloadStatus | None = None
    """The balancers' overload control; None when HAPROXY_STATS_URLS names none."""
    worksheets: dict[str, int] = field(default_factory=dict)
    """Texted worksheets (issue 18): messages, photos stored and waiting to be fetched, and
    messages in triage (no precinct, no photo, or a file that is not one)."""

    @property
    def precincts_outstanding(self) -> int:
        return self.precincts_total - self.precincts_reported

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["precincts_outstanding"] = self.precincts_outstanding
        return data


def queue_depths(redis: Redis) -> dict[str, QueueDepth]:
    """Each rq queue's jobs waiting, running and failed, and the call log's backlog."""
    depths = {}
    for name in WORKER_QUEUES:
        q = queue(name, redis)
        depths[name] = QueueDepth(
            # A job waiting to be tried again (the database was down, say) still waits:
            # counted with the queued, or a report held up by an outage would be hidden.
            queued=q.count + ScheduledJobRegistry(queue=q).count,  # type: ignore[no-untyped-call]
            started=StartedJobRegistry(queue=q).count,
            failed=FailedJobRegistry(queue=q).count,
        )
    # Call bookkeeping is a stream, not an rq queue; staff see its backlog the same way,
    # and its dead letters (entries the database refused) as its failed ones.
    unread, being_written = call_log.backlog(redis)
    depths[CALL_LOG_QUEUE] = QueueDepth(
        queued=unread, started=being_written, failed=call_log.dead_letter_count(redis)
    )
    return depths


SHOWN_TOTALS = (
    "staff_requests",
    "staff_put_through",
    "staff_off_duty",
    "reports_denied_by_chair",
    *(calls_in_language(code) for code in LANGUAGES),
)
"""The running totals the overview page shows by name."""


def collect(hotline: Hotline) -> Snapshot:
    """Read Redis and the database once; cheap enough to call every two seconds."""
    redis = hotline.redis
    queues = queue_depths(redis)
    depth, longest = admission.hold_queue(redis)
    reports, total, reported, by_county = _database_counts(hotline)
    worksheets = _worksheet_counts(hotline, by_county)
    all_totals = counters.totals(redis)
    return Snapshot(
        at=time.time(),
        calls_in_ivr=admission.occupancy(redis),
        hold_depth=depth,
        hold_longest_wait_seconds=longest,
        queues=queues,
        abandoned_jobs=all_totals.get("abandoned_jobs", 0),
        reports=reports,
        precincts_total=total,
        precincts_reported=reported,
        by_county=by_county,
        screening_15m=counters.screening_counts(redis),
        latency_ms=counters.latency_percentiles(redis),
        # The overview shows these even before the first one happens: 0, not missing.
        totals={**dict.fromkeys(SHOWN_TOTALS, 0), **all_totals},
        call_log_dead_letters=queues[CALL_LOG_QUEUE].failed,
        in_call_latency_ms=counters.in_call_latency_percentiles(redis),
        overload=hotline.overload.status() if hotline.overload else None,
        worksheets=worksheets,
    )


def _worksheet_counts(hotline: Hotline, by_county: dict[str, dict[str, int]]) -> dict[str, int]:
    """The texted worksheets' board (issue 18); each county's stored photos and reconciled
    precincts go into `by_county`."""
    with hotline.sessions() as session:
        states = dict(
            session.execute(
                select(WorksheetPhoto.state, func.count()).group_by(WorksheetPhoto.state)
            ).all()
        )
        messages = session.scalar(select(func.count()).select_from(WorksheetMessage)) or 0
        triage = (
            session.scalar(
                select(func.count()).select_from(WorksheetMessage).where(WorksheetMessage.triage)
            )
            or 0
        )
        entries = Counter(
            session.scalars(
                select(func.count(WorksheetEntry.id))
                .select_from(WorksheetMessage)
                .outerjoin(WorksheetEntry, WorksheetEntry.message_pk == WorksheetMessage.id)
                .where(WorksheetMessage.report_id == "", WorksheetMessage.precinct_id != "")
                .group_by(WorksheetMessage.id)
            )
        )
        per_county = session.execute(
            select(Precinct.county, func.count())
            .select_from(WorksheetPhoto)
            .join(WorksheetMessage, WorksheetPhoto.message_pk == WorksheetMessage.id)
            .join(Precinct, Precinct.precinct_id == WorksheetMessage.precinct_id)
            .where(WorksheetPhoto.state == PhotoState.STORED)
            .group_by(Precinct.county)
        ).all()
        reconciled = session.execute(
            select(Precinct.county, func.count(func.distinct(Report.precinct_pk)))
            .join(Precinct, Precinct.id == Report.precinct_pk)
            .where(Report.reconciled_with != "")
            .group_by(Precinct.county)
        ).all()
        differ = (
            session.scalar(
                select(func.count())
                .select_from(Report)
                .where(Report.differs_from != "", Report.status == ReportStatus.CONFLICT)
            )
            or 0
        )
    for tally in by_county.values():
        tally["photos"] = tally["reconciled"] = 0
    for county, photos in per_county:
        by_county.setdefault(county, {"total": 0, "reported": 0, "outstanding": 0})
        by_county[county]["photos"] = int(photos)
    for county, precincts in reconciled:
        by_county.setdefault(county, {"total": 0, "reported": 0, "outstanding": 0})
        by_county[county]["reconciled"] = int(precincts)
    return {
        "messages": int(messages),
        "photos_stored": int(states.get(PhotoState.STORED.value, 0)),
        "photos_waiting": int(states.get(PhotoState.WAITING.value, 0)),
        "photos_not_taken": sum(
            int(states.get(state.value, 0))
            for state in (PhotoState.TOO_LARGE, PhotoState.FAILED, PhotoState.REFUSED)
        ),
        "triage": int(triage),
        "awaiting_first_entry": int(entries.get(0, 0)),
        "awaiting_second_entry": int(entries.get(1, 0)),
        "entries_differ": int(entries.get(2, 0)),
        "reconciled_precincts": sum(int(n) for _, n in reconciled),
        "sources_differ": int(differ),
    }


def _database_counts(
    hotline: Hotline,
) -> tuple[dict[str, int], int, int, dict[str, dict[str, int]]]:
    with hotline.sessions() as session:
        by_status = dict(
            session.execute(select(Report.status, func.count()).group_by(Report.status)).all()
        )
        reports = {status.value: int(by_status.get(status.value, 0)) for status in ReportStatus}
        reports["received"] = sum(reports.values())
        counties = session.execute(select(Precinct.county, Precinct.id)).all()
        reported_ids = set(session.scalars(select(Report.precinct_pk).distinct()))
    by_county: dict[str, Counter[str]] = {}
    for county, precinct_pk in counties:
        tally = by_county.setdefault(county, Counter())
        tally["total"] += 1
        tally["reported"] += precinct_pk in reported_ids
    for tally in by_county.values():
        tally["outstanding"] = tally["total"] - tally["reported"]
    return (
        reports,
        len(counties),
        len(reported_ids),
        {county: dict(tally) for county, tally in sorted(by_county.items())},
    )
