"""The voice webhooks' routes: check the signature, parse the request, answer TwiML.

Every request under /voice is answered here, by a WSGI layer in front of the Flask app
(`create_app` installs it as `app.wsgi_app`), before any of Flask's request machinery:
Twilio's webhooks use no session, template, cookie or CSRF token, and Flask's per-request
work (contexts, routing, hooks, werkzeug's form parser) was a quarter of a figure's time
(`hotline capacity --profile`, docs/BENCHMARKS.md). Every other path goes on to Flask.

This is the only module of the voice webhooks that reads the HTTP request: each request is
parsed once into a `VoiceRequest` and handed to a handler in `ivr.voice.calls`, with the
request's write transaction. Whatever goes wrong inside, Twilio gets TwiML asking the
caller to hold while the same step is retried, never a 5xx (which the caller would hear as
"an application error"); the only other answers are the 403 for a request without a valid
Twilio signature, the 413 for a body larger than any Twilio sends, and the 405 for a
method other than POST.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from redis.exceptions import RedisError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import Forbidden, HTTPException, MethodNotAllowed, RequestEntityTooLarge

from ivr import sms, twilio_signature
from ivr.balancer import is_in_call
from ivr.callstore import ReplicasBehind, Writes
from ivr.hotline import Hotline
from ivr.voice import calls, outbound_calls, staff_calls
from ivr.voice.twilio_request import VoiceRequest, parse_request, unreadable_request
from ivr.web_sessions import SMS_WEBHOOK, is_webhook
from queues import counters

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

UNSIGNED_EXTRAS = frozenset({"StirVerstat", "CallToken"})
"""Twilio has been reported to add these after signing; they are informative only, so a
request whose other parameters carry a valid signature is still Twilio's."""

MAX_REQUEST_BYTES = 64 * 1024
"""Twilio's voice webhooks are a few KB; anything bigger is not Twilio's."""
FORM = "application/x-www-form-urlencoded"
"""The only body Twilio sends; any other is read as no parameters (so it fails the check)."""
XML_HEADERS = [("Content-Type", "text/xml; charset=utf-8")]
ARRIVAL_PLAUSIBLE_SECONDS = 60.0
"""A balancer's arrival stamp further back than this (or ahead) is not believed."""

Handler = Callable[[Hotline, VoiceRequest, Writes], str]
HANDLERS: dict[str, Handler] = {
    "/voice/status": calls.status,
    "/voice/fallback": calls.fallback,
    "/voice/dequeued": calls.dequeued,
    "/voice/drill": calls.drill,  # the drill line's Voice URL (callflows.drill)
    "/voice/staff-done": staff_calls.done,  # the <Dial> to staff ended (DialCallStatus)
    "/voice/whisper": staff_calls.whisper,  # the staff member's leg, before connecting
    "/voice/outbound/call": outbound_calls.answered,
    "/voice/outbound/status": outbound_calls.status,
    "/voice/outbound/amd": outbound_calls.amd,
    "/voice/outbound/voicemail": outbound_calls.voicemail,
}
"""Every other path under /voice ("/voice", a step, or a path that is none of ours, such
as "/voice//pin") goes to `calls.step`, which screens a call it does not know as new."""


class VoiceWebhooks:
    """WSGI: Twilio's voice webhooks here, everything else to `app` (the Flask app)."""

    def __init__(self, app: WSGIApplication, hotline: Hotline) -> None:
        self.app = app
        self.hotline = hotline

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = _path(environ)
        if not is_webhook(path):
            return self.app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "POST":
            return MethodNotAllowed(valid_methods=["POST"])(environ, start_response)
        try:
            query = _query_string(environ)
            form = _signed_form(environ, path, query, self.hotline)
        except HTTPException as refusal:
            return refusal(environ, start_response)
        if path == SMS_WEBHOOK:
            # A text to the number: signed like the rest, answered with messaging TwiML.
            body = sms.answer(self.hotline, form)
        else:
            handler = HANDLERS.get(path, calls.step)
            body = _answer_safely(self.hotline, handler, path, query, form, _arrival(environ))
        data = body.encode()
        start_response("200 OK", [*XML_HEADERS, ("Content-Length", str(len(data)))])
        return [data]


def _signed_form(
    environ: WSGIEnvironment, path: str, query: str, hotline: Hotline
) -> MultiDict[str, str]:
    """The request's parameters, once its signature is Twilio's: else 413 or 403."""
    # The size is checked before the form is read or an HMAC computed, so an oversized
    # body costs neither. 413, not 403: the signature was never looked at, so calling the
    # request forged would be a guess; Twilio never sends one, so no caller hears it.
    try:
        form = _form(environ)
    except RequestEntityTooLarge:
        log.warning("refused %s: a body over %d bytes", path, MAX_REQUEST_BYTES)
        raise
    try:
        valid = _signed_by_twilio(environ, path, query, form, hotline)
    except Exception:
        # Nothing about an unverifiable request is worth a 500 (a body or header that
        # cannot even be decoded is no signed Twilio request).
        log.warning("refused %s: a request whose signature cannot be checked", path)
        valid = False
    if not valid:
        log.warning("refused %s: missing or invalid Twilio signature", path)
        raise Forbidden()
    return form


