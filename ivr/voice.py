"""Twilio voice webhooks: check the signature, run the flow, keep state in Redis, answer TwiML.

The call path never writes the database: state goes to Redis and durable events to rq
(reports) or the call log (calls started and ended, blocks keyed). Each request queues its
writes on a `Writes` pipeline that is sent in one transaction just before it answers, so a
figure costs two Redis round trips (lock and load, then the writes) however many things it
changes. Whatever goes wrong inside, Twilio gets TwiML asking the caller to hold while the
same step is retried, never a 5xx (which the caller would hear as "an application error").
The only non-TwiML answer is the 403 for a request without a valid Twilio signature.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import Blueprint, Response, abort, request
from redis.exceptions import RedisError

from callflows import prompts
from callflows.flow import Context, ReportSubmitted, Turn, answer, start_call
from callflows.state import PIN, Progress, step_kind
from ivr import twilio_signature, twiml
from ivr.callstore import Writes
from ivr.hotline import Hotline, current_hotline
from ivr.services import WebServices
from queues import admission, call_log, counters, screening
from queues.defaults import HOLD_POLL_PAUSE_SECONDS
from queues.publish import publish_report
from queues.screening import Caller, CallerClass

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__, url_prefix="/voice")

MAX_HOLD_RETRIES = 5
"""Hold-and-retry rounds (about 3 s each) before the caller is asked to call back."""
PROGRESS_STEPS = frozenset({"figure", "total", "fix", "chance", "confirm"})
UNSIGNED_EXTRAS = frozenset({"StirVerstat", "CallToken"})
HOLD = "hold"
"""The hold queue's wait URL step."""
ADMITTED = "admitted"
"""Where a held caller goes after <Leave/>."""
HOLD_QUEUE_NAME = "hotline-hold"


@bp.before_request
def check_twilio_signature() -> None:
    hotline = current_hotline()
    url = hotline.settings.public_base_url + request.path
    if request.query_string:
        url += "?" + request.query_string.decode()
    signature = request.headers.get("X-Twilio-Signature", "")
    token = hotline.settings.twilio_auth_token
    # Twilio has been reported to add these after signing; they are informative only, so a
    # request whose other parameters carry a valid signature is still Twilio's.
    if twilio_signature.is_valid(token, url, request.form, signature, UNSIGNED_EXTRAS):
        return
    log.warning("refused %s: missing or invalid Twilio signature", request.path)
    abort(403)


@bp.post("")
def incoming() -> Response:
    return _answer_safely(lambda writes: _step(None, writes))


@bp.post("/status")
def status_callback() -> Response:
    return _answer_safely(_status)


@bp.post("/fallback")
def fallback() -> Response:
    return _answer_safely(lambda _: _fallback())


@bp.post("/<path:step>")
def step(step: str) -> Response:
    return _answer_safely(lambda writes: _step(step, writes))


def _answer_safely(handler: Callable[[Writes], str]) -> Response:
    started = time.perf_counter()
    redis = current_hotline().redis
    writes = Writes.on(redis)
    try:
        body = handler(writes)
        # Measured up to the write transaction, which carries the sample itself.
        counters.record_latency(writes.pipe, time.perf_counter() - started)
        writes.send()
    except Exception:
        log.exception("webhook %s failed; asking the caller to hold", request.path)
        writes.abandon()
        body = _hold_and_retry()
        with contextlib.suppress(RedisError):
            counters.record_latency(redis, time.perf_counter() - started)
    return Response(body, mimetype="text/xml")


def _hold_and_retry() -> str:
    return _retry(request.path, request.args.to_dict(), request.form.get("Digits"))


def _retry(path: str, args: dict[str, str], digits: str | None) -> str:
    """Ask the caller to hold, then request `path` again; give up politely after a while."""
    retries = int(args.get("r", "0")) if args.get("r", "0").isdigit() else MAX_HOLD_RETRIES
    if retries >= MAX_HOLD_RETRIES:
        return twiml.say_and_hang_up(prompts.TROUBLE_CALL_BACK)
    args = {**args, "r": str(retries + 1)}
    # Carry the keys so the retry answers the same step; never a PIN, which must not reach URLs.
    if digits and not path.endswith(f"/{PIN}"):
        args["d"] = digits
    return twiml.hold_and_retry(prompts.HOLD_ON, f"{path}?{urlencode(args)}")


def _context(hotline: Hotline) -> Context:
    now = datetime.now(UTC).isoformat()
    return Context(ballot=hotline.ballot, services=WebServices(hotline), now=now)


def _screen(hotline: Hotline, call_sid: str, writes: Writes) -> str:
    """A new call at /voice: classify the caller, then admit, hold, or refuse them."""
    form, redis, settings = request.form, hotline.redis, hotline.settings
    caller = screening.classify(
        redis, form.get("From", ""), form.get("StirVerstat", ""), hotline.directory.chair_phones()
    )
    if caller.caller_class == CallerClass.BLOCKLISTED:
        return _refuse("rejected", "blocklisted", writes)
    if screening.over_call_rate(redis, caller):
        return _refuse("busy", "call_rate", writes)
    if caller.caller_class == CallerClass.CHAIR:
        admission.admit(writes.pipe, call_sid)
    elif not admission.try_admit(redis, call_sid, settings.ivr_capacity):
        if caller.priority > 0 and admission.hold_depth(redis) >= settings.hold_max:
            return _refuse("busy", "hold_full", writes)
        counters.count_screening(writes.pipe, "held", caller.caller_class.value)
        _log_call_started(call_sid, caller, "held", writes)
        wait_url = f"/voice/{HOLD}?{urlencode({'p': caller.priority})}"
        return twiml.enqueue(HOLD_QUEUE_NAME, wait_url, f"/voice/{ADMITTED}")
    counters.count_screening(writes.pipe, "admitted", caller.caller_class.value)
    _log_call_started(call_sid, caller, "admitted", writes)
    return _start(hotline, call_sid, writes)


