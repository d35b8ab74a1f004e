"""The rq jobs through which calls the hotline placed report back: Twilio's status
callbacks, the answering-machine verdict, a chair's answer on a verification call, and a
chair's blocked phone asking to be called back.

The webhooks queue them (they never write the database); each is safe to run twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from redis import Redis
from rq import get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from callflows.events import CallbackRequested, ReportVerified, decode_as
from callflows.flow import report_id_for
from models import ReportStatus
from models.outbound import FINAL_CALL_STATUSES
from queues import counters, outbound, runtime
from queues.publish import publish_outbound, verification_job_id

log = logging.getLogger(__name__)

DELIVERY_CHECK = timedelta(seconds=5)
"""How long a call's final status waits before it looks again for what the call delivered."""
DELIVERY_CHECKS = 120
"""How often it looks (ten minutes in all: past rq's finding that a worker died mid-job and
its first retries), before the try is settled from the database alone."""
PENDING = frozenset({JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED})


def record_status(
    attempt_id: int, call_sid: str, status: str, answered_by: str = "", checks: int = 0
) -> None:
    """A status callback of a try's call (initiated, ringing, in-progress, or how it ended)."""
    _, config = runtime.outbound()
    job = get_current_job()
    if (
        status in FINAL_CALL_STATUSES
        and job is not None
        and checks < DELIVERY_CHECKS
        and _delivery_pending(job.connection, call_sid)
    ):
        # What the chair said on this call (a report, an answer to a callback) has not
        # reached the database yet: its job waits for a worker, perhaps for rq to notice that
        # the one running it died. Settled now, the try would look fruitless, and the chair
        # would be called again about a report they have just made.
        publish_outbound(
            "queues.outbound_jobs.record_status",
            (attempt_id, call_sid, status, answered_by, checks + 1),
            job.connection,
            after=DELIVERY_CHECK,
        )
        return
    with runtime.sessions().begin() as session:
        outbound.record_call_status(
            session, attempt_id, call_sid, status, config.policy, answered_by=answered_by
        )


def _delivery_pending(redis: Redis, call_sid: str) -> bool:
    """Whether a job for what the call `call_sid` delivered is still to run (or running)."""
    for job_id in (report_id_for(call_sid), verification_job_id(call_sid)):
        try:
            delivered = Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
        except NoSuchJobError:
            continue
        if delivered.get_status(refresh=False) in PENDING:
            return True
    return False


def record_amd(attempt_id: int, call_sid: str, answered_by: str) -> None:
    """Asynchronous answering-machine detection's verdict: a machine gets the voicemail
    message now that its greeting has ended (Twilio is asked to move the live call to it)."""
    telephony, config = runtime.outbound()
    with runtime.sessions().begin() as session:
        machine = outbound.record_answered_by(session, attempt_id, call_sid, answered_by)
    if machine:
        # A failure raises, and rq retries the job: the greeting is over, the message waits.
        telephony.redirect(call_sid, config.voicemail_url(attempt_id))


def call_back(payload: dict[str, Any]) -> str:
    """A chair's registered phone was blocked from keying a PIN on an unattested call:
    queue a call to it (the dialer places it, before any straggler)."""
    requested = decode_as(CallbackRequested, payload)
    with runtime.sessions().begin() as session:
        done = outbound.request_callback(session, requested)
    log.info("callback for precinct %s: %s", requested.precinct_id, done)
    return done


def settle(payload: dict[str, Any]) -> str:
    """A chair's answer on a verification call: the report is committed or quarantined."""
    verified = decode_as(ReportVerified, payload)
    with runtime.sessions().begin() as session:
        status, changed = outbound.settle_verification(session, verified)
    if changed and status == ReportStatus.QUARANTINED.value:
        job = get_current_job()
        if job is not None:
            # Staff see it on the overview at once: a chair said a report was not theirs.
            counters.add_event(job.connection, "reports_denied_by_chair")
        log.warning("report %s denied by the chair on a callback", verified.report_id)
    return status
