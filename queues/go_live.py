"""The switch from rehearsal to live, and back: drain, archive, zero report, clean Redis.

Going live (`go_live`) is one audited sequence, run by `hotline mode live` or by an admin on
the dashboard:
1. the mode becomes `opening`: new calls hear that the hotline opens in a moment and hold
   (ivr.voice.calls), calls in progress continue;
2. it waits until no call is inside the IVR and what the rehearsal's calls queued (reports,
   call-log events) is in the database, or until the drain's time is up;
3. in one transaction it archives every row of the results-bearing tables (a
   `RehearsalArchive`: counts and rows as JSON; report jobs still queued go into it too,
   and off the queue), deletes them, and writes the `ZeroReport` (each of those tables
   counted again: all 0; precincts and PINs issued), with the mode row locked, so no
   rehearsal row can be written meanwhile;
4. it deletes what the rehearsal left in Redis that would change the night (PIN counters
   and locks, known callers, call rates, call state, progress, receipts, the overview's
   counters), lists the blocklist entries added during the rehearsal for an admin to keep
   or drop, and sets `live`.
Going back to rehearsal (`to_rehearsal`) is refused once a live report exists; going live
is refused when live reports exist (the archive would destroy them).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from redis import Redis
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from models import (
    AuditEvent,
    Base,
    BlockedNumber,
    Call,
    Mode,
    OutboundAttempt,
    OutboundRound,
    Precinct,
    RehearsalArchive,
    Report,
    ReportDraft,
    WorksheetEntry,
    WorksheetMessage,
    WorksheetPhoto,
    ZeroReport,
)
from queues import admission, call_log, counters, election_mode, keys
from queues.blocklist import active_entries, lift
from queues.defaults import REPORTS_QUEUE
from queues.publish import queue

ARCHIVED: tuple[type[Base], ...] = (
    OutboundAttempt,
    OutboundRound,
    ReportDraft,
    Report,
    Call,
    WorksheetEntry,
    WorksheetPhoto,
    WorksheetMessage,
)
"""The results-bearing tables, in the order their rows are deleted (children first)."""
POLL_SECONDS = 0.25
"""How often the drain looks at the calls in the IVR."""
SWITCH_TTL_SECONDS = 30
"""The dashboard's note of a switch under way lapses this long after its last renewal (a
process that died mid-drain leaves `opening`, which the dashboard offers to resume)."""
LEFTOVER_PATTERNS = (
    keys.pin_failures("*", "*"),
    keys.number_blocked("*"),
    keys.chair_phone_blocked("*"),
    keys.precinct_locked("*"),
    keys.CALL_RATE_PATTERN,
    keys.call("*"),
    keys.progress("*", "*"),
    keys.receipt("*"),
    keys.screening_minute(0).rsplit(":", 1)[0] + ":*",
)
"""What a rehearsal leaves in Redis that would change the night (the drill line's PIN
limits are its own, kept)."""
LEFTOVER_KEYS = (keys.KNOWN_CALLERS, keys.HISTORY)
DRILL_TOTALS_PREFIX = "drill_"
"""The drill line's own staff totals, kept with its PIN limits (`keys.TOTALS` fields)."""

LIVE_REPORTS_EXIST = (
    "Refused: live reports exist ({count}). Going live zeroes the results and would destroy "
    "them; the hotline is already counting."
)
BACK_TO_REHEARSAL_REFUSED = (
    "Refused: {count} live report(s) exist. A hotline that has counted cannot go back to "
    "rehearsal (its results would be archived as a rehearsal's)."
)
ALREADY_LIVE = "Refused: the hotline is already live."
SWITCH_UNDER_WAY = (
    "Refused: a switch to live is already under way; it goes on by itself (if its process "
    "died, it can be resumed here within a minute)."
)
SWITCH_CANCELLED = "Refused: the hotline went back to rehearsal; the switch is cancelled."


class Refused(Exception):
    """The switch may not happen; the message says why, for the operator."""


