"""Answering a call: screen it, run the flow, keep its state in Redis, answer TwiML.

The handlers take the parsed request (`VoiceRequest`) and the request's `Writes`; they
never read `flask.request`. The call path never writes the database: state goes to Redis,
a report to rq and everything else a call records (it started, a block was keyed, it
ended) to the call log. Everything a request writes is queued on its `Writes` and sent in
one transaction just before it answers, so a figure costs two Redis round trips (lock and
load, then the writes) however many things it changes.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

from callflows import prompts
from callflows.events import CallEnded, CallStarted, ReportSubmitted
from callflows.flow import Context, Turn, answer, start_call
from callflows.progress import holds_figures
from callflows.state import Progress
from ivr import twiml
from ivr.callstore import Writes
from ivr.hotline import Hotline
from ivr.services import WebServices
from ivr.voice.twilio_request import (
    StepQuery,
    VoiceRequest,
    parse_query,
    retry_url,
    voice_path,
)
from queues import admission, call_log, counters, screening
from queues.defaults import HOLD_POLL_PAUSE_SECONDS
from queues.publish import publish_report
from queues.screening import Action, Caller, Decision, LiveState

log = logging.getLogger(__name__)

MAX_HOLD_RETRIES = 5
"""Hold-and-retry rounds (about 3 s each) before the caller is asked to call back."""
HOLD = "hold"
"""The hold queue's wait URL step."""
ADMITTED = "admitted"
"""Where a held caller goes after <Leave/>."""
HOLD_QUEUE_NAME = "hotline-hold"


def hold_and_retry(req: VoiceRequest) -> str:
    """Ask the caller to hold, then request the same step again; give up after a while."""
    if req.query.retries >= MAX_HOLD_RETRIES:
        return twiml.say_and_hang_up(prompts.TROUBLE_CALL_BACK)
    return twiml.hold_and_retry(prompts.HOLD_ON, req.retry_url)


def step(hotline: Hotline, req: VoiceRequest, writes: Writes) -> str:
    """Answer the keys for the request's step (/voice itself: the call's first request)."""
    if not req.call_sid:
        return twiml.say_and_hang_up(prompts.TROUBLE_CALL_BACK)
    if req.step == HOLD:
        return _hold(hotline, req)
    with hotline.store.locked(req.call_sid, writes) as loaded:
        if loaded is None:
            if req.step is None:
                return _screen(hotline, req, writes)
            # Let in from the hold queue, or a call whose state expired: start the flow.
            admission.admit(writes.pipe, req.call_sid)
            return _start(hotline, req, writes)
        state = loaded.state
        if req.step is None or req.query.seq != state.seq or req.step != state.step:
            # A repeated or stale request (Twilio retried, or a caller's keys crossed a prompt).
            return loaded.twiml
        admission.touch(writes.pipe, req.call_sid)
        turn = answer(state, req.keys, _context(hotline))
        body = twiml.render_turn(turn)
        _publish_events(hotline, turn, writes)
        hotline.store.save(writes.pipe, turn.state, body)
        _keep_progress(hotline, turn, writes)
        if turn.end_reason is not None:
            counters.count_screening(writes.pipe, "ended", turn.end_reason.value)
            admission.release(writes.pipe, req.call_sid)
        return body


def status(hotline: Hotline, req: VoiceRequest, writes: Writes) -> str:
    """Twilio's status callback: the call is over, so free its place and log its end."""
    if req.call_sid:
        loaded = hotline.store.load(req.call_sid)
        admission.release(writes.pipe, req.call_sid)
        ended = CallEnded(
            call_sid=req.call_sid,
            at=_now(),
            status=req.call_status or "completed",
            duration_seconds=req.call_duration,
            precinct_id=loaded.state.precinct_id if loaded else None,
        )
        call_log.add(writes.pipe, ended)
    return twiml.empty()


