"""Running an rq worker over the hotline's queues."""

from __future__ import annotations

from typing import Any

from redis import Redis
from rq import SimpleWorker
from rq.exceptions import AbandonedJobError
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy.orm import Session, sessionmaker

from queues import call_log, counters, runtime
from queues.defaults import WORKER_QUEUES
from queues.publish import queue


def make_worker(connection: Redis) -> SimpleWorker:
    """A worker on the hotline's queues.

    It runs jobs in its own process instead of forking one per job: a forked job would open
    a new database connection every time (the pool dies with the fork), which made commits
    several times slower under load. rq still enforces job timeouts (with an alarm signal),
    and a worker that dies mid-job still leaves the job to rq's abandoned-job handling.
    """
    queues = [queue(name, connection) for name in WORKER_QUEUES]
    return SimpleWorker(
        queues,
        connection=connection,
        serializer=JSONSerializer,
        exception_handlers=[_count_abandoned],
    )


def _count_abandoned(job: Job, exc_type: type[BaseException], *_: Any) -> bool:
    """Staff see how many jobs lost their worker mid-run (rq retries them)."""
    if issubclass(exc_type, AbandonedJobError):
        counters.add_event(job.connection, "abandoned_jobs")
    return True


def run_worker(
    connection: Redis,
    sessions: sessionmaker[Session],
    *,
    burst: bool = False,
) -> bool:
    """Process jobs and the call log until stopped (or, with `burst`, until both are empty)."""
    runtime.configure(sessions)
    worker = make_worker(connection)
    if burst:
        call_log.drain(connection, sessions, call_log.consumer_name())
        worked = bool(worker.work(burst=True, with_scheduler=True))
        call_log.drain(connection, sessions, call_log.consumer_name())
        return worked
    writer = call_log.CallLogWriter(connection, sessions)
    writer.start()
    try:
        return bool(worker.work(burst=False, with_scheduler=True))
    finally:
        writer.stop()
        writer.join(timeout=call_log.READ_WAIT_MS / 1000 + 5)