@dataclass
class Switch:
    """What going live did, for the command line and the dashboard."""

    zero_report: ZeroReport
    archive_counts: dict[str, int]
    drained: bool
    """True when every call in progress had ended; False when the drain gave up."""
    calls_left: int
    blocklist_to_review: list[BlockedNumber] = field(default_factory=list)
    redis_keys_cleared: int = 0


def live_reports(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Report).where(~Report.rehearsal)) or 0


def to_rehearsal(redis: Redis, sessions: sessionmaker[Session], by: str) -> None:
    """Back to rehearsal, refused once a live report exists."""
    with sessions.begin() as session:
        election_mode.stored(session, lock=True)
        count = live_reports(session)
        if count:
            raise Refused(BACK_TO_REHEARSAL_REFUSED.format(count=count))
        election_mode.record(session, Mode.REHEARSAL, by)
    election_mode.mirror(redis, Mode.REHEARSAL)
    redis.delete(keys.GO_LIVE)


def begin(redis: Redis, sessions: sessionmaker[Session], by: str, drain_seconds: int) -> float:
    """Step 1: refuse, or set `opening` (resumed if a switch died mid-drain); returns when
    the drain gives up (epoch seconds)."""
    with sessions.begin() as session:
        mode = election_mode.stored(session, lock=True)
        if mode is Mode.LIVE:
            # A switch that died between its commit and its mirror left Redis saying
            # `opening`: the database is right, and every node hears it now.
            election_mode.mirror(redis, Mode.LIVE)
            redis.delete(keys.GO_LIVE)
            raise Refused(ALREADY_LIVE)
        count = live_reports(session)
        if count:
            raise Refused(LIVE_REPORTS_EXIST.format(count=count))
        gives_up_at = time.time() + drain_seconds
        # One switch at a time (a double click, the command run beside the dashboard): the
        # note is taken only if no switch holds it, and a dead switch's lapses (resumable).
        if not note_switch(redis, by, gives_up_at, first=True):
            raise Refused(SWITCH_UNDER_WAY)
        if mode is Mode.REHEARSAL:
            election_mode.record(session, Mode.OPENING, by, note="draining before going live")
    election_mode.mirror(redis, Mode.OPENING)
    return gives_up_at


def note_switch(redis: Redis, by: str, gives_up_at: float, *, first: bool = False) -> bool:
    """The note of the switch under way, for the dashboard and as the switch's token
    (renewed while it drains); with `first`, taken only if no switch holds it."""
    note = json.dumps({"by": by, "gives_up_at": gives_up_at})
    return bool(redis.set(keys.GO_LIVE, note, ex=SWITCH_TTL_SECONDS, nx=first))


def switch_under_way(redis: Redis) -> dict[str, Any] | None:
    raw = redis.get(keys.GO_LIVE)
    if raw is None:
        return None
    note: dict[str, Any] = json.loads(raw)
    return note


def pending_work(redis: Redis, now: float | None = None) -> dict[str, int]:
    """What the rehearsal's calls still have under way: calls in the IVR, report jobs not
    yet committed, call-log events not yet written."""
    reports = queue(REPORTS_QUEUE, redis)
    waiting, unsettled = call_log.backlog(redis)
    return {
        "calls": admission.active(redis, now),
        "reports": reports.count + reports.started_job_registry.count,
        "call_log": waiting + unsettled,
    }


def drain(
    redis: Redis,
    by: str,
    gives_up_at: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, int]:
    """Step 2: wait until nothing is under way or the time is up; returns what is left."""
    while True:
        left = pending_work(redis)
        if not any(left.values()) or time.time() >= gives_up_at:
            return left
        note_switch(redis, by, gives_up_at)
        sleep(POLL_SECONDS)