def _form(environ: WSGIEnvironment) -> MultiDict[str, str]:
    """The POST parameters of a form-encoded body of at most MAX_REQUEST_BYTES."""
    length_text = environ.get("CONTENT_LENGTH") or ""
    stream = environ["wsgi.input"]
    if length_text.isdigit():
        length = int(length_text)
        if length > MAX_REQUEST_BYTES:
            raise RequestEntityTooLarge()
        raw = stream.read(length) if length else b""
    elif environ.get("wsgi.input_terminated"):
        # A chunked body with no declared length: read one byte past the limit to know.
        raw = stream.read(MAX_REQUEST_BYTES + 1)
        if len(raw) > MAX_REQUEST_BYTES:
            raise RequestEntityTooLarge()
    else:
        raw = b""  # no length and no end marker: nothing can safely be read (as werkzeug)
    content_type = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
    if content_type != FORM or not raw:
        return MultiDict()
    text = raw.decode("utf-8", "replace")
    return MultiDict(parse_qsl(text, keep_blank_values=True, errors="replace"))


def _signed_by_twilio(
    environ: WSGIEnvironment, path: str, query: str, form: MultiDict[str, str], hotline: Hotline
) -> bool:
    # Twilio signs the URL it requested: the Voice URL's entry point, or the fallback URL's
    # (PUBLIC_FALLBACK_BASE_URL, a second load balancer) and the relative retries after it.
    settings = hotline.settings
    signature = environ.get("HTTP_X_TWILIO_SIGNATURE", "")
    suffix = path + ("?" + query if query else "")
    return any(
        twilio_signature.is_valid(
            settings.twilio_auth_token, base + suffix, form, signature, UNSIGNED_EXTRAS
        )
        for base in settings.entry_points
    )


def _answer_safely(
    hotline: Hotline,
    handler: Handler,
    path: str,
    query: str,
    form: MultiDict[str, str],
    arrived: float | None = None,
) -> str:
    started = time.perf_counter()
    try:
        parsed = parse_request(path, form, _query_args(query))
    except Exception:
        # parse_request is meant to be total; should some input still defeat it, the caller
        # holds and the step is asked again (a retry without keys re-asks its prompt).
        log.exception("webhook %s: unreadable request; asking the caller to hold", path)
        return calls.hold_and_retry(unreadable_request(path, str(form.get("CallSid", ""))))
    writes = Writes.on(hotline.redis)
    try:
        body = handler(hotline, parsed, writes)
        # Measured up to the write transaction, which carries the sample itself.
        counters.record_latency(writes.pipe, time.perf_counter() - started)
        if is_in_call(path):
            counters.record_in_call_latency(writes.pipe, _in_call_seconds(arrived, started))
        writes.send()
    except ReplicasBehind as behind:
        # Applied on the primary but not yet on enough replicas: the retried step waits again.
        log.warning("webhook %s: %s; asking the caller to hold", parsed.path, behind)
        writes.abandon()
        body = calls.hold_and_retry(parsed)
    except Exception:
        log.exception("webhook %s failed; asking the caller to hold", parsed.path)
        writes.abandon()
        body = calls.hold_and_retry(parsed)
        with contextlib.suppress(RedisError):
            counters.record_latency(hotline.redis, time.perf_counter() - started)
    return body


def _arrival(environ: WSGIEnvironment) -> float | None:
    """When the balancer read the request (`X-Request-Start: t=<ms since the epoch>`, set
    by ivr.balancer's HAProxy), or None when no balancer says."""
    text = str(environ.get("HTTP_X_REQUEST_START", "")).removeprefix("t=")
    if not (text.isascii() and text.isdigit()) or len(text) > 15:
        return None
    return int(text) / 1000


def _in_call_seconds(arrived: float | None, started: float) -> float:
    """An in-call webhook's latency as the caller waits it: from the balancer's arrival,
    its queue included; from this process's start when no balancer stamped it, or when
    the stamp is implausible (another host's clock is off, or a client sent its own)."""
    if arrived is not None:
        waited = time.time() - arrived
        if 0 <= waited < ARRIVAL_PLAUSIBLE_SECONDS:
            return waited
    return time.perf_counter() - started


def _query_args(query: str) -> dict[str, str]:
    """The query's parameters, each at its first value (as werkzeug's `args.get` reads)."""
    first: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True, errors="replace"):
        first.setdefault(name, value)
    return first


def _path(environ: WSGIEnvironment) -> str:
    """The request's path as Flask's `request.path` reads it (WSGI's latin-1, as UTF-8)."""
    raw = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    try:
        return raw.encode("latin-1").decode("utf-8", "replace") or "/"
    except UnicodeEncodeError:
        return raw or "/"


def _query_string(environ: WSGIEnvironment) -> str:
    raw: Any = environ.get("QUERY_STRING", "")
    try:
        return str(raw.encode("latin-1").decode("utf-8", "replace"))
    except UnicodeEncodeError:
        return str(raw)