def fallback(hotline: Hotline, req: VoiceRequest, writes: Writes) -> str:
    """Twilio could not use our answer: hold, then retry the step that failed."""
    parts = urlsplit(req.error_url)
    log.warning("Twilio fallback: error %s at %s", req.error_code, parts.path)
    if parts.netloc != urlsplit(hotline.settings.public_base_url).netloc:
        return twiml.hold_and_retry(prompts.HOLD_ON, retry_url("/voice", StepQuery(), None))
    query = parse_query(dict(parse_qsl(parts.query)))
    if query.retries >= MAX_HOLD_RETRIES:
        return twiml.say_and_hang_up(prompts.TROUBLE_CALL_BACK)
    path = voice_path(parts.path)
    return twiml.hold_and_retry(prompts.HOLD_ON, retry_url(path, query, req.keys))


def _context(hotline: Hotline) -> Context:
    return Context(ballot=hotline.ballot, services=WebServices(hotline), now=_now())


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _screen(hotline: Hotline, req: VoiceRequest, writes: Writes) -> str:
    """A new call at /voice: classify the caller, then apply the screening decision."""
    redis, settings = hotline.redis, hotline.settings
    caller = screening.classify(
        redis, req.caller_id, req.stir_verstat, hotline.directory.chair_phones()
    )
    live = LiveState(redis, writes.pipe, req.call_sid, settings.ivr_capacity)
    decision = screening.decide(caller, live, settings.hold_max)
    counters.count_screening(writes.pipe, decision.action.value, decision.reason)
    if decision.action in (Action.REJECT, Action.BUSY):
        return twiml.reject(decision.action.value)
    _log_call_started(req, caller, decision, writes)
    if decision.action == Action.HOLD:
        wait_url = f"/voice/{HOLD}?{urlencode({'p': caller.priority})}"
        return twiml.enqueue(HOLD_QUEUE_NAME, wait_url, f"/voice/{ADMITTED}")
    return _start(hotline, req, writes)


def _log_call_started(
    req: VoiceRequest, caller: Caller, decision: Decision, writes: Writes
) -> None:
    started = CallStarted(
        call_sid=req.call_sid,
        at=_now(),
        from_number=req.caller_id,
        to_number=req.to,
        stir_verstat=req.stir_verstat,
        caller_class=caller.caller_class.value,
        screening=decision.action.value,
    )
    call_log.add(writes.pipe, started)


def _hold(hotline: Hotline, req: VoiceRequest) -> str:
    """The hold queue's wait URL: tell the caller their place, or let them in."""
    capacity = hotline.settings.ivr_capacity
    position = admission.hold_poll(hotline.redis, req.call_sid, req.query.priority, capacity)
    if position == 0:
        return twiml.leave()
    return twiml.hold_announcement(prompts.hold_position(position), HOLD_POLL_PAUSE_SECONDS)


def _start(hotline: Hotline, req: VoiceRequest, writes: Writes) -> str:
    attested = req.stir_verstat == screening.ATTESTED_A
    turn = start_call(req.call_sid, req.caller_id, _context(hotline), attested=attested)
    body = twiml.render_turn(turn)
    hotline.store.create(writes.pipe, turn.state, body)
    return body


def _publish_events(hotline: Hotline, turn: Turn, writes: Writes) -> None:
    # In the answer's transaction: a chair hears "received" only once the report is in Redis.
    for event in turn.events:
        if isinstance(event, ReportSubmitted):
            publish_report(event, hotline.redis, writes.pipe)
        else:
            call_log.add(writes.pipe, event)


def _keep_progress(hotline: Hotline, turn: Turn, writes: Writes) -> None:
    state = turn.state
    if not state.authenticated or state.precinct_id is None:
        return
    if any(isinstance(event, ReportSubmitted) for event in turn.events):
        hotline.store.clear_progress(writes.pipe, state.precinct_id, state.caller)
    elif holds_figures(state.step):
        progress = Progress.of(state)
        hotline.store.save_progress(writes.pipe, state.precinct_id, state.caller, progress)