def archive_and_zero(
    session: Session, redis: Redis, by: str
) -> tuple[RehearsalArchive, ZeroReport, list[str]]:
    """Step 3, in `session`'s transaction: archive and delete every results-bearing row,
    then count them again. Returns the report jobs taken off the queue (to delete once
    committed)."""
    # The mode row's lock waits for every writer of rehearsal-marked rows that is mid-way.
    mode = election_mode.stored(session, lock=True)
    if mode is not Mode.OPENING:
        # Another switch finished first (or staff went back to rehearsal): whatever is in
        # the tables now is the night's, never a rehearsal's to archive.
        raise Refused(ALREADY_LIVE if mode is Mode.LIVE else SWITCH_CANCELLED)
    count = live_reports(session)
    if count:
        raise Refused(LIVE_REPORTS_EXIST.format(count=count))
    rows: dict[str, list[dict[str, Any]]] = {}
    for model in ARCHIVED:
        table = _table(model)
        rows[table.name] = [_jsonable(dict(row._mapping)) for row in session.execute(select(table))]
    queued = queue(REPORTS_QUEUE, redis).get_jobs()
    rows["queued_report_jobs"] = [
        _jsonable({"id": job.id, "args": list(job.args)}) for job in queued
    ]
    counts = {name: len(listed) for name, listed in rows.items()}
    archive = RehearsalArchive(archived_by=by, counts=counts, rows=rows)
    session.add(archive)
    for model in ARCHIVED:
        session.execute(delete(_table(model)))
    session.flush()
    zero = ZeroReport(by=by, archive_id=archive.id, counts=zero_counts(session))
    session.add(zero)
    session.add(
        AuditEvent(
            actor=by,
            action="election.rehearsal_archived",
            subject="election",
            detail={"archive_id": archive.id, "counts": counts},
        )
    )
    session.flush()
    session.add(
        AuditEvent(
            actor=by,
            action="election.zero_report",
            subject="election",
            detail={"zero_report_id": zero.id, "counts": zero.counts},
        )
    )
    return archive, zero, [job.id for job in queued]


def zero_counts(session: Session) -> dict[str, int]:
    """Every results-bearing table's rows (all must be 0), then precincts and PINs issued."""
    counts = {
        _table(model).name: session.scalar(select(func.count()).select_from(_table(model))) or 0
        for model in ARCHIVED
    }
    counts["precincts"] = session.scalar(select(func.count()).select_from(Precinct)) or 0
    counts["pins_issued"] = (
        session.scalar(
            select(func.count()).select_from(Precinct).where(Precinct.pin_hmac.is_not(None))
        )
        or 0
    )
    return counts


def clear_leftovers(redis: Redis) -> int:
    """Step 4: delete what the rehearsal left in Redis that would change the night."""
    cleared = 0
    for pattern in LEFTOVER_PATTERNS:
        batch: list[bytes] = []
        for key in redis.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                cleared += int(redis.delete(*batch))
                batch = []
        if batch:
            cleared += int(redis.delete(*batch))
    cleared += int(redis.delete(*LEFTOVER_KEYS))
    # The overview's totals restart for the night, except the drill line's (its locks stay).
    night = [name for name in counters.totals(redis) if not name.startswith(DRILL_TOTALS_PREFIX)]
    if night:
        cleared += int(redis.hdel(keys.TOTALS, *night))
    return cleared


def rehearsal_blocklist(session: Session, since: datetime | None) -> list[BlockedNumber]:
    """Blocklist entries still active that were added during the rehearsal."""
    return [
        entry
        for entry in active_entries(session)
        if since is None or _aware(entry.added_at) >= since
    ]


def rehearsal_began(session: Session) -> datetime | None:
    """When the hotline last went into rehearsal (None: since the database began)."""
    changes = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "election.mode")
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )
    for change in changes:
        if change.detail.get("to") == Mode.REHEARSAL.value:
            return _aware(change.at)
    return None


