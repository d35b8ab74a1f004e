"""The voice webhooks' routes: check the signature, parse the request, answer TwiML.

This is the only module of the voice webhooks that reads `flask.request`: each route
parses it once into a `VoiceRequest` and hands that to a handler in `ivr.voice.calls`,
with the request's write transaction. Whatever goes wrong inside, Twilio gets TwiML
asking the caller to hold while the same step is retried, never a 5xx (which the caller
would hear as "an application error"); the only other answer is the 403 for a request
without a valid Twilio signature.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

from flask import Blueprint, Response, abort, request
from redis.exceptions import RedisError

from ivr import twilio_signature
from ivr.callstore import Writes
from ivr.hotline import Hotline, current_hotline
from ivr.voice import calls
from ivr.voice.twilio_request import VoiceRequest, parse_request
from queues import counters

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__, url_prefix="/voice")

UNSIGNED_EXTRAS = frozenset({"StirVerstat", "CallToken"})
"""Twilio has been reported to add these after signing; they are informative only, so a
request whose other parameters carry a valid signature is still Twilio's."""

Handler = Callable[[Hotline, VoiceRequest, Writes], str]


@bp.before_request
def check_twilio_signature() -> None:
    hotline = current_hotline()
    url = hotline.settings.public_base_url + request.path
    if request.query_string:
        url += "?" + request.query_string.decode()
    signature = request.headers.get("X-Twilio-Signature", "")
    token = hotline.settings.twilio_auth_token
    if twilio_signature.is_valid(token, url, request.form, signature, UNSIGNED_EXTRAS):
        return
    log.warning("refused %s: missing or invalid Twilio signature", request.path)
    abort(403)


@bp.post("")
def incoming() -> Response:
    return _answer_safely(calls.step)


@bp.post("/status")
def status_callback() -> Response:
    return _answer_safely(calls.status)


@bp.post("/fallback")
def fallback() -> Response:
    return _answer_safely(calls.fallback)


@bp.post("/<path:step>")
def step(step: str) -> Response:
    return _answer_safely(calls.step)


def _answer_safely(handler: Handler) -> Response:
    started = time.perf_counter()
    hotline = current_hotline()
    parsed = parse_request(request.path, request.form, request.args)
    writes = Writes.on(hotline.redis)
    try:
        body = handler(hotline, parsed, writes)
        # Measured up to the write transaction, which carries the sample itself.
        counters.record_latency(writes.pipe, time.perf_counter() - started)
        writes.send()
    except Exception:
        log.exception("webhook %s failed; asking the caller to hold", parsed.path)
        writes.abandon()
        body = calls.hold_and_retry(parsed)
        with contextlib.suppress(RedisError):
            counters.record_latency(hotline.redis, time.perf_counter() - started)
    return Response(body, mimetype="text/xml")
