"""The call log: what happened on each call (it started, a block was keyed, it ended), as
a Redis stream that workers write to the database in batches.

Every call starts and ends, most calls on a flooded night are pranks, and a chair's call
completes three blocks; as rq jobs these were nine in ten of all jobs, each costing rq some
14 Redis commands and a database transaction of its own. Instead the web tier adds each
event to a stream in the same round trip as its other writes, and workers read the stream
in batches of up to BATCH_SIZE and write each batch in one transaction, in stream order.
Reports stay rq jobs: each must commit exactly once, with retries staff can see.

A consumer group shares the stream between workers. An event stays pending until its
batch is committed; if the commit fails (say, two workers created the same row at once) it
is read again, and a worker that died holding a batch has it claimed by another after
CLAIM_IDLE_MS. Writing an event twice changes nothing: a call event sets fields of its
call's row (started and ended may come in either order), and a block event sets that block
of the precinct's draft (`queues.jobs.record_blocks`).

One bad entry never wedges the log. Values the database would refuse are guarded before
they reach it (a SIP `From` longer than its column is cut, a duration out of range is
dropped, a call or draft key that does not fit is not written). Should a batch's commit
still fail for any other reason than a concurrent write or an outage, it is split in
halves, and those again, until the entry the database refuses is alone: that entry goes to
the dead letters (DEAD_LETTERS, the most recent DEAD_LETTERS_KEPT, with its error and
when) for staff to see, and is taken off the stream; the rest commits. An entry that is no
call event at all goes there too.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from redis.exceptions import RedisError, ResponseError
from sqlalchemy import select
from sqlalchemy.exc import DisconnectionError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from callflows.events import (
    BlockCompleted,
    CallbackRequested,
    CallEnded,
    CallStarted,
    DrillSubmitted,
    MalformedEvent,
    ReportSubmitted,
    ReportVerified,
    StaffRequested,
    decode,
    encode,
)
from models import Call
from queues import counters, election_mode, keys
from queues.jobs import column_length, record_blocks, unfit, unfit_block

log = logging.getLogger(__name__)

STREAM = keys.CALL_LOG
GROUP = "call-log"
STARTED = CallStarted.kind
ENDED = CallEnded.kind
BLOCK = BlockCompleted.kind
STAFF = StaffRequested.kind
LOGGED = frozenset({STARTED, ENDED, BLOCK, STAFF})
"""The kinds of event the call log carries (reports are rq jobs instead)."""
BATCH_SIZE = 500
"""Events written in one transaction at most."""
READ_WAIT_MS = 1000
"""How long a reader waits for new events: staff see a call at most about this late."""
CLAIM_IDLE_MS = 60_000
"""Events read by a worker that has not committed them for this long are taken over."""
RETRY_SECONDS = 1.0
"""Pause after a failed batch before it is tried again."""
BATCH_INTERVAL_SECONDS = 0.5
"""A writer commits at most this often, so that under load batches fill up instead of each
event paying for a transaction of its own."""
RECOVER_EVERY_SECONDS = 30.0
"""How often a writer looks for events left pending (its own, or a dead worker's)."""
CONFLICTS_BEFORE_ISOLATING = 3
"""Concurrent-write errors in a row after which a writer splits the batch like any other
failure: a conflict that comes back every time is no longer another worker's doing."""

DEAD_LETTERS = keys.CALL_LOG_DEAD_LETTERS
DEAD_LETTERS_KEPT = 1000
"""Dead letters kept for staff; older ones are dropped (their count stays in the totals)."""
DEAD_LETTER_PAYLOAD_CHARS = 4000
"""An entry's payload is kept up to this long in its dead letter."""
DEAD_LETTER_MESSAGE_CHARS = 300
"""The error's message is kept up to this long (its first line only)."""
MAX_DURATION_SECONDS = 2**31 - 1
"""The largest duration the `call` table's INTEGER column takes (on PostgreSQL)."""

CONCURRENT_WRITE_ERRORS: tuple[type[Exception], ...] = (IntegrityError, StaleDataError)
"""Another worker wrote the same call or draft at the same moment: the batch is read again."""
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeoutError,
    RedisError,
    OSError,  # ConnectionError, TimeoutError, ...
    MemoryError,
)
"""The database (or the machine) failed, not an entry: no entry is to blame, so the batch
stays pending and is tried again, never split into dead letters."""

