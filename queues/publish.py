"""Putting the call path's durable events on rq queues (the web tier's only durable write).

A webhook passes its pipeline (`ivr.callstore.Writes`), so a report's job goes out in the
same transaction as the call's new state. Everything else a call records (started, a block
keyed, ended) goes to `queues.call_log` instead, which is written in batches.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from redis import Redis
from redis.client import Pipeline
from rq import Queue, Retry
from rq.serializers import JSONSerializer

from callflows.events import (
    CallbackRequested,
    DrillSubmitted,
    ReportSubmitted,
    ReportVerified,
    encode,
)
from queues.defaults import (
    DRILLS_QUEUE,
    FAILURE_TTL_SECONDS,
    JOB_TIMEOUT_SECONDS,
    OUTBOUND_QUEUE,
    REPORTS_QUEUE,
    RESULT_TTL_SECONDS,
    RETRY_INTERVALS,
    WORKSHEETS_QUEUE,
)


def queue(name: str, connection: Redis) -> Queue:
    return Queue(name, connection=connection, serializer=JSONSerializer)


def publish_report(
    report: ReportSubmitted, connection: Redis, pipeline: Pipeline | None = None
) -> None:
    """Queue a confirmed report; its id is the job id, so a repeat commits once.

    The queue reads through `connection` (e.g. the server version, once); its writes go on
    `pipeline` when one is given, and are sent when its owner executes it."""
    _enqueue(
        REPORTS_QUEUE, "queues.jobs.commit_report", (encode(report),), report.report_id,
        connection, pipeline,
    )  # fmt: skip


def publish_drill(
    drilled: DrillSubmitted, connection: Redis, pipeline: Pipeline | None = None
) -> None:
    """Queue a practice report from the drill line for its own job (queues.drill), once
    per call; never the report queue's commit."""
    _enqueue(
        DRILLS_QUEUE, "queues.drill.record_drill", (encode(drilled),), f"drill-{drilled.call_sid}",
        connection, pipeline,
    )  # fmt: skip


def publish_worksheet_message(
    payload: dict[str, Any], connection: Redis, pipeline: Pipeline
) -> None:
    """Queue a text or picture message's intake (queues.worksheet_intake: what the webhook
    decided); its SID is the job id, so a message Twilio delivered twice is taken in once."""
    _enqueue(
        WORKSHEETS_QUEUE, "queues.worksheet_intake.take_in", (payload,),
        f"message-{payload['message_sid']}", connection, pipeline,
    )  # fmt: skip


def _enqueue(
    queue_name: str,
    function: str,
    args: tuple[object, ...],
    job_id: str | None,
    connection: Redis,
    pipeline: Pipeline | None,
) -> None:
    """Queue a job as every job of the hotline is queued: retried after RETRY_INTERVALS,
    bounded by JOB_TIMEOUT_SECONDS, its result and failure kept for staff."""
    queue(queue_name, connection).enqueue_call(
        function,
        args=args,
        job_id=job_id,
        retry=Retry(max=len(RETRY_INTERVALS), interval=list(RETRY_INTERVALS)),
        timeout=JOB_TIMEOUT_SECONDS,
        result_ttl=RESULT_TTL_SECONDS,
        failure_ttl=FAILURE_TTL_SECONDS,
        pipeline=pipeline,
    )


def publish_verification(
    verified: ReportVerified, connection: Redis, pipeline: Pipeline | None = None
) -> None:
    """Queue a chair's answer on a verification call, once per call."""
    publish_outbound(
        "queues.outbound_jobs.settle",
        (encode(verified),),
        connection,
        pipeline,
        job_id=verification_job_id(verified.call_sid),
    )


def publish_callback(
    requested: CallbackRequested, connection: Redis, pipeline: Pipeline | None = None
) -> None:
    """Queue a chair's blocked phone's request to be called back, once per call."""
    publish_outbound(
        "queues.outbound_jobs.call_back",
        (encode(requested),),
        connection,
        pipeline,
        job_id=f"callback-{requested.call_sid}",
    )


def verification_job_id(call_sid: str) -> str:
    """The job of a chair's answer on the verification call `call_sid` (one per call)."""
    return f"verified-{call_sid}"


def publish_outbound(
    function: str,
    args: tuple[object, ...],
    connection: Redis,
    pipeline: Pipeline | None = None,
    *,
    job_id: str | None = None,
    after: timedelta | None = None,
) -> None:
    """Queue what a call the hotline placed reported (`queues.outbound_jobs`), retried like
    a report if the database or Twilio fails; with `after`, run no sooner than that (rq's
    scheduler, which every worker runs, moves it to the queue)."""
    if after is None:
        _enqueue(OUTBOUND_QUEUE, function, args, job_id, connection, pipeline)
        return
    queue(OUTBOUND_QUEUE, connection).enqueue_in(
        after,
        function,
        *args,
        job_id=job_id,
        retry=Retry(max=len(RETRY_INTERVALS), interval=list(RETRY_INTERVALS)),
        job_timeout=JOB_TIMEOUT_SECONDS,
        result_ttl=RESULT_TTL_SECONDS,
        failure_ttl=FAILURE_TTL_SECONDS,
        pipeline=pipeline,
    )
