"""Putting the call path's durable events on rq queues (the web tier's only durable write)."""

from __future__ import annotations

from typing import Any

from redis import Redis
from rq import Queue, Retry
from rq.serializers import JSONSerializer

from queues.defaults import (
    EVENTS_QUEUE,
    FAILURE_TTL_SECONDS,
    JOB_TIMEOUT_SECONDS,
    REPORTS_QUEUE,
    RESULT_TTL_SECONDS,
    RETRY_INTERVALS,
)


def queue(name: str, connection: Redis) -> Queue:
    return Queue(name, connection=connection, serializer=JSONSerializer)


def _enqueue(
    name: str, func: str, payload: dict[str, Any], connection: Redis, job_id: str | None
) -> None:
    queue(name, connection).enqueue(
        func,
        payload,
        job_id=job_id,
        retry=Retry(max=len(RETRY_INTERVALS), interval=list(RETRY_INTERVALS)),
        job_timeout=JOB_TIMEOUT_SECONDS,
        result_ttl=RESULT_TTL_SECONDS,
        failure_ttl=FAILURE_TTL_SECONDS,
    )


def publish_report(payload: dict[str, Any], connection: Redis) -> None:
    """Queue a confirmed report; its id is the job id, so a repeat commits once."""
    _enqueue(REPORTS_QUEUE, "queues.jobs.commit_report", payload, connection, payload["report_id"])


def publish_block(payload: dict[str, Any], connection: Redis) -> None:
    """Queue a completed block so a dropped call can resume even if Redis loses its state."""
    _enqueue(REPORTS_QUEUE, "queues.jobs.record_block", payload, connection, None)


def publish_call_started(payload: dict[str, Any], connection: Redis) -> None:
    _enqueue(EVENTS_QUEUE, "queues.jobs.record_call_started", payload, connection, None)


def publish_call_ended(payload: dict[str, Any], connection: Redis) -> None:
    _enqueue(EVENTS_QUEUE, "queues.jobs.record_call_ended", payload, connection, None)