LoggedEvent = CallStarted | CallEnded | BlockCompleted | StaffRequested


@dataclass(frozen=True)
class Entry:
    """One event of the stream, with the stream's id for it."""

    id: str
    event: LoggedEvent


@dataclass(frozen=True)
class DeadLetter:
    """A call-log entry that could not be written, as staff see it."""

    id: str
    """The dead letter's id in DEAD_LETTERS."""
    entry: str
    """The entry's id in the call log's stream."""
    kind: str
    payload: str
    """The entry's payload as it was logged (JSON, cut at DEAD_LETTER_PAYLOAD_CHARS)."""
    error: str
    """The error's class (the database driver's, if it raised), e.g.
    "StringDataRightTruncation", "MalformedEvent"."""
    message: str
    """The first line of the error's message."""
    at: datetime | None
    """When it was dead-lettered (UTC)."""

    @property
    def fields(self) -> dict[str, Any]:
        """The event's fields, or {} when the payload is not (or no longer) a JSON object."""
        try:
            data = json.loads(self.payload)
        except (ValueError, RecursionError):
            return {}
        return data if isinstance(data, dict) else {}


class UnstorableEvent(ValueError):
    """A call event the database cannot take as it is (a key too long for its column)."""


def add(client: Redis, event: LoggedEvent) -> None:
    """Log a call event; `client` may be a webhook's pipeline."""
    client.xadd(STREAM, {"kind": event.kind, "payload": json.dumps(encode(event))})


def dead_letters(redis: Redis, limit: int | None = None) -> list[DeadLetter]:
    """The dead letters kept, most recent first (at most `limit` of them)."""
    reply: Any = redis.xrevrange(DEAD_LETTERS, count=limit)
    return [_dead_letter(raw_id, fields or {}) for raw_id, fields in reply or []]


def dead_letter_count(redis: Redis) -> int:
    """How many dead letters are kept (at most DEAD_LETTERS_KEPT)."""
    return int(redis.xlen(DEAD_LETTERS))


def _dead_letter(raw_id: bytes | str, raw: dict[Any, Any]) -> DeadLetter:
    data = {_text(key): _text(value) for key, value in raw.items()}
    try:
        at: datetime | None = datetime.fromisoformat(data.get("at", ""))
    except ValueError:
        at = None
    return DeadLetter(
        id=_text(raw_id),
        entry=data.get("entry", ""),
        kind=data.get("kind", ""),
        payload=data.get("payload", ""),
        error=data.get("error", ""),
        message=data.get("message", ""),
        at=at,
    )


def backlog(redis: Redis) -> tuple[int, int]:
    """Events not yet read, and events read but not yet committed."""
    try:
        pending = int(redis.xpending(STREAM, GROUP)["pending"])
    except ResponseError:  # no group yet: nothing has been read
        pending = 0
    return max(0, int(redis.xlen(STREAM)) - pending), pending


def ensure_group(redis: Redis) -> None:
    try:
        redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


def consumer_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Refused:
    """An entry that cannot be written, and why: on its way to the dead letters."""

    id: str
    kind: str
    payload: str
    error: BaseException


@dataclass(frozen=True)
class Batch:
    ids: list[str]
    """Every entry read, including any that could not be parsed (they are dead-lettered)."""
    entries: list[Entry]
    malformed: list[Refused] = field(default_factory=list)
    """The entries that are no call event (each goes to the dead letters)."""


def read_pending(redis: Redis, consumer: str) -> Batch:
    """Events read but not committed: our own (a failed batch), else a dead worker's."""
    own = _stream_entries(redis.xreadgroup(GROUP, consumer, {STREAM: "0"}, count=BATCH_SIZE))
    if own:
        return _batch(own)
    claimed: Any = redis.xautoclaim(STREAM, GROUP, consumer, CLAIM_IDLE_MS, "0-0", count=BATCH_SIZE)
    return _batch(claimed[1] if claimed else [])


def read_new(redis: Redis, consumer: str, block_ms: int | None) -> Batch:
    fresh = redis.xreadgroup(GROUP, consumer, {STREAM: ">"}, count=BATCH_SIZE, block=block_ms)
    return _batch(_stream_entries(fresh))