def _refuse(reason: str, why: str, writes: Writes) -> str:
    counters.count_screening(writes.pipe, reason, why)
    return twiml.reject(reason)


def _log_call_started(call_sid: str, caller: Caller, decision: str, writes: Writes) -> None:
    form = request.form
    payload = {
        "call_sid": call_sid,
        "from": form.get("From", ""),
        "to": form.get("To", ""),
        "stir_verstat": form.get("StirVerstat", ""),
        "caller_class": caller.caller_class.value,
        "screening": decision,
        "at": datetime.now(UTC).isoformat(),
    }
    call_log.add(writes.pipe, call_log.STARTED, payload)


def _hold(hotline: Hotline, call_sid: str) -> str:
    """The hold queue's wait URL: tell the caller their place, or let them in."""
    priority = 0 if request.args.get("p") == "0" else 1
    capacity = hotline.settings.ivr_capacity
    position = admission.hold_poll(hotline.redis, call_sid, priority, capacity)
    if position == 0:
        return twiml.leave()
    return twiml.hold_announcement(prompts.hold_position(position), HOLD_POLL_PAUSE_SECONDS)


def _start(hotline: Hotline, call_sid: str, writes: Writes) -> str:
    attested = request.form.get("StirVerstat", "") == screening.ATTESTED_A
    turn = start_call(call_sid, request.form.get("From", ""), _context(hotline), attested=attested)
    body = twiml.render_turn(turn)
    hotline.store.create(writes.pipe, turn.state, body)
    return body


def _step(step: str | None, writes: Writes) -> str:
    """Answer the keys for `step` (None: the call's first request, to /voice)."""
    hotline = current_hotline()
    call_sid = request.form.get("CallSid", "")
    if not call_sid:
        return twiml.say_and_hang_up(prompts.TROUBLE_CALL_BACK)
    if step == HOLD:
        return _hold(hotline, call_sid)
    with hotline.store.locked(call_sid, writes) as loaded:
        if loaded is None:
            if step is None:
                return _screen(hotline, call_sid, writes)
            # Let in from the hold queue, or a call whose state expired: start the flow.
            admission.admit(writes.pipe, call_sid)
            return _start(hotline, call_sid, writes)
        state = loaded.state
        if step is None or request.args.get("n") != str(state.seq) or step != state.step:
            # A repeated or stale request (Twilio retried, or a caller's keys crossed a prompt).
            return loaded.twiml
        admission.touch(writes.pipe, call_sid)
        digits = request.form.get("Digits", request.args.get("d"))
        turn = answer(state, digits, _context(hotline))
        body = twiml.render_turn(turn)
        _publish_events(hotline, turn, writes)
        hotline.store.save(writes.pipe, turn.state, body)
        _keep_progress(hotline, turn, writes)
        if turn.end_reason is not None:
            counters.count_screening(writes.pipe, "ended", turn.end_reason.value)
            admission.release(writes.pipe, call_sid)
        return body


def _publish_events(hotline: Hotline, turn: Turn, writes: Writes) -> None:
    # In the answer's transaction: a chair hears "received" only once the report is in Redis.
    for event in turn.events:
        if isinstance(event, ReportSubmitted):
            publish_report(event.to_payload(), hotline.redis, writes.pipe)
        else:
            call_log.add(writes.pipe, call_log.BLOCK, event.to_payload())


def _keep_progress(hotline: Hotline, turn: Turn, writes: Writes) -> None:
    state = turn.state
    if not state.authenticated or state.precinct_id is None:
        return
    if any(isinstance(event, ReportSubmitted) for event in turn.events):
        hotline.store.clear_progress(writes.pipe, state.precinct_id, state.caller)
    elif step_kind(state.step) in PROGRESS_STEPS:
        progress = Progress.of(state)
        hotline.store.save_progress(writes.pipe, state.precinct_id, state.caller, progress)


def _status(writes: Writes) -> str:
    hotline = current_hotline()
    form = request.form
    call_sid = form.get("CallSid", "")
    if call_sid:
        loaded = hotline.store.load(call_sid)
        admission.release(writes.pipe, call_sid)
        payload = {
            "call_sid": call_sid,
            "status": form.get("CallStatus", "completed"),
            "duration": form.get("CallDuration"),
            "precinct_id": loaded.state.precinct_id if loaded else None,
            "at": datetime.now(UTC).isoformat(),
        }
        call_log.add(writes.pipe, call_log.ENDED, payload)
    return twiml.empty()


def _fallback() -> str:
    """Twilio could not use our answer: hold, then retry the step that failed."""
    hotline = current_hotline()
    error_url = request.form.get("ErrorUrl", "")
    log.warning(
        "Twilio fallback: error %s at %s", request.form.get("ErrorCode"), urlsplit(error_url).path
    )
    parts = urlsplit(error_url)
    if parts.netloc != urlsplit(hotline.settings.public_base_url).netloc:
        return _retry("/voice", {}, None)
    return _retry(parts.path, dict(parse_qsl(parts.query)), request.form.get("Digits"))
