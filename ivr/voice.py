"""Twilio voice webhooks: check the signature, run the flow, keep state in Redis, answer TwiML.

The call path never writes the database: state goes to Redis and durable events to rq.
Whatever goes wrong inside, Twilio gets TwiML asking the caller to hold while the same
step is retried, never a 5xx (which the caller would hear as "an application error").
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
from twilio.request_validator import RequestValidator

from callflows import prompts
from callflows.flow import Context, Turn, answer, start_call
from callflows.state import PIN, Progress, step_kind
from ivr import twiml
from ivr.hotline import Hotline, current_hotline
from ivr.services import WebServices
from queues import counters
from queues.publish import publish_call_ended, publish_call_started, publish_report

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__, url_prefix="/voice")

MAX_HOLD_RETRIES = 5
"""Hold-and-retry rounds (about 3 s each) before the caller is asked to call back."""
PROGRESS_STEPS = frozenset({"figure", "total", "fix", "confirm"})
UNSIGNED_EXTRAS = frozenset({"StirVerstat", "CallToken"})


@bp.before_request
def check_twilio_signature() -> None:
    hotline = current_hotline()
    url = hotline.settings.public_base_url + request.path
    if request.query_string:
        url += "?" + request.query_string.decode()
    signature = request.headers.get("X-Twilio-Signature", "")
    validator = RequestValidator(hotline.settings.twilio_auth_token)
    params = request.form.to_dict()
    if validator.validate(url, params, signature):
        return
    # Twilio has been reported to add these after signing; they are informative only, so a
    # request whose other parameters carry a valid signature is still Twilio's.
    signed = {key: value for key, value in params.items() if key not in UNSIGNED_EXTRAS}
    if signed != params and validator.validate(url, signed, signature):
        return
    log.warning("refused %s: missing or invalid Twilio signature", request.path)
    abort(403)


@bp.post("")
def incoming() -> Response:
    return _answer_safely(lambda: _step(None))


@bp.post("/status")
def status_callback() -> Response:
    return _answer_safely(_status)


@bp.post("/fallback")
def fallback() -> Response:
    return _answer_safely(_fallback)


@bp.post("/<path:step>")
def step(step: str) -> Response:
    return _answer_safely(lambda: _step(step))


def _answer_safely(handler: Callable[[], str]) -> Response:
    started = time.perf_counter()
    try:
        body = handler()
    except Exception:
        log.exception("webhook %s failed; asking the caller to hold", request.path)
        body = _hold_and_retry()
    with contextlib.suppress(RedisError):
        counters.record_latency(current_hotline().redis, time.perf_counter() - started)
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


def _start(hotline: Hotline, call_sid: str) -> str:
    form = request.form
    turn = start_call(call_sid, form.get("From", ""), _context(hotline))
    body = twiml.render_turn(turn)
    publish_call_started(
        {
            "call_sid": call_sid,
            "from": form.get("From", ""),
            "to": form.get("To", ""),
            "stir_verstat": form.get("StirVerstat", ""),
            "at": datetime.now(UTC).isoformat(),
        },
        hotline.redis,
    )
    hotline.store.save(turn.state, body)
    return body


def _step(step: str | None) -> str:
    """Answer the keys for `step` (None: the call's first request, to /voice)."""
    hotline = current_hotline()
    call_sid = request.form.get("CallSid", "")
    if not call_sid:
        return twiml.say_and_hang_up(prompts.TROUBLE_CALL_BACK)
    with hotline.store.lock(call_sid):
        loaded = hotline.store.load(call_sid)
        if loaded is None:
            # Unknown or expired call (e.g. its state expired): start afresh instead of failing.
            return _start(hotline, call_sid)
        state, last_answer = loaded
        if step is None or request.args.get("n") != str(state.seq) or step != state.step:
            # A repeated or stale request (Twilio retried, or a caller's keys crossed a prompt).
            return last_answer
        digits = request.form.get("Digits", request.args.get("d"))
        turn = answer(state, digits, _context(hotline))
        body = twiml.render_turn(turn)
        for event in turn.events:
            # Queued before we answer: a chair hears "received" only once the report is in Redis.
            publish_report(event.to_payload(), hotline.redis)
        hotline.store.save(turn.state, body)
        _keep_progress(hotline, turn)
        return body


def _keep_progress(hotline: Hotline, turn: Turn) -> None:
    state = turn.state
    if not state.authenticated or state.precinct_id is None:
        return
    if turn.events:
        hotline.store.clear_progress(state.precinct_id)
    elif step_kind(state.step) in PROGRESS_STEPS:
        hotline.store.save_progress(state.precinct_id, Progress.of(state))


def _status() -> str:
    hotline = current_hotline()
    form = request.form
    call_sid = form.get("CallSid", "")
    if call_sid:
        loaded = hotline.store.load(call_sid)
        precinct_id = loaded[0].precinct_id if loaded else None
        publish_call_ended(
            {
                "call_sid": call_sid,
                "status": form.get("CallStatus", "completed"),
                "duration": form.get("CallDuration"),
                "precinct_id": precinct_id,
                "at": datetime.now(UTC).isoformat(),
            },
            hotline.redis,
        )
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
