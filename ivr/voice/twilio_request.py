"""A Twilio voice webhook request, parsed once, at the route, into a typed value.

Every field Twilio may send us is validated and normalised here (lengths, keypad digits,
integers, the caller's number), so the handlers below the routes work with values they can
trust and never read `flask.request`. A field that is not what Twilio sends is treated as
absent (or, for keys, as keys the flow refuses), never passed on as it came: the request
is signed, but a signature only proves it came from Twilio, not that every field is sane.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from callflows.phones import Phone, read_number
from callflows.phrases import ENGLISH, LANGUAGES

CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")
KEYPAD = re.compile(r"[0-9*#]*")
STEP = re.compile(r"[a-z0-9/]{1,64}")
CARRIES_KEYS = re.compile(
    r"precinct|resume|chance|confirm|figure/(first|final|delegates)/[0-9]{1,3}"
    r"|(total|fix)/(first|final|delegates)"
)
"""The steps whose keys a hold-and-retry may carry in its URL: none of them is a secret.
An allowlist, not a denylist of "/pin": a path we do not recognise (a PIN step spelled
another way, a stale or foreign ErrorUrl) carries nothing."""
MAX_DIGITS = 64
"""Longer than any entry the flow asks for."""
TOO_MANY_KEYS = "9" * MAX_DIGITS
"""What the handlers see for keypad keys longer than MAX_DIGITS: an entry the flow refuses
with its reason (too large, wrong length), never a valid one (cutting "000...05" short
would make it 0), and never thousands of digits for int() (which refuses more than 4,300)
or for a retry URL."""
NOT_KEYS = "?"
"""What the handlers see for `Digits` that are not keypad keys: the flow refuses it as
"not digits", which is the answer such keys deserve."""
MAX_TEXT = 128
MAX_URL = 2048
MAX_RETRY_URL = 512
"""What a retry URL can grow to (a 64-character step, its sequence number and at most 64
carried keys): far below the server's limits (granian's 8 KB of headers, gunicorn's
limit_request_line of 4094)."""
CALL_STATUSES = frozenset(
    {"queued", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"}
)
QUEUE_RESULTS = frozenset(
    {
        "bridged",
        "bridging-in-process",
        "error",
        "hangup",
        "leave",
        "redirected",
        "redirected-from-bridged",
        "queue-full",
        "system-shutdown",
    }
)
ANSWERED_BY = frozenset(
    {
        "human",
        "machine_start",
        "machine_end_beep",
        "machine_end_silence",
        "machine_end_other",
        "fax",
        "unknown",
    }
)
DIAL_CALL_STATUSES = frozenset({"completed", "answered", "busy", "no-answer", "failed", "canceled"})
"""Twilio's DialCallStatus values (the <Dial> action's outcome of the dialled call)."""
MAX_CALL_SECONDS = 24 * 3600
MAX_RETRIES = 1000
"""More hold-and-retry rounds than any call gets (the handlers stop far sooner)."""


@dataclass(frozen=True)
class StepQuery:
    """The query parameters of the hotline's own action URLs."""

    seq: int | None = None
    """`n`: the call's sequence number when the URL was handed out."""
    retries: int = 0
    """`r`: hold-and-retry rounds so far."""
    carried_digits: str | None = None
    """`d`: the keys of a request being retried."""
    priority: int = 1
    """`p`: a held caller's place in the queue's order (0 goes first)."""
    silence: bool = False
    """`silence`: the redirect after a Gather that heard nothing."""
    attempt: int | None = None
    """`a`: the outbound try a call the hotline placed belongs to (queues.dialer)."""
    language: str = ""
    """`l`: the call's language when it is not English, so that a step retried after a
    failure (the fallback URL, a hold) is answered in it before the call's state is read."""

    def with_retry(self, digits: str | None) -> dict[str, str]:
        """The query of the same step asked again after a hold, carrying `digits`."""
        args: dict[str, str] = {}
        if self.seq is not None:
            args["n"] = str(self.seq)
        if self.silence:
            args["silence"] = "1"
        if self.priority != 1:
            args["p"] = str(self.priority)
        if self.attempt is not None:
            args["a"] = str(self.attempt)
        if self.language:
            args["l"] = self.language
        args["r"] = str(self.retries + 1)
        if digits:
            args["d"] = digits
        return args


@dataclass(frozen=True)
class VoiceRequest:
    """What one webhook request says, every field checked."""

    path: str
    """The path requested, e.g. /voice/figure/first/2 (what the retry asks for again)."""
    step: str | None
    """The step after /voice/ (None for /voice itself); "" when it is not one of ours."""
    query: StepQuery
    call_sid: str
    """"" when missing or not a call SID."""
    caller_id: str
    """`From` as Twilio sent it (bounded), e.g. "+15155550123", "anonymous", "client:x"."""
    to: str
    keys: str | None
    """`Digits` (or the retried keys): keypad keys, NOT_KEYS, or None for none (silence)."""
    finished_on_key: str
    """`FinishedOnKey`: "#" when the caller ended the entry with pound (with `keys` None:
    pound alone, which the flow tells apart from silence)."""
    queue_time: int | None
    """`QueueTime`: seconds a held caller has waited, sent with each poll of the wait URL."""
    stir_verstat: str
    call_status: str
    """One of Twilio's call statuses, or "" when none (or not one) was sent."""
    call_duration: int | None
    queue_result: str
    answered_by: str
    error_code: str
    error_url: str
    dial_call_status: str = ""
    """`DialCallStatus` on a <Dial> action: one of DIAL_CALL_STATUSES, or ""."""
    parent_call_sid: str = ""
    """`ParentCallSid` on a dialled leg's request (the <Number url>): the caller's call."""

    @functools.cached_property
    def caller(self) -> Phone:
        """`From` read as a phone number; read only when a handler asks (screening, a PIN),
        since reading one costs about 0.2 ms, as much as the rest of a figure's parsing."""
        return read_number(self.caller_id)

    @property
    def retry_url(self) -> str:
        """This request's step, asked again after a hold (with the keys, but never a PIN)."""
        return retry_url(self.path, self.query, self.keys)


