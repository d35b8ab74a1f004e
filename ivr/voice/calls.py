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
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

from callflows import prompts
from callflows.events import (
    CallbackRequested,
    CallEnded,
    CallStarted,
    DrillSubmitted,
    ReportSubmitted,
    ReportVerified,
    StaffRequested,
)
from callflows.flow import (
    Context,
    StaffDesk,
    Turn,
    answer,
    repeat_prompt,
    start_call,
    start_drill,
)
from callflows.phones import e164
from callflows.phrases import ENGLISH
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
from queues import admission, call_log, counters, election_mode, screening
from queues.counters import calls_in_language
from queues.defaults import HOLD_POLL_PAUSE_SECONDS
from queues.publish import (
    publish_callback,
    publish_drill,
    publish_report,
    publish_verification,
)
from queues.screening import Action, Caller, Decision, LiveState

log = logging.getLogger(__name__)

MAX_HOLD_RETRIES = 5
"""Hold-and-retry rounds (about 3 s each) before the caller is asked to call back."""
HOLD = "hold"
"""The hold queue's wait URL step."""
ADMITTED = "admitted"
"""Where a held caller went after <Leave/> before the Enqueue had an action (kept for calls
that were held across the upgrade)."""
DEQUEUED = "dequeued"
"""The Enqueue's action: Twilio requests it with the QueueResult when the caller leaves
the hold queue, whether by our <Leave/> or because Twilio refused to queue them."""
HOLD_QUEUE_NAME = "hotline-hold"
OPENING_PAUSE_SECONDS = 3
"""Pause between two looks at the mode for a new call while the hotline opens."""


def hold_and_retry(req: VoiceRequest) -> str:
    """Ask the caller to hold, then request the same step again; give up after a while."""
    language = req.query.language or ENGLISH
    if req.query.retries >= MAX_HOLD_RETRIES:
        return twiml.say_and_hang_up(prompts.TROUBLE_CALL_BACK, language=language)
    return twiml.hold_and_retry(prompts.HOLD_ON, req.retry_url, language=language)


def step(hotline: Hotline, req: VoiceRequest, writes: Writes) -> str:
    """Answer the keys for the request's step (/voice itself: the call's first request)."""
    if not req.call_sid:
        return twiml.say_and_hang_up(prompts.TROUBLE_CALL_BACK)
    if req.step == HOLD:
        return _hold(hotline, req)
    with hotline.store.locked(req.call_sid, writes) as loaded:
        if loaded is None:
            if not req.step:
                # /voice, or a path that is none of our steps ("/voice/", "/voice//"): a
                # call we do not know there is screened as new, never let in unscreened.
                if election_mode.holding_new_calls(hotline.redis, hotline.sessions):
                    # The switch to live is draining the rehearsal's calls: hold this one
                    # (nothing recorded) and ask again until the hotline is live.
                    return twiml.hold_and_retry(prompts.OPENING, "/voice", OPENING_PAUSE_SECONDS)
                return _screen(hotline, req, writes)
            if req.step == ADMITTED:
                return _let_in(hotline, req, writes)
            # A call whose state expired (or that going live cleared): it was let in once,
            # so start the flow again, as a practice if the caller dialled the drill line.
            admission.admit(writes.pipe, req.call_sid)
            return _start(hotline, req, writes, drill=_to_drill_line(hotline, req))
        state = loaded.state
        if req.step is None or req.query.seq != state.seq or req.step != state.step:
            # A repeated or stale request (Twilio retried, or a caller's keys crossed a prompt).
            if state.receipt and not state.drill:
                # It may replay a receipt whose first saying the replicas did not confirm.
                _await_replicas(hotline, writes)
            return loaded.twiml
        admission.touch(writes.pipe, req.call_sid)
        ctx = context(hotline, writes, drill=state.drill)
        if req.keys is None and req.query.retries > 0:
            # Retried after a hold without keys (a PIN is never carried): the hotline failed,
            # not the caller, so this is neither silence nor a wrong entry.
            turn = repeat_prompt(state, ctx)
        else:
            turn = answer(state, req.keys, ctx, finished_on_key=req.finished_on_key)
        body = render(hotline, turn)
        _publish_events(hotline, turn, writes)
        hotline.store.save(writes.pipe, turn.state, body)
        if turn.state.language != state.language and turn.state.language_chosen and state.caller:
            # The language key: the phone's next calls, in and out, start in this language.
            hotline.store.save_language(writes.pipe, state.caller, turn.state.language)
        _keep_progress(hotline, turn, writes)
        if turn.end_reason is not None:
            counters.count_screening(writes.pipe, "ended", turn.end_reason.value)
            admission.release(writes.pipe, req.call_sid)
        return body