def go_live(
    redis: Redis,
    sessions: sessionmaker[Session],
    by: str,
    drain_seconds: int,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Switch:
    """The whole switch (steps 1 to 4), every step audited; raises Refused."""
    gives_up_at = begin(redis, sessions, by, drain_seconds)
    return finish(redis, sessions, by, gives_up_at, drain_seconds, sleep=sleep)


def finish(
    redis: Redis,
    sessions: sessionmaker[Session],
    by: str,
    gives_up_at: float,
    drain_seconds: int,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Switch:
    """Steps 2 to 4, once `begin` has set `opening`."""
    left = drain(redis, by, gives_up_at, sleep=sleep)
    drained = not any(left.values())
    with sessions.begin() as session:
        session.add(
            AuditEvent(
                actor=by,
                action="election.drained" if drained else "election.drain_gave_up",
                subject="election",
                detail={"left": left, "drain_seconds": drain_seconds},
            )
        )
        archive, zero, taken = archive_and_zero(session, redis, by)
        review = rehearsal_blocklist(session, rehearsal_began(session))
        zero.blocklist_to_review = [entry.id for entry in review]
        election_mode.record(session, Mode.LIVE, by, note=f"zero report {zero.id}")
        archive_counts = dict(archive.counts)
    for job_id in taken:
        # Archived above: a rehearsal report must never be committed into the live count.
        Job(job_id, connection=redis, serializer=JSONSerializer).delete()
    cleared = clear_leftovers(redis)
    election_mode.mirror(redis, Mode.LIVE)
    redis.delete(keys.GO_LIVE)
    with sessions.begin() as session:
        session.add(
            AuditEvent(
                actor=by,
                action="election.rehearsal_cleared",
                subject="election",
                detail={"redis_keys": cleared, "blocklist_to_review": zero.blocklist_to_review},
            )
        )
    with sessions() as session:
        fresh = session.get(ZeroReport, zero.id)
        assert fresh is not None
        entries = [session.get(BlockedNumber, entry_id) for entry_id in fresh.blocklist_to_review]
        session.expunge_all()
    return Switch(
        zero_report=fresh,
        archive_counts=archive_counts,
        drained=drained,
        calls_left=left["calls"],
        blocklist_to_review=[entry for entry in entries if entry is not None],
        redis_keys_cleared=cleared,
    )


def decide_blocklist_entry(
    session: Session, redis: Redis, entry_id: int, keep: bool, by: str
) -> str:
    """An admin keeps or drops (lifts) a blocklist entry the rehearsal added, audited;
    returns the number. Raises Refused for an entry not awaiting a decision."""
    zero = latest_zero_report(session, lock=True)
    if zero is None or entry_id not in zero.blocklist_to_review:
        raise Refused("That blocklist entry is not awaiting a decision.")
    entry = session.get(BlockedNumber, entry_id)
    zero.blocklist_to_review = [other for other in zero.blocklist_to_review if other != entry_id]
    if entry is None:
        raise Refused("That blocklist entry is not awaiting a decision.")
    if keep:
        session.add(
            AuditEvent(
                actor=by,
                action="blocklist.kept",
                subject=f"number:{entry.number}",
                note="added during the rehearsal; kept for the night",
            )
        )
    else:
        lift(session, redis, entry.number, "added during the rehearsal; dropped", by)
    return entry.number


def latest_zero_report(session: Session, *, lock: bool = False) -> ZeroReport | None:
    query = select(ZeroReport).order_by(ZeroReport.id.desc()).limit(1)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def zero_report_dict(zero: ZeroReport) -> dict[str, Any]:
    """The zero report as it is downloaded and printed."""
    return {
        "zero_report": zero.id,
        "at": _aware(zero.at).isoformat(),
        "by": zero.by,
        "archive": zero.archive_id,
        "counts": dict(zero.counts),
        "results_empty": all(zero.counts.get(_table(model).name, 0) == 0 for model in ARCHIVED),
    }


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _aware(moment: datetime) -> datetime:
    """A stored time as an aware UTC time (SQLite gives it back without its zone)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        # A rehearsal's worksheet photo: kept in the archive, as text JSON can hold.
        return base64.b64encode(value).decode()
    return value
