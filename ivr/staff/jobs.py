"""Report jobs that failed: list them, and put them back on the reports queue, audited.

A report's job fails for good once rq has used up its retries (queues.defaults
RETRY_INTERVALS), e.g. through a long database outage; it then waits in rq's failed-job
registry until staff requeue it. No Flask here: the command line (`hotline jobs`) and the
overview page share it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from redis import Redis
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.results import Result
from sqlalchemy.orm import Session

from models import AuditEvent
from queues.defaults import REPORTS_QUEUE
from queues.publish import queue


class JobError(Exception):
    """Jobs that cannot be requeued; the message is for the operator."""


@dataclass(frozen=True)
class FailedJob:
    """A report job in the failed registry, as staff see it."""

    id: str
    precinct_id: str
    failed_at: datetime | None
    error: str
    """The last line of the exception, e.g. "sqlalchemy.exc.OperationalError: ..."."""


def failed_registry(redis: Redis) -> FailedJobRegistry:
    return FailedJobRegistry(queue=queue(REPORTS_QUEUE, redis))


def failed_jobs(redis: Redis, limit: int | None = None) -> list[FailedJob]:
    """The failed report jobs, oldest first (at most `limit` of them)."""
    registry = failed_registry(redis)
    ids = registry.get_job_ids(end=-1 if limit is None else limit - 1)
    jobs = Job.fetch_many(ids, connection=redis, serializer=registry.serializer)
    # A job whose record expired before its registry entry was cleaned up is left out.
    return [_failed_job(job) for job in jobs if job is not None]


def requeue(session: Session, redis: Redis, job_ids: Iterable[str], actor: str) -> list[str]:
    """Put each of `job_ids` back on the reports queue, each audited; returns those requeued.

    Every id must be in the failed registry, or nothing is requeued. The caller commits the
    session."""
    wanted = list(dict.fromkeys(job_ids))
    registry = failed_registry(redis)
    unknown = [job_id for job_id in wanted if job_id not in registry]
    if unknown:
        raise JobError(f"not a failed report job: {', '.join(unknown)}")
    requeued = []
    for job_id in wanted:
        try:
            job = registry.requeue(job_id)
        except (InvalidJobOperation, NoSuchJobError):
            # Requeued by someone else since the check (and audited by them), or expired.
            continue
        session.add(
            AuditEvent(
                actor=actor,
                action="jobs.requeued",
                subject=f"job:{job_id}",
                detail={"queue": REPORTS_QUEUE, "precinct": _precinct_id(job)},
            )
        )
        requeued.append(job_id)
    return requeued


def requeue_all(session: Session, redis: Redis, actor: str) -> list[str]:
    """Requeue every failed report job, as `requeue` does."""
    return requeue(session, redis, failed_registry(redis).get_job_ids(), actor)


def _failed_job(job: Job) -> FailedJob:
    result = job.latest_result()
    failed = result is not None and result.type == Result.Type.FAILED
    lines = (result.exc_string or "").strip().splitlines() if failed and result else []
    return FailedJob(
        id=job.id,
        precinct_id=_precinct_id(job),
        failed_at=job.ended_at,
        error=lines[-1] if lines else "",
    )


def _precinct_id(job: Job) -> str:
    # A report job's one argument is the report's payload (queues.publish.publish_report).
    payload = job.args[0] if job.args else None
    return str(payload.get("precinct_id", "")) if isinstance(payload, dict) else ""