def drill(hotline: Hotline, req: VoiceRequest, writes: Writes) -> str:
    """The drill line's Voice URL (/voice/drill): a new call is screened as at /voice and
    starts a practice call (callflows.drill), whose later steps are the night's /voice/<step>
    with the call's state saying it is a drill. From the drill line's close on caucus night
    (`Settings.drill_line_closes_at`), the caller is sent on to the results line instead,
    so a chair who dials the number they practised with still reports."""
    if not req.call_sid:
        return twiml.say_and_hang_up(prompts.TROUBLE_CALL_BACK)
    closes_at = hotline.settings.drill_line_closes_at
    if closes_at is not None and datetime.now(UTC) >= closes_at:
        return twiml.say_and_redirect(prompts.DRILL_CLOSED_TONIGHT, "/voice")
    with hotline.store.locked(req.call_sid, writes) as loaded:
        if loaded is not None:
            return loaded.twiml  # a repeated request: the practice has already begun
        return _screen(hotline, req, writes, drill=True)


def _to_drill_line(hotline: Hotline, req: VoiceRequest) -> bool:
    drill_number = hotline.settings.drill_number
    return bool(drill_number) and e164(req.to) == drill_number


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
            language=loaded.state.language if loaded else "",
        )
        call_log.add(writes.pipe, ended)
        if loaded is not None:
            # Staff's breakdown by language, of the calls that reached the flow.
            counters.add_event(writes.pipe, calls_in_language(loaded.state.language))
    return twiml.empty()


def dequeued(hotline: Hotline, req: VoiceRequest, writes: Writes) -> str:
    """The caller left the hold queue (the Enqueue's action), for the reason in QueueResult."""
    if not req.call_sid:
        return twiml.say_and_hang_up(prompts.TROUBLE_CALL_BACK)
    if req.queue_result == "leave" or (req.query.retries > 0 and not req.queue_result):
        # Our <Leave/>: hold_poll gave the call its slot just before. The slot is checked
        # again, so this path never lets anyone in past capacity. (A retry after a hold has
        # lost the QueueResult; the same check lets the caller in or queues them again.)
        with hotline.store.locked(req.call_sid, writes) as loaded:
            if loaded is not None:
                return loaded.twiml  # a repeated request: the flow has already begun
            return _let_in(hotline, req, writes)
    admission.release(writes.pipe, req.call_sid)
    if req.queue_result == "hangup":
        return twiml.empty()  # gone; Twilio ignores the answer
    # Twilio would not queue the call (queue-full, error, system-shutdown), or the call left
    # it some way we never use (bridged, redirected): never fall through into the flow,
    # which would let the caller in with no slot. Busy, and counted.
    reason = "queue_full" if req.queue_result == "queue-full" else "queue_error"
    counters.count_screening(writes.pipe, "busy", reason)
    log.warning("hold queue refused a call: %s", req.queue_result or "no QueueResult")
    return twiml.say_and_hang_up(prompts.LINE_BUSY)


def fallback(hotline: Hotline, req: VoiceRequest, writes: Writes) -> str:
    """Twilio could not use our answer: hold, then retry the step that failed."""
    # Either entry point (PUBLIC_FALLBACK_BASE_URL: a second load balancer) handed out the
    # failed step's URL: a step retried there may fail there too, and resumes the same way.
    try:
        parts = urlsplit(req.error_url)
        entry_points = hotline.settings.entry_points
        ours = any(parts.netloc == urlsplit(base).netloc for base in entry_points)
    except ValueError:  # e.g. "http://[::1/": not a URL we handed out
        parts, ours = urlsplit(""), False
    log.warning("Twilio fallback: error %s at %s", req.error_code, voice_path(parts.path))
    if not ours:
        return twiml.hold_and_retry(prompts.HOLD_ON, retry_url("/voice", StepQuery(), None))
    query = parse_query(dict(parse_qsl(parts.query)))
    language = query.language or ENGLISH
    if query.retries >= MAX_HOLD_RETRIES:
        return twiml.say_and_hang_up(prompts.TROUBLE_CALL_BACK, language=language)
    path = voice_path(parts.path)
    retry = retry_url(path, query, req.keys)
    return twiml.hold_and_retry(prompts.HOLD_ON, retry, language=language)


def render(hotline: Hotline, turn: Turn) -> str:
    """The TwiML of a turn: a <Dial> to staff when it puts the caller through."""
    if turn.connect_staff:
        return twiml.dial_staff(turn, hotline.settings.staff_number)
    return twiml.render_turn(turn)


