"""The rq jobs through which calls the hotline placed report back: Twilio's status
callbacks, the answering-machine verdict, and a chair's answer on a verification call.

The webhooks queue them (they never write the database); each is safe to run twice.
"""

from __future__ import annotations

import logging
from typing import Any

from rq import get_current_job

from callflows.events import ReportVerified, decode_as
from models import ReportStatus
from queues import counters, outbound, runtime

log = logging.getLogger(__name__)


def record_status(attempt_id: int, call_sid: str, status: str, answered_by: str = "") -> None:
    """A status callback of a try's call (initiated, ringing, in-progress, or how it ended)."""
    _, config = runtime.outbound()
    with runtime.sessions().begin() as session:
        outbound.record_call_status(
            session, attempt_id, call_sid, status, config.policy, answered_by=answered_by
        )


def record_amd(attempt_id: int, call_sid: str, answered_by: str) -> None:
    """Asynchronous answering-machine detection's verdict: a machine gets the voicemail
    message now that its greeting has ended (Twilio is asked to move the live call to it)."""
    telephony, config = runtime.outbound()
    with runtime.sessions().begin() as session:
        machine = outbound.record_answered_by(session, attempt_id, call_sid, answered_by)
    if machine:
        # A failure raises, and rq retries the job: the greeting is over, the message waits.
        telephony.redirect(call_sid, config.voicemail_url(attempt_id))


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
