"""The voice webhooks' routes: check the signature, parse the request, answer TwiML.

This is the only module of the voice webhooks that reads `flask.request`: each route
parses it once into a `VoiceRequest` and hands that to a handler in `ivr.voice.calls`,
with the request's write transaction. Whatever goes wrong inside, Twilio gets TwiML
asking the caller to hold while the same step is retried, never a 5xx (which the caller
would hear as "an application error"); the only other answers are the 403 for a request
without a valid Twilio signature and the 413 for a body larger than any Twilio sends.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

from flask import Blueprint, Response, abort, request
from redis.exceptions import RedisError
from werkzeug.exceptions import RequestEntityTooLarge

from ivr import twilio_signature
from ivr.callstore import Writes
from ivr.hotline import Hotline, current_hotline
from ivr.voice import calls
from ivr.voice.twilio_request import VoiceRequest, parse_request, unreadable_request
from queues import counters

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__, url_prefix="/voice")

UNSIGNED_EXTRAS = frozenset({"StirVerstat", "CallToken"})
"""Twilio has been reported to add these after signing; they are informative only, so a
request whose other parameters carry a valid signature is still Twilio's."""

MAX_REQUEST_BYTES = 64 * 1024
"""Twilio's voice webhooks are a few KB; anything bigger is not Twilio's."""

Handler = Callable[[Hotline, VoiceRequest, Writes], str]


@bp.before_request
def check_twilio_signature() -> None:
    """Refuse what is not Twilio's: 413 for an oversized body, 403 for a bad signature."""
    # The size is checked before the form is read or an HMAC computed, so an oversized
    # body costs neither. 413, not 403: the signature was never looked at, so calling the
    # request forged would be a guess; Twilio never sends one, so no caller hears it.
    # Setting the request's limit also bounds a chunked body that declares no length.
    request.max_content_length = MAX_REQUEST_BYTES
    if request.content_length is not None and request.content_length > MAX_REQUEST_BYTES:
        log.warning("refused %s: a body of %d bytes", request.path, request.content_length)
        abort(413)
    hotline = current_hotline()
    try:
        valid = _signed_by_twilio(hotline)
    except RequestEntityTooLarge:
        log.warning("refused %s: a body over %d bytes", request.path, MAX_REQUEST_BYTES)
        abort(413)
    except Exception:
        # Nothing about an unverifiable request is worth a 500 (a body or header that
        # cannot even be decoded is no signed Twilio request).
        log.warning("refused %s: a request whose signature cannot be checked", request.path)
        valid = False
    if valid:
        return
    log.warning("refused %s: missing or invalid Twilio signature", request.path)
    abort(403)


def _signed_by_twilio(hotline: Hotline) -> bool:
    url = hotline.settings.public_base_url + request.path
    if request.query_string:
        url += "?" + request.query_string.decode()
    signature = request.headers.get("X-Twilio-Signature", "")
    token = hotline.settings.twilio_auth_token
    return twilio_signature.is_valid(token, url, request.form, signature, UNSIGNED_EXTRAS)


@bp.before_app_request
def voice_paths_never_fall_through() -> Response | None:
    """A POST to a /voice path none of our routes match ("/voice/", "/voice//pin") is still
    answered as a webhook: signature first, then TwiML.

    Otherwise Flask would answer it 404, or 308 to a merged path, and before checking its
    signature (a blueprint's own hooks run only for the blueprint's routes)."""
    if request.routing_exception is None or request.method != "POST":
        return None
    if request.path != "/voice" and not request.path.startswith("/voice/"):
        return None
    check_twilio_signature()  # 403 or 413 unless Twilio's
    return _answer_safely(calls.step)


@bp.post("")
def incoming() -> Response:
    return _answer_safely(calls.step)


@bp.post("/status")
def status_callback() -> Response:
    return _answer_safely(calls.status)


@bp.post("/fallback")
def fallback() -> Response:
    return _answer_safely(calls.fallback)


@bp.post("/dequeued")
def dequeued() -> Response:
    return _answer_safely(calls.dequeued)


@bp.post("/<path:step>")
def step(step: str) -> Response:
    return _answer_safely(calls.step)


def _answer_safely(handler: Handler) -> Response:
    started = time.perf_counter()
    hotline = current_hotline()
    try:
        parsed = parse_request(request.path, request.form, request.args)
    except Exception:
        # parse_request is meant to be total; should some input still defeat it, the caller
        # holds and the step is asked again (a retry without keys re-asks its prompt).
        log.exception("webhook %s: unreadable request; asking the caller to hold", request.path)
        return Response(
            calls.hold_and_retry(unreadable_request(request.path, _call_sid_only())),
            mimetype="text/xml",
        )
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


def _call_sid_only() -> str:
    try:
        return str(request.form.get("CallSid", ""))
    except Exception:
        return ""