def _stream_entries(reply: Any) -> list[Any]:
    """The entries of our stream in an XREADGROUP reply: a map by stream name in RESP3,
    a list of [name, entries] pairs in RESP2."""
    if not reply:
        return []
    if isinstance(reply, dict):
        by_stream: Any = reply.get(STREAM.encode()) or reply.get(STREAM) or [[]]
        return list(by_stream[0])
    return list(reply[0][1])


def _batch(raw_entries: list[Any]) -> Batch:
    ids, entries, malformed = [], [], []
    for raw_id, fields in raw_entries:
        entry_id = _text(raw_id)
        ids.append(entry_id)
        data = {_text(key): _text(value) for key, value in (fields or {}).items()}
        try:
            entries.append(Entry(entry_id, _parse(data)))
        except MalformedEvent as error:
            log.warning("call log entry %s set aside: not a call event", entry_id)
            malformed.append(
                Refused(entry_id, data.get("kind", ""), data.get("payload", ""), error)
            )
    return Batch(ids, entries, malformed)


def _parse(data: dict[str, str]) -> LoggedEvent:
    """The call event an entry holds; MalformedEvent if it holds none."""
    kind = data.get("kind", "")
    if kind not in LOGGED:
        raise MalformedEvent(f"not a call event kind: {kind[:40]!r}")
    try:
        payload = json.loads(data.get("payload", ""))
    except (ValueError, RecursionError) as error:  # RecursionError: nested too deep
        raise MalformedEvent(f"{kind}: payload is not JSON") from error
    event = decode(kind, payload)
    assert not isinstance(
        event, ReportSubmitted | ReportVerified | DrillSubmitted | CallbackRequested
    )
    return event


def _text(value: bytes | str) -> str:
    # An entry is only ever written as UTF-8, but one that is not must not stop the reader.
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def write_batch(sessions: sessionmaker[Session], events: list[LoggedEvent]) -> None:
    """Apply a batch to the `call` and `report_draft` tables in one transaction."""
    call_events = [event for event in events if not isinstance(event, BlockCompleted)]
    sids = {event.call_sid for event in call_events}
    with sessions.begin() as session:
        # The mode the batch is written in (share-locked: see queues.election_mode).
        rehearsal = election_mode.is_rehearsal(election_mode.stored(session, share_lock=True))
        calls = {
            call.call_sid: call
            for call in session.scalars(select(Call).where(Call.call_sid.in_(sids)))
        }
        for event in call_events:
            if event.call_sid not in calls:
                calls[event.call_sid] = Call(call_sid=event.call_sid, rehearsal=rehearsal)
                session.add(calls[event.call_sid])
            _apply_to_call(calls[event.call_sid], event)
        blocks = [event for event in events if isinstance(event, BlockCompleted)]
        record_blocks(session, blocks, rehearsal=rehearsal)


_CALL_LENGTHS = {
    name: column_length(Call, name)
    for name in (
        "call_sid",
        "from_number",
        "to_number",
        "stir_verstat",
        "status",
        "caller_class",
        "screening",
        "precinct_id",
        "staff_step",
        "language",
    )
}