def retry_url(path: str, query: StepQuery, keys: str | None) -> str:
    """`path` asked again after a hold, carrying `keys` only for a step on the allowlist."""
    # Keys go into the URL so the retry answers the same step; a PIN must never reach a URL
    # (nor, through it, an access log), so only the steps known to hold no secret carry any.
    carried = keys if keys and keys != NOT_KEYS and carries_keys(path) else None
    return f"{path}?{urlencode(query.with_retry(carried))}"


def carries_keys(path: str) -> bool:
    """Whether a retry of `path` may carry its keys (never for the PIN, or any unknown step)."""
    step = _step(path)
    return bool(step) and CARRIES_KEYS.fullmatch(step or "") is not None


def parse_request(path: str, form: Mapping[str, str], args: Mapping[str, str]) -> VoiceRequest:
    """Read a webhook request: its path, its POST form and its query string."""
    query = parse_query(args)
    keys = _keys(form.get("Digits"))
    if keys is None:
        keys = _keys(query.carried_digits)
    caller_id = _text(form.get("From", ""))
    return VoiceRequest(
        path=voice_path(path),
        step=_step(path),
        query=query,
        call_sid=_call_sid(form.get("CallSid", "")),
        caller_id=caller_id,
        to=_text(form.get("To", "")),
        keys=keys,
        finished_on_key=_one_of(form.get("FinishedOnKey", ""), frozenset("0123456789*#")),
        queue_time=_whole(form.get("QueueTime"), MAX_CALL_SECONDS),
        stir_verstat=_text(form.get("StirVerstat", "")),
        call_status=_one_of(form.get("CallStatus", ""), CALL_STATUSES),
        call_duration=_whole(form.get("CallDuration"), MAX_CALL_SECONDS),
        queue_result=_one_of(form.get("QueueResult", ""), QUEUE_RESULTS),
        answered_by=_one_of(form.get("AnsweredBy", ""), ANSWERED_BY),
        error_code=_digits_only(form.get("ErrorCode", ""), 8),
        error_url=form.get("ErrorUrl", "")[:MAX_URL],
        dial_call_status=_one_of(form.get("DialCallStatus", ""), DIAL_CALL_STATUSES),
        parent_call_sid=_call_sid(form.get("ParentCallSid", "")),
    )


def unreadable_request(path: str, call_sid: str) -> VoiceRequest:
    """What is left of a request `parse_request` could not read: its path and call, no keys
    (built without parsing anything else, so it cannot fail the same way)."""
    return VoiceRequest(
        path=voice_path(path),
        step=_step(path),
        query=StepQuery(),
        call_sid=_call_sid(call_sid),
        caller_id="",
        to="",
        keys=None,
        finished_on_key="",
        queue_time=None,
        stir_verstat="",
        call_status="",
        call_duration=None,
        queue_result="",
        answered_by="",
        error_code="",
        error_url="",
    )


def parse_query(args: Mapping[str, str]) -> StepQuery:
    """The hotline's own query parameters; anything else in the query is ignored."""
    retries = _whole(args.get("r", "0"), MAX_RETRIES)
    return StepQuery(
        seq=_whole(args.get("n"), 10**9),
        # A retry count that is not one of ours ends the retries rather than restarting them.
        retries=MAX_RETRIES if retries is None else retries,
        carried_digits=args.get("d"),
        priority=0 if args.get("p") == "0" else 1,
        silence=args.get("silence") == "1",
        attempt=_whole(args.get("a"), 10**12),
        language=_language(args.get("l", "")),
    )


def _language(code: str) -> str:
    """A language the hotline speaks other than English, else "" (English)."""
    return code if code in LANGUAGES and code != ENGLISH else ""


def voice_path(path: str) -> str:
    """`path` if it is /voice or one of its steps, else /voice (a call's safe restart)."""
    return path if path == "/voice" or _step(path) else "/voice"


def _step(path: str) -> str | None:
    if path == "/voice":
        return None
    step = path.removeprefix("/voice/")
    return step if step != path and STEP.fullmatch(step) else ""


def _call_sid(value: str) -> str:
    return value if CALL_SID.fullmatch(value) else ""


def _keys(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    bounded = value[: MAX_DIGITS + 1]
    if not KEYPAD.fullmatch(bounded):
        return NOT_KEYS
    return TOO_MANY_KEYS if len(bounded) > MAX_DIGITS else bounded


def _text(value: str) -> str:
    """A short printable field (caller ID, To, StirVerstat): bounded, no control characters."""
    bounded = value[:MAX_TEXT]
    return bounded if bounded.isprintable() else ""


def _one_of(value: str, allowed: frozenset[str]) -> str:
    return value if value in allowed else ""


def _whole(value: str | None, maximum: int) -> int | None:
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 12:
        return None
    number = int(value)
    return number if number <= maximum else None


def _digits_only(value: str, max_length: int) -> str:
    return value if value.isascii() and value.isdigit() and len(value) <= max_length else ""