def context(hotline: Hotline, writes: Writes, *, drill: bool = False) -> Context:
    """The flow's view of the world for one request (ivr.voice.staff_calls uses it too);
    `drill` for a drill call, whose PIN tries count against the drill line's limits."""
    settings = hotline.settings
    # Staff are on duty while a number to put callers through to is configured.
    staff = StaffDesk(on_duty=bool(settings.staff_number), hours=settings.staff_hours)
    services = WebServices(hotline, writes, drill=drill)
    return Context(ballot=hotline.ballot, services=services, now=_now(), staff=staff)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _screen(hotline: Hotline, req: VoiceRequest, writes: Writes, *, drill: bool = False) -> str:
    """A new call at /voice (or at /voice/drill, with `drill`): classify the caller, then
    apply the screening decision."""
    redis, settings = hotline.redis, hotline.settings
    caller = screening.classify(
        redis, req.caller_id, req.stir_verstat, hotline.directory.chair_phones()
    )
    live = LiveState(redis, writes.pipe, req.call_sid, settings.ivr_capacity)
    decision = screening.decide(caller, live, settings.hold_max)
    if drill and decision.action == Action.HOLD:
        # The drill line never holds anyone: practice can wait, and a held drill would
        # take a place in the hold queue from a caller of the results line.
        counters.count_screening(writes.pipe, Action.BUSY.value, "drill_line_full")
        return twiml.say_and_hang_up(prompts.DRILL_LINE_BUSY)
    counters.count_screening(writes.pipe, decision.action.value, decision.reason)
    if decision.action in (Action.REJECT, Action.BUSY):
        return twiml.reject(decision.action.value)
    _log_call_started(req, caller, decision, writes)
    if decision.action == Action.HOLD:
        return _enqueue(caller.priority)
    return _start(hotline, req, writes, drill=drill)


def _enqueue(priority: int) -> str:
    query = urlencode({"p": priority})
    return twiml.enqueue(HOLD_QUEUE_NAME, f"/voice/{HOLD}?{query}", f"/voice/{DEQUEUED}?{query}")


def _let_in(hotline: Hotline, req: VoiceRequest, writes: Writes) -> str:
    """A held caller let out of the queue: into the flow if they hold (or can take) a
    slot, else back into the queue (at its end: their slot was lost meanwhile)."""
    capacity = hotline.settings.ivr_capacity
    if not admission.try_admit(hotline.redis, req.call_sid, capacity):
        return _enqueue(req.query.priority)
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
    # Twilio sends QueueTime with each poll: only the first (0 s in the queue) greets.
    first = not req.queue_time
    announcement = prompts.hold_position(position, first=first)
    return twiml.hold_announcement(announcement, HOLD_POLL_PAUSE_SECONDS)


def _start(hotline: Hotline, req: VoiceRequest, writes: Writes, *, drill: bool = False) -> str:
    ctx = context(hotline, writes, drill=drill)
    begin = start_drill if drill else start_call
    language = hotline.store.load_language(req.caller_id)
    turn = begin(req.call_sid, req.caller_id, ctx, stir_verstat=req.stir_verstat, language=language)
    body = twiml.render_turn(turn)
    hotline.store.create(writes.pipe, turn.state, body)
    return body


def _publish_events(hotline: Hotline, turn: Turn, writes: Writes) -> None:
    # In the answer's transaction: a chair hears "received" only once the report is in Redis.
    for event in turn.events:
        if isinstance(event, ReportSubmitted):
            # Stamped with the mode now (one GET, on the confirming request only), so a
            # rehearsal's report that reaches a worker after going live is never counted.
            mode = election_mode.current(hotline.redis, hotline.sessions)
            stamped = replace(event, rehearsal=election_mode.is_rehearsal(mode))
            publish_report(stamped, hotline.redis, writes.pipe)
            _await_replicas(hotline, writes)
        elif isinstance(event, DrillSubmitted):
            publish_drill(event, hotline.redis, writes.pipe)
        elif isinstance(event, ReportVerified):
            publish_verification(event, hotline.redis, writes.pipe)
        elif isinstance(event, CallbackRequested):
            publish_callback(event, hotline.redis, writes.pipe)
        else:
            if isinstance(event, StaffRequested):
                counters.add_event(writes.pipe, "staff_requests")
                if not event.on_duty:
                    counters.add_event(writes.pipe, "staff_off_duty")
            call_log.add(writes.pipe, event)


def _await_replicas(hotline: Hotline, writes: Writes) -> None:
    """The receipt is said only once REDIS_MIN_REPLICAS_ACK replicas have the report: else
    the transaction raises, and the chair holds while the same step is tried again."""
    settings = hotline.settings
    writes.pipe.wait_for_replicas(settings.redis_min_replicas_ack, settings.redis_wait_timeout_ms)


def _keep_progress(hotline: Hotline, turn: Turn, writes: Writes) -> None:
    state = turn.state
    # A drill keeps no progress: it would be offered as a report in progress on the night.
    if not state.authenticated or state.precinct_id is None or state.drill:
        return
    if any(isinstance(event, ReportSubmitted) for event in turn.events):
        hotline.store.clear_progress(writes.pipe, state.precinct_id, state.caller)
    elif holds_figures(state.step):
        progress = Progress.of(state)
        hotline.store.save_progress(writes.pipe, state.precinct_id, state.caller, progress)
