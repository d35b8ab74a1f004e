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
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis import Redis
from redis.exceptions import ResponseError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from callflows.events import (
    BlockCompleted,
    CallEnded,
    CallStarted,
    ReportSubmitted,
    decode,
    encode,
)
from models import Call
from queues import keys
from queues.jobs import record_blocks

log = logging.getLogger(__name__)

STREAM = keys.CALL_LOG
GROUP = "call-log"
STARTED = CallStarted.kind
ENDED = CallEnded.kind
BLOCK = BlockCompleted.kind
LOGGED = frozenset({STARTED, ENDED, BLOCK})
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

LoggedEvent = CallStarted | CallEnded | BlockCompleted


@dataclass(frozen=True)
class Entry:
    """One event of the stream, with the stream's id for it."""

    id: str
    event: LoggedEvent


def add(client: Redis, event: LoggedEvent) -> None:
    """Log a call event; `client` may be a webhook's pipeline."""
    client.xadd(STREAM, {"kind": event.kind, "payload": json.dumps(encode(event))})


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
class Batch:
    ids: list[str]
    """Every entry read, including any that could not be parsed (they are dropped)."""
    entries: list[Entry]


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
    ids, entries = [], []
    for raw_id, fields in raw_entries:
        entry_id = _text(raw_id)
        ids.append(entry_id)
        event = _parse(fields or {})
        if event is None:
            log.warning("dropped call log entry %s: not a call event", entry_id)
        else:
            entries.append(Entry(entry_id, event))
    return Batch(ids, entries)


def _parse(fields: dict[Any, Any]) -> LoggedEvent | None:
    data = {_text(key): _text(value) for key, value in fields.items()}
    try:
        kind = data["kind"]
        if kind not in LOGGED:
            return None
        event = decode(kind, json.loads(data["payload"]))
    except (KeyError, ValueError):  # MalformedEvent and JSON errors are ValueErrors
        return None
    assert not isinstance(event, ReportSubmitted)
    return event


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def write_batch(sessions: sessionmaker[Session], events: list[LoggedEvent]) -> None:
    """Apply a batch to the `call` and `report_draft` tables in one transaction."""
    call_events = [event for event in events if not isinstance(event, BlockCompleted)]
    sids = {event.call_sid for event in call_events}
    with sessions.begin() as session:
        calls = {
            call.call_sid: call
            for call in session.scalars(select(Call).where(Call.call_sid.in_(sids)))
        }
        for event in call_events:
            if event.call_sid not in calls:
                calls[event.call_sid] = Call(call_sid=event.call_sid)
                session.add(calls[event.call_sid])
            _apply_to_call(calls[event.call_sid], event)
        record_blocks(session, [event for event in events if isinstance(event, BlockCompleted)])


def _apply_to_call(call: Call, event: CallStarted | CallEnded) -> None:
    if isinstance(event, CallStarted):
        call.from_number = event.from_number
        call.to_number = event.to_number
        call.stir_verstat = event.stir_verstat
        call.caller_class = event.caller_class
        call.screening = event.screening
        call.started_at = datetime.fromisoformat(event.at)
    else:
        call.status = event.status or "completed"
        call.ended_at = datetime.fromisoformat(event.at)
        call.duration_seconds = event.duration_seconds
        if event.precinct_id:
            call.precinct_id = event.precinct_id


def drain_once(
    redis: Redis,
    sessions: sessionmaker[Session],
    consumer: str,
    block_ms: int | None = None,
    *,
    pending_first: bool = True,
) -> int:
    """Read and commit one batch (left-over pending events first, unless told not to look);
    returns how many entries it held (0: none waiting)."""
    batch = read_pending(redis, consumer) if pending_first else Batch([], [])
    if not batch.ids:
        batch = read_new(redis, consumer, block_ms)
    if not batch.ids:
        return 0
    if batch.entries:
        write_batch(sessions, [entry.event for entry in batch.entries])
    with redis.pipeline(transaction=True) as pipe:
        pipe.xack(STREAM, GROUP, *batch.ids)
        pipe.xdel(STREAM, *batch.ids)
        pipe.execute()
    return len(batch.ids)


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
        while not self.stopping.is_set():
            started = time.monotonic()
            recover = started >= recover_at
            try:
                if recover:
                    ensure_group(self.redis)
                    recover_at = started + RECOVER_EVERY_SECONDS
                drain_once(
                    self.redis, self.sessions, self.consumer, READ_WAIT_MS, pending_first=recover
                )
            except (IntegrityError, StaleDataError) as error:
                # Another worker wrote the same call or draft at the same moment: expected
                # now and then with several workers; the batch is read again at once. (The
                # class only: the message would carry the statement's values.)
                log.warning("call log batch met a concurrent write (%s)", type(error).__name__)
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
