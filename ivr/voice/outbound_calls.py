"""The webhooks of calls the hotline places (queues.dialer): the call answered, its status
callbacks, the answering-machine verdict, and the message a voicemail gets.

As for every webhook, nothing here writes the database: the call's state goes to Redis,
and what the worker must record (a status, a verdict, a chair's answer) goes out as rq
jobs in the request's write transaction. The try's id (`a`) comes in the URL Twilio
signed; the dialer left what the call is about in Redis (`queues.call_context`).
"""

from __future__ import annotations

import logging

from callflows import prompts
from callflows.events import CallStarted
from callflows.flow import chair_language, start_offer, start_reminder, start_verification
from callflows.phones import e164
from ivr import twiml
from ivr.callstore import Writes
from ivr.hotline import Hotline
from ivr.services import WebServices
from ivr.voice import calls
from ivr.voice.twilio_request import VoiceRequest
from models import Purpose
from models.outbound import FINAL_CALL_STATUSES
from queues import admission, call_log
from queues.call_context import CallContext
from queues.publish import publish_outbound

log = logging.getLogger(__name__)


def answered(hotline: Hotline, req: VoiceRequest, writes: Writes) -> str:
    """The chair's phone answered (the call's `url`): offer to take the report, ask about
    the held report, or remind the chair to drill. Answered at once, so a chair never waits
    in silence while answering-machine detection listens."""
    context = _placed_call(hotline, req)
    if context is None:
        return twiml.say_and_hang_up(prompts.CALL_FINISHED)
    with hotline.store.locked(req.call_sid, writes) as loaded:
        if loaded is not None:
            return loaded.twiml  # Twilio asked twice: the same answer
        ctx = calls.context(hotline, writes)
        info = ctx.services.find_precinct(context.precinct_id)
        if info is None:
            log.warning(
                "outbound try %d: precinct %s is unknown", context.attempt_id, context.precinct_id
            )
            return twiml.say_and_hang_up(prompts.CALL_FINISHED)
        chosen = hotline.store.load_language(context.to_number)
        if context.purpose == Purpose.VERIFY.value:
            turn = start_verification(
                req.call_sid,
                context.to_number,
                info,
                context.report_id,
                context.receipt,
                ctx,
                language=chosen,
                worksheet=context.worksheet,
            )
        elif context.purpose == Purpose.REMINDER.value:
            drill_number = hotline.settings.drill_number
            turn = start_reminder(
                req.call_sid, context.to_number, info, drill_number, ctx, language=chosen
            )
        else:
            turn = start_offer(req.call_sid, context.to_number, info, ctx, language=chosen)
        body = calls.render(hotline, turn)
        # Inside the IVR like any call (its steps touch the slot); the dialer's own cap
        # bounds how many there are.
        admission.admit(writes.pipe, req.call_sid)
        hotline.store.create(writes.pipe, turn.state, body)
        started = CallStarted(
            call_sid=req.call_sid,
            at=ctx.now,
            from_number=req.caller_id,
            to_number=req.to,
            caller_class="outbound",
            screening=context.purpose,
        )
        call_log.add(writes.pipe, started)
        return body


def status(hotline: Hotline, req: VoiceRequest, writes: Writes) -> str:
    """A status callback of a placed call: the worker records it on the try; a final one
    also ends the call as every call ends (its slot freed, the call log told)."""
    attempt = req.query.attempt
    if req.call_sid and attempt is not None and req.call_status:
        publish_outbound(
            "queues.outbound_jobs.record_status",
            (attempt, req.call_sid, req.call_status, req.answered_by),
            hotline.redis,
            writes.pipe,
        )
    if req.call_status in FINAL_CALL_STATUSES:
        return calls.status(hotline, req, writes)
    return twiml.empty()


def amd(hotline: Hotline, req: VoiceRequest, writes: Writes) -> str:
    """Asynchronous answering-machine detection's verdict (AnsweredBy): the worker records
    it and, for a machine, moves the call to the voicemail message."""
    attempt = req.query.attempt
    if req.call_sid and attempt is not None and req.answered_by:
        publish_outbound(
            "queues.outbound_jobs.record_amd",
            (attempt, req.call_sid, req.answered_by),
            hotline.redis,
            writes.pipe,
        )
    return twiml.empty()


def voicemail(hotline: Hotline, req: VoiceRequest, writes: Writes) -> str:
    """What a voicemail records once its greeting has ended: who called, and what to do."""
    context = _placed_call(hotline, req)
    if context is None:
        return twiml.empty()
    info = WebServices(hotline, writes).find_precinct(context.precinct_id)
    name = info.name_to_say if info is not None else context.precinct_id
    language = chair_language(hotline.store.load_language(context.to_number), info)
    if context.purpose == Purpose.VERIFY.value:
        message = prompts.voicemail_verify(name)
    elif context.purpose == Purpose.REMINDER.value:
        reminder = prompts.remind_to_drill(name, hotline.settings.drill_number)
        message = prompts.together(reminder, prompts.REMINDED_GOODBYE)
    else:
        message = prompts.voicemail_offer(name, hotline.settings.hotline_number)
    return twiml.say_and_hang_up(message, language=language)


def _placed_call(hotline: Hotline, req: VoiceRequest) -> CallContext | None:
    """What the try's call is about, if the request is about the call the dialer placed."""
    attempt = req.query.attempt
    if not req.call_sid or attempt is None:
        return None
    context = CallContext.load(hotline.redis, attempt)
    if context is None or e164(req.to) != context.to_number:
        # Twilio signed it, but it is no call we placed (or not to that phone): say nothing.
        log.warning("outbound webhook for try %s does not match a call placed", attempt)
        return None
    return context
