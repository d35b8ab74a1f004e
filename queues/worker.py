"""Running an rq worker over the hotline's queues."""

from __future__ import annotations

from typing import Any

from redis import Redis
from rq import SimpleWorker, Worker
from rq.exceptions import AbandonedJobError
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy.orm import Session, sessionmaker

from queues import counters, runtime
from queues.defaults import WORKER_QUEUES
from queues.publish import queue


def make_worker(connection: Redis, *, in_process: bool = False) -> Worker | SimpleWorker:
    """A worker on the hotline's queues; `in_process` runs jobs without forking (tests)."""
    worker_class = SimpleWorker if in_process else Worker
    queues = [queue(name, connection) for name in WORKER_QUEUES]
    return worker_class(
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
    in_process: bool = False,
) -> bool:
    """Process jobs until stopped (or, with `burst`, until the queues are empty)."""
    runtime.configure(sessions)
    worker = make_worker(connection, in_process=in_process)
    return bool(worker.work(burst=burst, with_scheduler=True))