def _aware(moment: datetime) -> datetime:
    """A stored time as an aware UTC time (SQLite gives it back without its zone)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _apply_to_call(call: Call, event: CallStarted | CallEnded | StaffRequested) -> None:
    if isinstance(event, StaffRequested):
        # The latest request wins, whichever order a batch (or a batch read twice) has.
        at = _aware(datetime.fromisoformat(event.at))
        last = call.staff_requested_at
        if last is None or _aware(last) <= at:
            call.staff_requested_at = at
            call.staff_step = _fit(event.step, "staff_step")
        fits = unfit(event.precinct_id or "", _CALL_LENGTHS["precinct_id"]) is None
        if event.precinct_id and not call.precinct_id and fits:
            call.precinct_id = event.precinct_id
    elif isinstance(event, CallStarted):
        call.from_number = _fit(event.from_number, "from_number")
        call.to_number = _fit(event.to_number, "to_number")
        call.stir_verstat = _fit(event.stir_verstat, "stir_verstat")
        call.caller_class = _fit(event.caller_class, "caller_class")
        call.screening = _fit(event.screening, "screening")
        call.started_at = datetime.fromisoformat(event.at)
    else:
        call.status = _fit(event.status or "completed", "status")
        call.ended_at = datetime.fromisoformat(event.at)
        duration = event.duration_seconds
        # A negative or impossibly long duration is no duration; PostgreSQL would refuse
        # one beyond its INTEGER.
        in_range = duration is not None and 0 <= duration <= MAX_DURATION_SECONDS
        call.duration_seconds = duration if in_range else None
        if event.language:
            call.language = _fit(event.language, "language")
        # A precinct ID too long for its column is no precinct, and cut short it could
        # name another one: left unset instead.
        if event.precinct_id and unfit(event.precinct_id, _CALL_LENGTHS["precinct_id"]) is None:
            call.precinct_id = event.precinct_id


def _fit(value: str, column: str) -> str:
    """`value` as the `call` table's `column` can hold it: without NUL characters (which
    PostgreSQL refuses in text) or lone surrogates, and if longer than the column, cut and
    marked with "…". A `From` that long (a SIP address, say) is no phone number anyway;
    staff still see what it began with."""
    # Lone surrogates (JSON can carry them) cannot be encoded for either database.
    value = value.replace("\x00", "").encode(errors="replace").decode()
    length = _CALL_LENGTHS[column]
    return value if len(value) <= length else value[: length - 1] + "…"


def unstorable(event: LoggedEvent) -> str | None:
    """Why the database cannot take `event` as it is, or None if it can: its call SID (a
    block's precinct and phone too) is a key, which is never cut short."""
    if isinstance(event, BlockCompleted):
        return unfit_block(event)
    if (why := unfit(event.call_sid, _CALL_LENGTHS["call_sid"])) is not None:
        return f"call_sid {why}"
    return None


def drain_once(
    redis: Redis,
    sessions: sessionmaker[Session],
    consumer: str,
    block_ms: int | None = None,
    *,
    pending_first: bool = True,
    isolate_conflicts: bool = False,
) -> int:
    """Read and commit one batch (left-over pending events first, unless told not to look);
    returns how many entries it held (0: none waiting).

    A batch the database refuses is split until the entry it refuses is alone, which goes
    to the dead letters; the rest is committed. A concurrent write (unless
    `isolate_conflicts`) or an outage raises instead, leaving what is not yet committed
    pending, to be read again."""
    batch = read_pending(redis, consumer) if pending_first else Batch([], [])
    if not batch.ids:
        batch = read_new(redis, consumer, block_ms)
    if not batch.ids:
        return 0
    outcome = _Outcome(done=[refused.id for refused in batch.malformed])
    outcome.dead.extend(batch.malformed)
    storable = []
    for entry in batch.entries:
        if (why := unstorable(entry.event)) is not None:
            outcome.refuse(entry, UnstorableEvent(why))
        else:
            storable.append(entry)
    try:
        if storable:
            _write_isolating(sessions, storable, outcome, isolate_conflicts)
    finally:
        # What was committed (or dead-lettered) leaves the stream even if a later part of
        # the batch failed: the rest stays pending.
        _settle(redis, outcome)
    return len(batch.ids)


@dataclass
class _Outcome:
    """What became of a batch's entries so far."""

    done: list[str] = field(default_factory=list)
    """Entries that are finished with: committed, dropped or dead-lettered."""
    dead: list[Refused] = field(default_factory=list)

    def refuse(self, entry: Entry, error: BaseException) -> None:
        log.warning(
            "call log entry %s (%s) refused: %s", entry.id, entry.event.kind, type(error).__name__
        )
        payload = json.dumps(encode(entry.event))
        self.dead.append(Refused(entry.id, entry.event.kind, payload, error))
        self.done.append(entry.id)


def _write_isolating(
    sessions: sessionmaker[Session],
    entries: list[Entry],
    outcome: _Outcome,
    isolate_conflicts: bool,
) -> None:
    """Commit `entries`, or if the database refuses them, each half in turn (in stream
    order), down to the one entry to blame."""
    try:
        write_batch(sessions, [entry.event for entry in entries])
    except Exception as error:
        if isinstance(error, OUTAGE_ERRORS):
            raise
        if isinstance(error, CONCURRENT_WRITE_ERRORS) and not isolate_conflicts:
            raise
        if len(entries) == 1:
            outcome.refuse(entries[0], error)
            return
        middle = len(entries) // 2
        _write_isolating(sessions, entries[:middle], outcome, isolate_conflicts)
        _write_isolating(sessions, entries[middle:], outcome, isolate_conflicts)
    else:
        outcome.done.extend(entry.id for entry in entries)


def _settle(redis: Redis, outcome: _Outcome) -> None:
    """Dead-letter the refused entries and take every finished one off the stream, at once."""
    if not outcome.done:
        return
    at = datetime.now(UTC).isoformat()
    with redis.pipeline(transaction=True) as pipe:
        for refused in sorted(outcome.dead, key=_stream_order):
            pipe.xadd(
                DEAD_LETTERS,
                {
                    "entry": refused.id,
                    "kind": refused.kind,
                    "payload": refused.payload[:DEAD_LETTER_PAYLOAD_CHARS],
                    "error": _error_name(refused.error),
                    "message": _first_line(refused.error),
                    "at": at,
                },
                maxlen=DEAD_LETTERS_KEPT,
                approximate=False,  # exactly the most recent: staff count them
            )
        if outcome.dead:
            counters.add_event(pipe, "call_log_dead_letters", len(outcome.dead))
        pipe.xack(STREAM, GROUP, *outcome.done)
        pipe.xdel(STREAM, *outcome.done)
        pipe.execute()


def _stream_order(refused: Refused) -> tuple[int, ...]:
    # Dead letters are added in the order of the entries in the stream ("ms-seq" ids).
    return tuple(int(part) for part in refused.id.split("-"))


def _error_name(error: BaseException) -> str:
    # The driver's own class says most (StringDataRightTruncation rather than DataError).
    return type(getattr(error, "orig", None) or error).__name__


def _first_line(error: BaseException) -> str:
    # A database error's own message, without the statement and parameters SQLAlchemy adds
    # (the event's fields are in the dead letter already).
    text = str(getattr(error, "orig", None) or error).strip()
    line = text.splitlines()[0] if text else ""
    # Valid UTF-8 whatever the error quoted, or Redis could not take the dead letter.
    return line[:DEAD_LETTER_MESSAGE_CHARS].encode(errors="replace").decode()


def drain(redis: Redis, sessions: sessionmaker[Session], consumer: str) -> int:
    """Commit every event waiting now (for `hotline worker --burst`)."""
    ensure_group(redis)
    total = 0
    while count := drain_once(redis, sessions, consumer):
        total += count
    return total


class CallLogWriter(threading.Thread):
    """Runs beside a worker's rq loop, committing call events until stopped."""

    def __init__(self, redis: Redis, sessions: sessionmaker[Session]) -> None:
        super().__init__(name="call-log", daemon=True)
        self.redis = redis
        self.sessions = sessions
        self.consumer = consumer_name()
        self.stopping = threading.Event()

    def run(self) -> None:
        recover_at = 0.0  # at once: a previous run may have left events pending
        conflicts = 0
        while not self.stopping.is_set():
            started = time.monotonic()
            recover = started >= recover_at
            try:
                if recover:
                    ensure_group(self.redis)
                    recover_at = started + RECOVER_EVERY_SECONDS
                drain_once(
                    self.redis,
                    self.sessions,
                    self.consumer,
                    READ_WAIT_MS,
                    pending_first=recover,
                    isolate_conflicts=conflicts >= CONFLICTS_BEFORE_ISOLATING,
                )
                conflicts = 0
            except CONCURRENT_WRITE_ERRORS as error:
                # Another worker wrote the same call or draft at the same moment: expected
                # now and then with several workers; the batch is read again at once. (The
                # class only: the message would carry the statement's values.)
                log.warning("call log batch met a concurrent write (%s)", type(error).__name__)
                conflicts += 1
                recover_at = 0.0
            except Exception:
                # The events stay pending and are read again: nothing is lost, and the
                # writer never dies of it. (Redis may have restarted without them, so the
                # group is made again if missing.)
                log.exception("call log batch failed; retrying in %s s", RETRY_SECONDS)
                recover_at = 0.0
                self.stopping.wait(RETRY_SECONDS)
                continue
            self.stopping.wait(BATCH_INTERVAL_SECONDS - (time.monotonic() - started))

    def stop(self) -> None:
        self.stopping.set()
